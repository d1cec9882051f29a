// A pseudo-terminal for child_process's PTY mode: the master the runtime reads and writes, the
// slave's path the child opens as its controlling terminal.
#pragma once

#include <string>
#include <system_error>

#include "agentrt/protocol/result.hpp"
#include "util/unique_fd.hpp"

namespace agentrt::runtime::process {

struct terminal_size {
  unsigned short cols = 80;
  unsigned short rows = 24;
};

struct pty_pair {
  util::unique_fd master; // close-on-exec, non-blocking, numbered above 2
  std::string slave_path; // /dev/pts/N, unlocked; nobody holds it open yet
};

// posix_openpt, grantpt, unlockpt; the terminal gets size and IUTF8 (a line editor then
// erases whole UTF-8 characters), otherwise the kernel's defaults (canonical, echo, ONLCR).
protocol::result<pty_pair> open_pty(terminal_size size);

// TIOCSWINSZ through the master: the kernel signals SIGWINCH to the foreground group.
std::error_code set_terminal_size(int master_fd, terminal_size size);

} // namespace agentrt::runtime::process

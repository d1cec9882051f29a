// posix_openpt and friends for child_process's PTY mode (see pty.hpp).
#include "process/pty.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>

#include <cerrno>

namespace agentrt::runtime::process {
namespace {

std::error_code last_error() {
  return {errno, std::system_category()};
}

} // namespace

std::error_code set_terminal_size(int master_fd, terminal_size size) {
  winsize ws{};
  ws.ws_col = size.cols;
  ws.ws_row = size.rows;
  if (::ioctl(master_fd, TIOCSWINSZ, &ws) != 0)
    return last_error();
  return {};
}

protocol::result<pty_pair> open_pty(terminal_size size) {
  util::unique_fd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master)
    return last_error();
  // Above stdio: the child dup2()s its terminal onto 0..2 (the runtime may run with them
  // closed, and posix_openpt takes the lowest free number).
  if (master.get() <= 2) {
    const int moved = ::fcntl(master.get(), F_DUPFD_CLOEXEC, 3);
    if (moved < 0)
      return last_error();
    master.reset(moved);
  }
  if (::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0)
    return last_error();
  char path[128];
  if (const int rc = ::ptsname_r(master.get(), path, sizeof(path)); rc != 0)
    return std::error_code(rc, std::system_category());
  // Termios requests on the master act on the slave's settings.
  termios mode{};
  if (::tcgetattr(master.get(), &mode) != 0)
    return last_error();
  mode.c_iflag |= IUTF8;
  if (::tcsetattr(master.get(), TCSANOW, &mode) != 0)
    return last_error();
  if (auto ec = set_terminal_size(master.get(), size))
    return ec;
  const int flags = ::fcntl(master.get(), F_GETFL);
  if (flags < 0 || ::fcntl(master.get(), F_SETFL, flags | O_NONBLOCK) != 0)
    return last_error();
  return pty_pair{std::move(master), path};
}

} // namespace agentrt::runtime::process

// One child process started with /bin/sh -c (or an argv), its own process group, non-blocking
// output pipes read on the io_context through fixed-size buffers, and an exit report. Optionally
// with a stdin kept open for streamed writes, or on a pseudo-terminal (PTY mode), and signals.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <asio/io_context.hpp>

#include "agentrt/protocol/result.hpp"
#include "process/process_reaper.hpp"
#include "process/process_scope.hpp"
#include "process/pty.hpp"

namespace agentrt::runtime::process {

// pty: the terminal's output (stdout and stderr together, with the terminal's echo of what was
// typed), only ever delivered to a child spawned with spawn_options::pty.
enum class output_stream { stdout_stream, stderr_stream, pty };

// Stdin progress: bytes written to the child so far, and whether stdin is closed now (after
// close_stdin() flushed, when the child closed its end and pending bytes were dropped, or at
// completion). Called on the io thread, never from inside write_stdin()/close_stdin();
// several writes may be reported by one call; the call with closed == true comes exactly once
// and is the last (at completion it runs just before the exit handler).
using stdin_progress_handler = std::function<void(std::uint64_t written_total, bool closed)>;

struct spawn_options {
  std::vector<std::string> argv;             // e.g. {"/bin/sh", "-c", "echo hi"}
  std::string cwd;                           // empty = runtime's cwd; created if missing
  std::map<std::string, std::string> env;    // merged over the runtime's environment
  std::optional<std::string> stdin_data;     // fed then closed; absent = /dev/null
  std::size_t read_buffer_bytes = 64 * 1024; // per pipe
  // After the main process exits, pipes still held open by a background process are read
  // until they stay silent this long, then closed so the command can finish.
  std::chrono::milliseconds drain_idle{200};
  // Stdin is a pipe kept open for write_stdin() until close_stdin(); stdin_data, if set, is
  // written first (and is then not followed by EOF).
  bool stdin_stream = false;
  // PTY mode: the child is a session leader whose controlling terminal (and 0, 1 and 2) is a
  // new pseudo-terminal of this size. Output arrives as output_stream::pty, input is always
  // streamed (write_stdin(); stdin_data is typed first), TERM=xterm-256color unless env sets
  // TERM. The terminal starts in the kernel's default mode (canonical, echo, \n -> \r\n) with
  // IUTF8 set. The master stays open until completion (closing it earlier would hang up a
  // child that closed its descriptors but has not exited yet); then whatever still holds the
  // terminal (a background process past drain_idle) is hung up (SIGHUP).
  std::optional<terminal_size> pty;
  stdin_progress_handler on_stdin_progress; // optional; see stdin_progress_handler
};

class child_process : public std::enable_shared_from_this<child_process> {
public:
  // Receives output chunks in order per stream; the view is valid only during the call.
  using output_handler = std::function<void(output_stream, std::string_view)>;
  // Called once, after the process has exited and its output has been delivered.
  using exit_handler = std::function<void(exit_status)>;

  // Starts the process. On failure (cwd not creatable, exec failure such as a missing
  // binary) returns the errno; no handler is ever called then.
  // An argv[0] without '/' is looked up in the runtime's PATH (posix_spawnp), not in
  // options.env. reaper and scope must outlive the child_process.
  static protocol::result<std::shared_ptr<child_process>>
  spawn(asio::io_context& io, process_reaper& reaper, process_scope& scope,
        const spawn_options& options, output_handler on_output, exit_handler on_exit);

  // A process that has not exited yet is killed (SIGKILL to its group); no handler is called
  // afterwards. Background processes left by an exited one are process_scope's business.
  ~child_process();

  pid_t pid() const noexcept;

  // Backpressure: stop / restart reading the pipes (the child blocks once the pipe fills).
  // A read already in flight when pause_output() is called may still deliver one more chunk
  // per stream. While paused, the drain_idle clock does not run.
  void pause_output();
  void resume_output();
  bool output_paused() const noexcept;

  // SIGTERM to the process group now, SIGKILL after grace if it is still alive. The exit
  // handler still runs once the process is reaped.
  void terminate(std::chrono::milliseconds grace);

  // Streamed stdin (spawn_options::stdin_stream or pty). Appends chunk to the pending bytes and
  // writes what the child takes now, without blocking; the rest follows as the child reads.
  // The pending buffer is not bounded here: the caller keeps its own window (stdin_pending(),
  // on_stdin_progress). False, and nothing kept, when stdin is not streamed, close_stdin() was
  // called, the child closed its stdin, or the process completed. True does not promise
  // delivery: a child that closes its stdin first drops the rest (reported as closed).
  bool write_stdin(std::string_view chunk);
  // EOF once the pending bytes are written. With a pipe: the pipe closes. In PTY mode the
  // terminal stays open (closing the master would hang the child up): the terminal's EOF
  // character (VEOF, usually ^D) is typed instead, twice when the last byte typed did not end
  // a line (the first only hands over the partial line), as a person at a terminal would.
  // Further writes are refused either way. Idempotent.
  void close_stdin();
  std::uint64_t stdin_written() const noexcept; // bytes taken by the child so far
  std::size_t stdin_pending() const noexcept;   // bytes accepted but not written yet

  // sig to the process group or, in PTY mode, to the terminal's foreground process group (so
  // SIGINT acts like Ctrl-C; the group itself when the terminal has none). ESRCH when nothing
  // is left to receive it, and always once the process completed (then nothing is sent: the
  // pid may have been reused).
  std::error_code signal(int sig);

  // PTY mode: the terminal's new size (the kernel sends SIGWINCH to its foreground group).
  // ENOTTY without a PTY, ESRCH once completed.
  std::error_code resize(unsigned short cols, unsigned short rows);
  bool is_pty() const noexcept;

private:
  child_process() = default;
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace agentrt::runtime::process

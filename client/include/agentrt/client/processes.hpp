// Session processes (docs/processes.md): commands that run in the background of a session,
// beside its requests — a server later requests use, a REPL driven through a terminal, a filter
// fed through stdin. async_session::start_process (or session::start_process) starts one and
// gives a process_handle: its output through callbacks, stdin with the runtime's flow control,
// signals, terminal resizes, readiness and the exit status.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agentrt/client/errors.hpp"
#include "agentrt/protocol/messages.hpp"

namespace agentrt::client {

namespace detail {
class session_core;
struct process_state;
} // namespace detail

// What to start. The command runs with /bin/sh -c in its own process scope on the runtime.
struct process_options {
  std::string command{};
  std::optional<std::string> cwd{};          // created if missing
  std::optional<protocol::string_map> env{}; // added to the runtime's environment
  // Run on a pseudo-terminal of this size: one output stream (on_pty), stdin always open.
  std::optional<protocol::terminal_size> pty{};
  bool stdin_open = false; // keep stdin open as a pipe (default: /dev/null)
  // Report ready once a TCP port on 127.0.0.1 accepts and/or a probe command exits 0.
  std::optional<protocol::process_readiness> ready{};
  std::vector<std::string> secrets_to_redact{};
  std::optional<double> timeout_s{}; // the runtime kills the process's tree after this
};

// Run on the session's I/O thread, like request callbacks: they must not block, and must not
// call the blocking members of process_handle or session.
struct process_callbacks {
  std::function<void(std::string_view text)> on_stdout{}; // UTF-8, redacted
  std::function<void(std::string_view text)> on_stderr{};
  std::function<void(std::string_view bytes)> on_pty{}; // the terminal's raw bytes
  // Durable sessions: output of this process the runtime had to drop while nobody was
  // connected.
  std::function<void(const protocol::gap_message&)> on_gap{};
};

struct process_ready {
  bool ready = false;
  std::string error{}; // why not, when ready is false
  std::chrono::milliseconds elapsed{0};
};

struct process_exit {
  int exit_code = 0;                   // the exit status, or 128 + N after signal N
  std::optional<std::string> signal{}; // the signal that ended it ("SIGTERM")
  bool timed_out = false;              // process_options::timeout_s killed it
};

// One entry of list_processes().
using process_info = protocol::process_info;

// The runtime's code ("unknown_process", "stdin_closed", ...) of an errc::process_error; ""
// for any other error.
std::string process_error_code(const client_error& e);

// A session process. Copies share one process. Every member is thread-safe; the async_*
// members return at once and run their handler on the session's I/O thread; the others wait
// for the answer and must not be called from a callback. A handle keeps working across a
// durable session's reconnects; once the session is closed every call fails with errc::closed.
class process_handle {
public:
  using done_handler = std::function<void(client_error)>;
  using ready_handler = std::function<void(process_ready, client_error)>;
  using exit_handler = std::function<void(process_exit, client_error)>;

  process_handle() = default; // empty: valid() is false
  bool valid() const noexcept { return static_cast<bool>(state_); }

  std::string process_id() const; // "p1", assigned by the runtime
  std::int64_t pid() const;       // on the runtime's host; 0 for a handle from process()
  bool pty() const;
  std::uint64_t stdin_window() const; // bytes that may be in flight unacknowledged

  // Appends bytes to the process's stdin (its terminal with a pty), in call order. Sent as the
  // runtime's window allows; done runs once all of them were handed to the connection (or
  // failed: errc::process_error "stdin_closed" etc.). A write is refused with errc::busy while
  // more than stdin_window() bytes are queued and not yet sent.
  void async_write_stdin(std::string bytes, done_handler done) const;
  // Waits for window credit as needed.
  client_error write_stdin(std::string_view bytes) const;
  // End of input after what was written (with a pty: the terminal's end-of-file character).
  void async_close_stdin(done_handler done) const;
  client_error close_stdin() const;

  // Signal names as in docs/processes.md ("SIGINT", "TERM", ...). done runs once the runtime
  // has handled the signal (it answers a barrier sent right after), with its refusal if any.
  // A null done sends the message and reports nothing.
  void async_signal(std::string name, done_handler done) const;
  client_error signal(const std::string& name) const;
  void async_kill(done_handler done) const; // SIGKILL: the whole tree
  client_error kill() const;
  void async_resize(int cols, int rows, done_handler done) const; // pty processes only
  client_error resize(int cols, int rows) const;

  // The outcome of process_options::ready (errc::invalid_options when none was asked for).
  void async_wait_ready(ready_handler handler) const;
  std::pair<process_ready, client_error> wait_ready() const;

  // Waits for the exit and collects it: the runtime then forgets the process (its id becomes
  // unknown). All of its output has been delivered to the callbacks before the handler runs.
  void async_wait(exit_handler handler) const;
  std::pair<process_exit, client_error> wait() const;

  explicit process_handle(std::shared_ptr<detail::process_state> state); // library use only

private:
  std::shared_ptr<detail::process_state> state_;
};

} // namespace agentrt::client

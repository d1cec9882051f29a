// The asynchronous session: one WebSocket connection to an agentrt (or runtimeuse) runtime,
// carrying sequential requests, driven by an io_loop. Every call returns at once; its
// completion handler (or future) is invoked on the loop's thread.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agentrt/client/errors.hpp"
#include "agentrt/client/io_loop.hpp"
#include "agentrt/client/options.hpp"
#include "agentrt/client/processes.hpp"
#include "agentrt/client/results.hpp"

namespace agentrt::client {

namespace detail {
class session_core;
}

class async_session {
public:
  using connect_handler = std::function<void(std::shared_ptr<async_session>, client_error)>;
  using query_handler = std::function<void(query_result, client_error)>;
  using execute_handler = std::function<void(execute_result, client_error)>;
  using end_handler = std::function<void(client_error)>;
  using detach_handler = std::function<void(session_handle, client_error)>;
  using attach_handler = std::function<void(attach_result, client_error)>;
  using process_handler = std::function<void(process_handle, client_error)>;
  using list_handler = std::function<void(std::vector<process_info>, client_error)>;

  // The handler receives a session or an error, never both. The loop must outlive the session.
  static void connect(io_loop& loop, const connect_options& options, connect_handler handler);
  static std::future<std::pair<std::shared_ptr<async_session>, client_error>>
  connect(io_loop& loop, const connect_options& options);

  // Resumes the durable session that handle names (detached by this or another process, or
  // left by a connection that dropped) and collects the request that was in flight there:
  // options' callbacks see every message from handle.last_seq on (0: everything the runtime
  // still has), and done gets that request's terminal — or attach_result::kind::none when no
  // request is in flight and none ended unseen. The session's URL is options.url, or
  // handle.url when that is empty; options.durable must be true. attached receives the
  // session (for abort(), detach(), end(), more requests) or the error (errc::session_expired,
  // resume_refused, connection_failed, ...), before done runs; done runs either way.
  static void attach(io_loop& loop, const connect_options& options, const session_handle& handle,
                     attach_options callbacks, connect_handler attached, attach_handler done);

  // Closes the connection if it is still open (without end_session_message); a call in flight
  // completes with errc::closed. On a durable session the request in flight is cancelled
  // first: the runtime would otherwise keep it running for the resume window.
  ~async_session();
  async_session(const async_session&) = delete;
  async_session& operator=(const async_session&) = delete;

  // One request at a time: a call while another is in flight completes with errc::busy.
  void query(std::string prompt, query_options options, query_handler handler);
  std::future<std::pair<query_result, client_error>> query(std::string prompt,
                                                           query_options options);

  // A non-zero exit code is a result, not an error.
  void execute_commands(std::vector<protocol::command> commands, execute_options options,
                        execute_handler handler);
  std::future<std::pair<execute_result, client_error>>
  execute_commands(std::vector<protocol::command> commands, execute_options options);

  // Thread-safe. Sends cancel_message for the request in flight (no-op when idle); that call
  // completes with errc::cancelled once the runtime's terminal arrives.
  void abort();

  // The end-session handshake: sends end_session_message, keeps answering artifact upload
  // requests with the session's upload callback until end_session_confirm_message, closes.
  void end(end_handler handler);
  std::future<client_error> end();

  // Durable sessions: leaves on purpose. The runtime keeps the session, and the request in
  // flight running, for its detached window; the handle (the session's URL, id, resume token,
  // the last message received) lets anyone attach() within it. The call in flight completes
  // with errc::detached; the connection is closed. errc::not_durable when the runtime did not
  // make the session durable.
  void detach(detach_handler handler);
  std::future<std::pair<session_handle, client_error>> detach();

  // Session processes (processes.hpp, docs/processes.md): run beside requests, whether one is
  // in flight or not, until they exit or the session ends. Starting one completes once the
  // runtime assigned its id; callbacks run from then on. errc::not_supported (and nothing is
  // sent) when the runtime did not answer the "processes" extension (e.g. runtimeuse);
  // errc::process_error with the runtime's code (process_error_code) when it refused.
  void start_process(process_options options, process_callbacks callbacks, process_handler handler);
  std::future<std::pair<process_handle, client_error>>
  start_process(process_options options, process_callbacks callbacks = {});
  // The session's processes: running, and exited but not yet collected with wait().
  void list_processes(list_handler handler);
  std::future<std::pair<std::vector<process_info>, client_error>> list_processes();
  // A handle for a process of this session that was started elsewhere (e.g. before a detach,
  // by another program); its output from now on goes to callbacks. Unknown ids are reported by
  // the handle's calls (process_error "unknown_process").
  process_handle process(std::string process_id, process_callbacks callbacks = {});
  // Whether the runtime answered the "processes" extension.
  bool supports_processes() const noexcept;

  // Whether the runtime made this session durable (fixed once connect or attach completed).
  bool durable() const noexcept;
  std::string session_id() const; // "" unless durable

  explicit async_session(std::shared_ptr<detail::session_core> core); // library use only

private:
  std::shared_ptr<detail::session_core> core_;
};

} // namespace agentrt::client

// The blocking session: the asynchronous one (async_session.hpp) behind calls that wait for
// their answer. Callbacks in the options still run on the I/O thread.
#pragma once

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

class async_session;

class session {
public:
  // Never returns both a session and an error. With loop == nullptr the session runs its own
  // I/O thread; otherwise the loop must outlive the session.
  static std::pair<std::unique_ptr<session>, client_error> connect(const connect_options& options,
                                                                   io_loop* loop = nullptr);

  // See async_session::attach; collect() then waits for the outcome of the request that was in
  // flight.
  static std::pair<std::unique_ptr<session>, client_error>
  attach(const connect_options& options, const session_handle& handle,
         const attach_options& callbacks = {}, io_loop* loop = nullptr);

  ~session(); // closes the connection if it is still open (without end_session_message)
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Concurrent calls on one session are serialized. Never call these from a callback.
  std::pair<query_result, client_error> query(const std::string& prompt,
                                              const query_options& options = {});
  std::pair<execute_result, client_error>
  execute_commands(const std::vector<protocol::command>& commands,
                   const execute_options& options = {});

  // Session processes (see async_session::start_process): not serialized with requests, so
  // they may be called from another thread while query() or execute_commands() waits.
  std::pair<process_handle, client_error> start_process(const process_options& options,
                                                        const process_callbacks& callbacks = {});
  std::pair<std::vector<process_info>, client_error> list_processes();
  process_handle process(const std::string& process_id, const process_callbacks& callbacks = {});
  bool supports_processes() const noexcept;

  // Thread-safe; see async_session::abort.
  void abort();

  // End-session handshake (see async_session::end); no requests are accepted afterwards.
  client_error end();

  // A session made by attach(): the outcome of the request it attached to (once).
  std::pair<attach_result, client_error> collect();

  // See async_session::detach, durable() and session_id().
  std::pair<session_handle, client_error> detach();
  bool durable() const noexcept;
  std::string session_id() const;

private:
  session();
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace agentrt::client

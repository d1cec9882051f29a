// A blocking client session: one WebSocket connection to an agentrt (or runtimeuse) runtime,
// carrying any number of sequential requests.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agentrt/client/errors.hpp"
#include "agentrt/protocol/messages.hpp"

namespace agentrt::client {

struct connect_options {
  // The initializers let callers write {url} without -Wmissing-field-initializers.
  std::string url{};                  // "ws://host:port/path"
  std::optional<std::string> token{}; // sent as "Authorization: Bearer <token>"
  std::chrono::milliseconds connect_timeout{10000};
};

struct execute_options {
  std::optional<std::string> source_id{};
  std::vector<std::string> secrets_to_redact{};
  // Called on the thread that called execute_commands, for each chunk, in order.
  std::function<void(const protocol::command_output_message&)> on_output{};
  // Overall; on expiry the request is cancelled and the call returns errc::timed_out.
  std::optional<std::chrono::milliseconds> timeout{};
};

struct execute_result {
  std::vector<protocol::command_result> results; // one per command that ran
};

class session {
public:
  // Never returns both a session and an error.
  static std::pair<std::unique_ptr<session>, client_error> connect(const connect_options& options);

  ~session(); // closes the connection if it is still open (without end_session_message)
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Runs the commands as one command_execution_message. A non-zero exit code is a result, not
  // an error: the failing command is the last in results. Concurrent calls are serialized.
  std::pair<execute_result, client_error>
  execute_commands(const std::vector<protocol::command>& commands,
                   const execute_options& options = {});

  // Thread-safe. Cancels the request in flight (no-op when idle); that call returns
  // errc::cancelled once the runtime's terminal arrives.
  void abort();

  // Sends end_session_message, waits for the runtime's confirmation, closes the connection.
  // The session accepts no further requests afterwards.
  client_error end();

private:
  session();
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace agentrt::client

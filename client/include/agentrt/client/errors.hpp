// The client's error codes and the error value its calls return. Transport failures
// (connection_failed, closed) are kept apart from the runtime's own answer (runtime_error).
#pragma once

#include <string>
#include <system_error>

namespace agentrt::client {

enum class errc {
  connection_failed = 1, // the WebSocket connection could not be established
  runtime_error,         // the runtime answered the request with an error_message
  cancelled,             // abort() ended the request
  timed_out,             // the caller's timeout expired (the request was cancelled)
  protocol_violation,    // the runtime sent something the protocol does not allow
  closed,                // the connection closed before the expected answer
};

const std::error_category& error_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// Returned, never thrown. An empty code means success.
struct client_error {
  std::error_code code;
  std::string message;
  std::string metadata_json = "{}"; // the error_message's metadata, or transport details

  explicit operator bool() const noexcept { return static_cast<bool>(code); }
};

} // namespace agentrt::client

namespace std {
template <> struct is_error_code_enum<agentrt::client::errc> : true_type {};
} // namespace std

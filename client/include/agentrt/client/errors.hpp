// The client's error codes and the error value its calls return. Transport failures
// (connection_failed, closed) are kept apart from the runtime's own answer (runtime_error), and
// each kind of timeout has its own code so that callers can tell which limit was hit.
#pragma once

#include <string>
#include <system_error>

namespace agentrt::client {

enum class errc {
  connection_failed =
      1,              // the WebSocket connection could not be established (message names the URL)
  runtime_error,      // the runtime answered the request with an error_message
  cancelled,          // abort() ended the request
  timed_out,          // the request's overall timeout expired (the request was cancelled)
  idle_timed_out,     // nothing arrived from the runtime for idle_timeout (cancelled)
  callback_timed_out, // an upload callback did not answer within callback_timeout (cancelled)
  protocol_violation, // the runtime sent a malformed or unexpected frame (connection closed)
  closed,             // the connection closed before the expected answer
  invalid_options,    // the call's options were rejected before anything was sent
  busy,               // another request is in flight on this session
  // Durable sessions (docs/durable-sessions.md):
  session_expired, // resume refused: the session's window passed (its request was killed)
  resume_refused,  // resume refused: unknown session or wrong token (or no longer durable)
  superseded,      // another connection resumed this session (close code 4001)
  detached,        // detach() left the request running; attach to collect its result
  not_durable,     // the runtime did not make the session durable (e.g. runtimeuse)
  // Session processes (docs/processes.md):
  process_error, // the runtime refused a process message; metadata "code" says why
  not_supported, // the runtime did not answer the extension asked for (nothing was sent)
};

// The enumerator's name ("session_expired", "connection_failed", ...): stable, for logs and
// machine-readable output, unlike the category's message text.
const char* errc_name(errc e) noexcept;
// errc_name of a client error code; "" for a code of another category.
const char* errc_name(const std::error_code& code) noexcept;

const std::error_category& error_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// Returned, never thrown. An empty code means success.
struct client_error {
  std::error_code code{};
  std::string message{};
  // The error_message's metadata for runtime errors; for errors the client detects itself, a
  // JSON object with the details (url, timeout kind, offending frame, ...).
  std::string metadata_json = "{}";

  explicit operator bool() const noexcept { return static_cast<bool>(code); }
};

} // namespace agentrt::client

namespace std {
template <> struct is_error_code_enum<agentrt::client::errc> : true_type {};
} // namespace std

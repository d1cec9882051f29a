// agentrt's error codes and their std::error_category, shared by runtime and client.
#pragma once

#include <system_error>

namespace agentrt::protocol {

enum class errc {
  malformed_json = 1,   // frame is not valid JSON
  not_an_object,        // frame is JSON but not an object
  missing_field,        // a required field is absent or null
  wrong_type,           // a field has the wrong JSON type
  invalid_value,        // right type, unacceptable value (e.g. negative timeout)
  unknown_message_type, // message_type not in the protocol
  unexpected_message,   // valid message in the wrong direction or state
  busy,                 // another request is in flight
  cancelled,            // the request was cancelled
  timed_out,            // a timeout expired
  spawn_failed,         // a child process could not be started
  not_supported,        // a feature this build does not provide
  nesting_too_deep,     // JSON nested deeper than max_json_depth (json_depth.hpp)
};

const std::error_category& error_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

} // namespace agentrt::protocol

namespace std {
template <> struct is_error_code_enum<agentrt::protocol::errc> : true_type {};
} // namespace std

// Why a harness run failed, when no shared code says it: an std::error_code category for the
// outcomes only the harness layer knows (an answer that does not match the requested schema, an
// agent that is not available here, an agent that failed or exited without an answer, a run
// out of turns or tokens). Invalid input uses protocol::errc (invalid_value, timed_out,
// spawn_failed), filesystem failures std::generic_category's errno.
#pragma once

#include <system_error>

namespace agentrt::runtime::harness {

enum class harness_errc {
  output_mismatch = 1, // the answer is not a JSON object matching the requested schema
  agent_unavailable,   // the agent the runtime or the invocation asks for is not available
  unsupported_setting, // the agent cannot honour a harness_settings member
  agent_failed,  // the agent, or its model endpoint, reported a failure or could not be reached
  agent_exited,  // the agent's process ended without an answer (status, signal, no result)
  limit_reached, // the run used up its turns or its token budget before a final answer
};

const std::error_category& harness_category() noexcept;

inline std::error_code make_error_code(harness_errc e) noexcept {
  return {static_cast<int>(e), harness_category()};
}

} // namespace agentrt::runtime::harness

template <> struct std::is_error_code_enum<agentrt::runtime::harness::harness_errc> : true_type {};

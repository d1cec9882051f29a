// Why a session-process message was refused: an std::error_code category whose codes are the
// "code" values of process_error_message (docs/processes.md).
#pragma once

#include <system_error>

namespace agentrt::runtime::sessionproc {

enum class process_errc {
  unknown_process = 1,
  spawn_failed,
  too_many_processes,
  exited,
  stdin_closed,
  stdin_overflow,
  not_a_terminal,
  bad_signal,
  session_ending,
};

const std::error_category& process_category() noexcept;

inline std::error_code make_error_code(process_errc e) noexcept {
  return {static_cast<int>(e), process_category()};
}

// The wire code of e ("unknown_process", ...); "spawn_failed" for an error of another category
// (a system error while starting).
const char* wire_code(const std::error_code& e) noexcept;

} // namespace agentrt::runtime::sessionproc

template <>
struct std::is_error_code_enum<agentrt::runtime::sessionproc::process_errc> : true_type {};

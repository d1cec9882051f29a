// Counters behind GET /metrics: what the runtime did since it started. Process-wide, because
// their producers live in different layers (requests, transfers, process scopes) and on
// different threads; each is a relaxed atomic, so counting never blocks anybody.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace agentrt::runtime::metrics {

enum class request_kind : std::size_t { command, invocation, count_ };
// completed: its result was sent; failed: an error_message; cancelled: cancel_message;
// abandoned: its connection went away (or the runtime shut down) before the end.
enum class request_outcome : std::size_t { completed, failed, cancelled, abandoned, count_ };
// How a command ended: exit 0, another exit status, killed by a signal it did not get from the
// runtime, past its timeout, or killed by the runtime because its request was cancelled or
// abandoned (whatever status it then had).
enum class exit_class : std::size_t { success, failure, signal, timeout, killed, count_ };
enum class transfer_kind : std::size_t { download, upload, count_ };
enum class transfer_outcome : std::size_t { success, failure, count_ };
enum class harness_outcome : std::size_t { success, failure, count_ };
enum class output_stream : std::size_t { stdout_stream, stderr_stream, count_ };
enum class kill_signal : std::size_t { sigterm, sigkill, count_ };

// The agents whose runs are counted by name; any other name counts as "other".
inline constexpr std::array<std::string_view, 7> agent_names = {
    "claude", "codex", "gemini", "opencode", "openai", "handler", "other"};

template <typename E> constexpr std::size_t n() {
  return static_cast<std::size_t>(E::count_);
}

class counter {
public:
  void add(std::uint64_t v = 1) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<std::uint64_t> value_{0};
};

struct runtime_metrics {
  counter connections_accepted;
  counter sessions_started;
  counter durable_resumes;
  counter durable_sessions_expired;
  std::array<std::array<counter, n<request_outcome>()>, n<request_kind>()> requests;
  counter commands_started;
  // Session processes (docs/processes.md): started, and ended (exit seen, or killed with their
  // session before it was); the difference is the running gauge.
  counter session_processes_started;
  counter session_processes_ended;
  std::array<counter, n<exit_class>()> command_exits;
  std::array<counter, n<output_stream>()> output_bytes;
  std::array<std::array<counter, n<transfer_outcome>()>, n<transfer_kind>()> transfers;
  std::array<counter, n<transfer_kind>()> transfer_bytes;
  std::array<std::array<counter, n<harness_outcome>()>, agent_names.size()> harness_runs;
  std::array<counter, n<kill_signal>()> kill_signals;
  counter frames_sent_bytes;
};

// The one instance; never destroyed (a thread may count while the runtime exits).
runtime_metrics& get() noexcept;

void count_request(request_kind kind, request_outcome outcome) noexcept;
void count_command_exit(exit_class c) noexcept;
void count_output(output_stream s, std::uint64_t bytes) noexcept;
void count_transfer(transfer_kind kind, transfer_outcome outcome, std::uint64_t bytes) noexcept;
void count_kill_signals(kill_signal s, std::uint64_t processes) noexcept;
void count_harness_run(std::string_view agent, harness_outcome outcome) noexcept;

} // namespace agentrt::runtime::metrics

// The process-wide counters (see runtime_metrics.hpp).
#include "metrics/runtime_metrics.hpp"

namespace agentrt::runtime::metrics {
namespace {

template <typename E> constexpr std::size_t at(E e) {
  return static_cast<std::size_t>(e);
}

} // namespace

runtime_metrics& get() noexcept {
  static runtime_metrics* const m = new runtime_metrics();
  return *m;
}

void count_request(request_kind kind, request_outcome outcome) noexcept {
  get().requests[at(kind)][at(outcome)].add();
}

void count_command_exit(exit_class c) noexcept {
  get().command_exits[at(c)].add();
}

void count_output(output_stream s, std::uint64_t bytes) noexcept {
  get().output_bytes[at(s)].add(bytes);
}

void count_transfer(transfer_kind kind, transfer_outcome outcome, std::uint64_t bytes) noexcept {
  get().transfers[at(kind)][at(outcome)].add();
  if (bytes > 0)
    get().transfer_bytes[at(kind)].add(bytes);
}

void count_kill_signals(kill_signal s, std::uint64_t processes) noexcept {
  get().kill_signals[at(s)].add(processes);
}

void count_harness_run(std::string_view agent, harness_outcome outcome) noexcept {
  std::size_t i = agent_names.size() - 1; // "other"
  for (std::size_t k = 0; k + 1 < agent_names.size(); ++k) {
    if (agent_names[k] == agent)
      i = k;
  }
  get().harness_runs[i][at(outcome)].add();
}

} // namespace agentrt::runtime::metrics

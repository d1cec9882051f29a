// The runtime process's own resources for /metrics, under the names Prometheus client
// libraries use (process_resident_memory_bytes, process_open_fds, …), read from /proc.
#pragma once

#include <cstdint>
#include <optional>

namespace agentrt::runtime::metrics {

struct process_gauges {
  std::optional<std::uint64_t> resident_bytes;
  std::optional<std::uint64_t> virtual_bytes;
  std::optional<std::uint64_t> open_fds;
  std::optional<std::uint64_t> max_fds;
  std::optional<std::uint64_t> threads;
  double cpu_seconds = 0;
  double start_time_seconds = 0; // since the epoch
};

// Whatever cannot be read (no /proc) is left empty and not reported.
process_gauges read_process_gauges();

} // namespace agentrt::runtime::metrics

// The body of GET /metrics: the runtime's counters (runtime_metrics.hpp), what the server has
// open now, and the process's own resources, in the Prometheus text format.
#pragma once

#include <cstdint>
#include <string>

namespace agentrt::runtime::metrics {

// What the server has open at the moment of the scrape (server_state's counts).
struct server_gauges {
  std::uint64_t open_sessions = 0;
  std::uint64_t detached_sessions = 0;
  std::uint64_t requests_in_flight = 0;
  std::uint64_t transfers_in_flight = 0;
  std::uint64_t inotify_watches = 0;
  double uptime_seconds = 0;
  bool shutting_down = false;
};

std::string render_metrics_page(const server_gauges& now);

} // namespace agentrt::runtime::metrics

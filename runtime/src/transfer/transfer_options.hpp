// Limits shared by downloads and uploads: timeouts, low-speed rule, retry policy, redirect limit
// and the download size cap. Defaults are the production values (those of the agentrt flags);
// tests shrink them to keep slow-server cases fast.
#pragma once

#include <chrono>
#include <cstdint>

namespace agentrt::runtime::transfer {

struct transfer_options {
  std::chrono::milliseconds connect_timeout{30000};
  // An attempt that moves fewer than low_speed_limit bytes/s (both directions together) on
  // average over the last low_speed_time is abandoned as timed out. A server that accepts the
  // connection but never answers counts as slow too. Zero for either disables the check.
  long low_speed_limit = 1024;
  std::chrono::milliseconds low_speed_time{60000};
  // Upper bound for one attempt; zero means none (large files on slow links are legitimate).
  std::chrono::milliseconds attempt_timeout{0};
  // Retries after the first attempt, for connection errors, timeouts and HTTP 5xx only.
  int max_retries = 3;
  // Delay before retry n (0-based) is initial_backoff * 2^n, capped at max_backoff.
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  long max_redirects = 10;
  // Downloads only: a body larger than this is refused (from its Content-Length when the server
  // sends one, else once that many bytes arrived); zero means no limit.
  std::uint64_t download_max_bytes = 8ULL << 30;
};

} // namespace agentrt::runtime::transfer

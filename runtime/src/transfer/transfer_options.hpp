// Limits shared by downloads and uploads: timeouts, retry policy and redirect limit. Defaults are
// the production values; tests shrink them to keep slow-server cases fast.
#pragma once

#include <chrono>

namespace agentrt::runtime::transfer {

struct transfer_options {
  std::chrono::milliseconds connect_timeout{30000};
  // An attempt that moves fewer than low_speed_limit bytes/s (both directions together) over
  // the last low_speed_time is abandoned as timed out. A server that accepts the connection but
  // never answers counts as slow too. Zero for either disables the check.
  long low_speed_limit = 1;
  std::chrono::milliseconds low_speed_time{60000};
  // Upper bound for one attempt; zero means none (large files on slow links are legitimate).
  std::chrono::milliseconds attempt_timeout{0};
  // Retries after the first attempt, for connection errors, timeouts and HTTP 5xx only.
  int max_retries = 3;
  // Delay before retry n (0-based) is initial_backoff * 2^n, capped at max_backoff.
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  long max_redirects = 10;
};

} // namespace agentrt::runtime::transfer

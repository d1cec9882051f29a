// What a process uses over time, for fault tests that print (and bound) it: CPU seconds so far,
// and the peak resident set size sampled while a fault is under way.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace agentrt::test {

// User + system CPU seconds pid has used so far (/proc/PID/stat); 0 if unknown.
double cpu_seconds(pid_t pid);

// Samples VmRSS of pid every few milliseconds on a thread of its own until destroyed or
// stopped; peak_kib() is the largest sample so far.
class peak_rss_sampler {
public:
  explicit peak_rss_sampler(pid_t pid,
                            std::chrono::milliseconds interval = std::chrono::milliseconds(10));
  ~peak_rss_sampler();
  peak_rss_sampler(const peak_rss_sampler&) = delete;
  peak_rss_sampler& operator=(const peak_rss_sampler&) = delete;

  long peak_kib() const noexcept { return peak_.load(); }
  void stop();

private:
  std::atomic<long> peak_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace agentrt::test

// What the bench reads about a runtime process from /proc: resident memory (now and peak),
// CPU time, and a sampler thread that tracks the peak over a measurement.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace agentrt::bench {

struct memory_status {
  long rss_kib = 0; // VmRSS
  long hwm_kib = 0; // VmHWM: the peak since start or since reset_peak_rss
};

// Zeroes when the process is gone or unreadable.
memory_status read_memory(pid_t pid);
// Private (not shared with other processes) resident memory, from /proc/PID/smaps_rollup:
// what the process itself costs once shared libraries are discounted. 0 when unknown.
long private_kib(pid_t pid);
// Resets VmHWM (writes 5 to /proc/PID/clear_refs); false when the kernel refuses.
bool reset_peak_rss(pid_t pid);
// User + system CPU seconds the process itself has used (children excluded).
double cpu_seconds(pid_t pid);
// This process's own user + system CPU seconds, all threads.
double self_cpu_seconds();
// The first line of /proc/loadavg, e.g. "0.52 0.61 0.70 1/180 4242".
std::string load_average();

// Samples VmRSS every interval while alive; peak_kib() is the largest seen, combined with
// VmHWM when that was reset at start (it catches spikes between two samples).
class rss_sampler {
public:
  explicit rss_sampler(pid_t pid,
                       std::chrono::milliseconds interval = std::chrono::milliseconds(5));
  ~rss_sampler();
  rss_sampler(const rss_sampler&) = delete;
  rss_sampler& operator=(const rss_sampler&) = delete;

  // Stops sampling (idempotent) and returns the peak in KiB; 0 without a pid.
  long stop();
  long start_kib() const noexcept { return start_kib_; }

private:
  pid_t pid_;
  std::chrono::milliseconds interval_;
  bool hwm_reset_ = false;
  long start_kib_ = 0;
  std::atomic<long> peak_kib_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

} // namespace agentrt::bench

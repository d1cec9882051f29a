// /proc probes for CPU time and peak memory of another process.
#include "support/process_usage.hpp"

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <unistd.h>

#include "support/runtime_process.hpp"

namespace agentrt::test {

double cpu_seconds(pid_t pid) {
  const std::string stat = read_whole_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close_paren = stat.rfind(')');
  if (close_paren == std::string::npos)
    return 0;
  // Fields 14 (utime) and 15 (stime), counting from the pid; the command name in parentheses
  // may contain spaces, so counting starts after it, at field 3.
  std::istringstream fields(stat.substr(close_paren + 2));
  std::string skip;
  for (int field = 3; field < 14; ++field)
    fields >> skip;
  long long utime = 0;
  long long stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

peak_rss_sampler::peak_rss_sampler(pid_t pid, std::chrono::milliseconds interval)
    : thread_([this, pid, interval] {
        while (!stop_.load()) {
          const long now = rss_kib(pid);
          if (now > peak_.load())
            peak_.store(now);
          std::this_thread::sleep_for(interval);
        }
      }) {}

peak_rss_sampler::~peak_rss_sampler() {
  stop();
}

void peak_rss_sampler::stop() {
  stop_.store(true);
  if (thread_.joinable())
    thread_.join();
}

} // namespace agentrt::test

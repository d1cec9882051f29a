// Reads the runtime's own memory, descriptors, threads and CPU time (see process_gauges.hpp).
#include "metrics/process_gauges.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

namespace agentrt::runtime::metrics {
namespace {

// Counts entries of /proc/self/fd without holding a list (the runtime may have thousands).
std::optional<std::uint64_t> count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr)
    return std::nullopt;
  std::uint64_t n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.')
      ++n;
  }
  ::closedir(dir);
  return n > 0 ? n - 1 : 0; // the directory's own descriptor
}

// "Threads:" of /proc/self/status.
std::optional<std::uint64_t> count_threads() {
  std::FILE* f = std::fopen("/proc/self/status", "re");
  if (f == nullptr)
    return std::nullopt;
  std::optional<std::uint64_t> threads;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long long v = 0;
    if (std::sscanf(line, "Threads: %llu", &v) == 1) {
      threads = v;
      break;
    }
  }
  std::fclose(f);
  return threads;
}

// The process's start in seconds since the epoch: field 22 of /proc/self/stat is in clock
// ticks since boot, and btime of /proc/stat is the boot time.
double start_time() {
  unsigned long long start_ticks = 0;
  if (std::FILE* f = std::fopen("/proc/self/stat", "re")) {
    char buf[1024];
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // The command name (field 2) may hold spaces and parentheses: start after the last ')'.
    const char* p = nullptr;
    for (std::size_t i = 0; i < n; ++i) {
      if (buf[i] == ')')
        p = buf + i + 1;
    }
    if (p != nullptr) {
      // Fields 3..21 skipped, then starttime.
      if (std::sscanf(p,
                      " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
                      "%*d %llu",
                      &start_ticks) != 1)
        start_ticks = 0;
    }
  }
  unsigned long long btime = 0;
  if (std::FILE* f = std::fopen("/proc/stat", "re")) {
    char line[256];
    while (std::fgets(line, sizeof line, f) != nullptr) {
      if (std::sscanf(line, "btime %llu", &btime) == 1)
        break;
    }
    std::fclose(f);
  }
  const long hz = ::sysconf(_SC_CLK_TCK);
  if (btime == 0 || hz <= 0)
    return 0;
  return static_cast<double>(btime) + static_cast<double>(start_ticks) / static_cast<double>(hz);
}

} // namespace

process_gauges read_process_gauges() {
  process_gauges g;
  if (std::FILE* f = std::fopen("/proc/self/statm", "re")) {
    unsigned long long size = 0, resident = 0;
    if (std::fscanf(f, "%llu %llu", &size, &resident) == 2) {
      const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
      g.virtual_bytes = size * page;
      g.resident_bytes = resident * page;
    }
    std::fclose(f);
  }
  g.open_fds = count_open_fds();
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    g.max_fds = rl.rlim_cur;
  g.threads = count_threads();
  rusage ru{};
  if (::getrusage(RUSAGE_SELF, &ru) == 0) {
    g.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }
  static const double started = start_time();
  g.start_time_seconds = started;
  return g;
}

} // namespace agentrt::runtime::metrics

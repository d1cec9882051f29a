// /proc readers for the bench (Linux only, like the runtime).
#include "proc_probe.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace agentrt::bench {
namespace {

std::string proc_path(pid_t pid, const char* leaf) {
  return "/proc/" + std::to_string(pid) + "/" + leaf;
}

long field_kib(const std::string& line, const char* name) {
  const std::size_t n = std::char_traits<char>::length(name);
  if (line.compare(0, n, name) != 0)
    return -1;
  return std::strtol(line.c_str() + n, nullptr, 10);
}

} // namespace

memory_status read_memory(pid_t pid) {
  memory_status m;
  if (pid <= 0)
    return m;
  std::ifstream in(proc_path(pid, "status"));
  std::string line;
  while (std::getline(in, line)) {
    if (const long v = field_kib(line, "VmRSS:"); v >= 0)
      m.rss_kib = v;
    else if (const long h = field_kib(line, "VmHWM:"); h >= 0)
      m.hwm_kib = h;
  }
  return m;
}

long private_kib(pid_t pid) {
  if (pid <= 0)
    return 0;
  std::ifstream in(proc_path(pid, "smaps_rollup"));
  std::string line;
  long total = 0;
  while (std::getline(in, line)) {
    if (const long c = field_kib(line, "Private_Clean:"); c >= 0)
      total += c;
    else if (const long d = field_kib(line, "Private_Dirty:"); d >= 0)
      total += d;
  }
  return total;
}

bool reset_peak_rss(pid_t pid) {
  if (pid <= 0)
    return false;
  std::ofstream out(proc_path(pid, "clear_refs"));
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

double cpu_seconds(pid_t pid) {
  if (pid <= 0)
    return 0;
  std::ifstream in(proc_path(pid, "stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name may contain spaces and parentheses; fields restart after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) // fields 3..13: state .. cmajflt
    fields >> skip;
  unsigned long long utime = 0, stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double self_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  const auto secs = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string line;
  std::getline(in, line);
  return line;
}

rss_sampler::rss_sampler(pid_t pid, std::chrono::milliseconds interval)
    : pid_(pid), interval_(interval) {
  if (pid_ <= 0)
    return;
  hwm_reset_ = reset_peak_rss(pid_);
  start_kib_ = read_memory(pid_).rss_kib;
  peak_kib_ = start_kib_;
  thread_ = std::thread([this] {
    while (!stopping_) {
      const long rss = read_memory(pid_).rss_kib;
      if (rss > peak_kib_)
        peak_kib_ = rss;
      std::this_thread::sleep_for(interval_);
    }
  });
}

rss_sampler::~rss_sampler() {
  stop();
}

long rss_sampler::stop() {
  if (thread_.joinable()) {
    stopping_ = true;
    thread_.join();
    if (hwm_reset_) {
      const long hwm = read_memory(pid_).hwm_kib;
      if (hwm > peak_kib_)
        peak_kib_ = hwm;
    }
  }
  return peak_kib_;
}

} // namespace agentrt::bench

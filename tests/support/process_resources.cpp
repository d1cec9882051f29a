// /proc probes for descriptors and threads of another process.
#include "support/process_resources.hpp"

#include <dirent.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <thread>

namespace agentrt::test {

int count_threads(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0)
      return std::atoi(line.c_str() + 8);
  }
  return -1;
}

process_resources resources_of(pid_t pid) {
  process_resources r;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (!d)
    return r;
  r.fds = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.')
      continue;
    ++r.fds;
    char target[PATH_MAX];
    const ssize_t n = ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
    r.fd_targets.emplace_back(n > 0 ? std::string(target, static_cast<std::size_t>(n))
                                    : std::string("?"));
  }
  ::closedir(d);
  std::sort(r.fd_targets.begin(), r.fd_targets.end());
  r.threads = count_threads(pid);
  return r;
}

bool wait_resources_at_most(pid_t pid, const process_resources& baseline,
                            std::chrono::milliseconds timeout, process_resources& last) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    last = resources_of(pid);
    const bool settled =
        last.fds >= 0 && last.fds <= baseline.fds && last.threads <= baseline.threads;
    if (settled)
      return true;
    if (last.fds < 0 || std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
}

std::string describe_change(const process_resources& before, const process_resources& after) {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::set_difference(after.fd_targets.begin(), after.fd_targets.end(), before.fd_targets.begin(),
                      before.fd_targets.end(), std::back_inserter(added));
  std::set_difference(before.fd_targets.begin(), before.fd_targets.end(), after.fd_targets.begin(),
                      after.fd_targets.end(), std::back_inserter(removed));
  std::string out = "fds " + std::to_string(before.fds) + " -> " + std::to_string(after.fds);
  if (!added.empty() || !removed.empty()) {
    out += " (";
    bool first = true;
    for (const auto& a : added) {
      out += (first ? "+" : ", +") + a;
      first = false;
    }
    for (const auto& r : removed) {
      out += (first ? "-" : ", -") + r;
      first = false;
    }
    out += ")";
  }
  out += "; threads " + std::to_string(before.threads) + " -> " + std::to_string(after.threads);
  return out;
}

} // namespace agentrt::test

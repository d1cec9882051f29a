// What a process holds — open descriptors and threads — read from /proc, so that a fault test
// can prove the runtime leaked nothing: a sample before the fault, one after a settle time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace agentrt::test {

struct process_resources {
  int fds = -1;     // entries of /proc/PID/fd; -1 when the process is gone
  int threads = -1; // entries of /proc/PID/task
  // What each descriptor refers to ("socket:[123]", "pipe:[456]", "/tmp/x"), sorted; printed
  // when a test finds a surplus, so that the leak names itself.
  std::vector<std::string> fd_targets;
};

process_resources resources_of(pid_t pid);
int count_threads(pid_t pid);

// Polls pid until it holds no more descriptors and threads than baseline, or timeout. Returns
// true when it got there; last receives the final sample either way.
bool wait_resources_at_most(pid_t pid, const process_resources& baseline,
                            std::chrono::milliseconds timeout, process_resources& last);

// "fds 12 -> 14 (+socket:[8812], +pipe:[8813]); threads 5 -> 5" for failure messages.
std::string describe_change(const process_resources& before, const process_resources& after);

} // namespace agentrt::test

// Point-in-time views of the process table read from /proc, for process_scope: who is whose
// parent, which group each process is in, and which ones carry a scope marker in their
// environment. Everything here is racy by nature (processes come and go while we read), so
// a process that vanishes mid-read is simply left out.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace agentrt::runtime::process::detail {

struct proc_entry {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgrp = 0;
  char state = '?'; // 'R', 'S', 'Z', ... from /proc/PID/stat
  uid_t uid = 0;    // owner of /proc/PID/stat, i.e. the process's effective uid
  // When it was started, in clock ticks (sysconf(_SC_CLK_TCK)) since boot: the same clock as
  // boot_ticks_now(), so that it can be compared with when a request began.
  std::uint64_t start_ticks = 0;
};

// One process, or nullopt when it is gone (or /proc is not readable).
std::optional<proc_entry> read_proc_entry(pid_t pid);

// Every process visible in /proc, one pass.
std::vector<proc_entry> scan_proc();

// True when /proc/PID/environ holds exactly the NUL-delimited entry (e.g. "K=V"). Reads in
// fixed-size chunks so a huge environment costs time, not memory; gives up after a few MiB.
bool environ_contains(pid_t pid, std::string_view entry);

// The soft RLIMIT_RTTIME of pid, from /proc/PID/limits (readable for every user); nullopt when
// it is unlimited, unreadable, or the process is gone.
std::optional<std::uint64_t> rttime_soft_limit(pid_t pid);

// Now, on the clock of proc_entry::start_ticks.
std::uint64_t boot_ticks_now();

// Direct children of the calling process, including orphans re-parented to it because it is a
// child subreaper or PID 1. Uses /proc/self/task/*/children (CONFIG_PROC_CHILDREN) and falls
// back to a full /proc scan when the kernel lacks it.
std::vector<pid_t> own_children();

} // namespace agentrt::runtime::process::detail

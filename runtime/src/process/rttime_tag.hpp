// A mark on a request's processes that survives what the AGENTRT_SCOPE variable does not
// (env -i, `exec -c`, a daemon emptying its environment, setuid): the soft RLIMIT_RTTIME limit.
// Resource limits are inherited by fork, kept across execve and setuid, and readable by anyone
// in /proc/PID/limits. RLIMIT_RTTIME bounds only the CPU time of real-time (SCHED_FIFO/RR)
// threads between blocking calls, and the mark is at least 2^62 us (146,000 years), so it
// limits nothing in practice. The subreaper mechanism uses it to tell which request an orphan
// belongs to; a process that resets the limit itself is attributed by start time instead.
#pragma once

#include <cstdint>
#include <optional>

#include <sys/resource.h>

namespace agentrt::runtime::process {

std::uint64_t rttime_tag(std::uint64_t scope_serial);
// The scope serial a soft RLIMIT_RTTIME value marks, or nullopt when it is no mark of ours.
std::optional<std::uint64_t> rttime_tag_serial(std::uint64_t soft_limit);

// Sets the runtime's own soft RLIMIT_RTTIME to tag for its lifetime, so that a child spawned
// meanwhile inherits it (posix_spawn has no rlimit attribute); restores the previous value.
// Does nothing when the hard limit is below the tag. Only the io thread spawns, and the
// runtime runs no real-time thread, so the runtime itself is not affected.
class scoped_rttime_tag {
public:
  explicit scoped_rttime_tag(std::optional<std::uint64_t> tag);
  ~scoped_rttime_tag();
  scoped_rttime_tag(const scoped_rttime_tag&) = delete;
  scoped_rttime_tag& operator=(const scoped_rttime_tag&) = delete;

private:
  rlimit saved_{};
  bool set_ = false;
};

} // namespace agentrt::runtime::process

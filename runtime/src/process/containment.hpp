// How the runtime keeps every process a request started inside that request, including those
// that start a new session *and* clear their environment (`setsid -f env -i …`, double-forking
// daemons), which the process group, the AGENTRT_SCOPE variable and parent chains cannot see.
//
// cgroup: a cgroup v2 per request (process_scope owns it), children born into it (clone3
// CLONE_INTO_CGROUP), everything in it killed at once with cgroup.kill. Exact. Needs a writable
// cgroup2 hierarchy: root in a VM (E2B's Firecracker sandboxes), a privileged or
// cgroup-delegated container, a systemd unit with Delegate=yes.
//
// subreaper (everywhere else): the runtime is the child subreaper, so every orphan of a request
// is re-parented to it. A child of the runtime that the runtime did not spawn belongs to some
// request: to the one whose RLIMIT_RTTIME mark it carries (rttime_tag.hpp), else to the only
// request in flight when it started (by /proc/PID/stat start time); a process started while
// several were in flight is killed when the last of them ends. sweep() kills whatever is left
// when the runtime exits.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agentrt/protocol/result.hpp"
#include "process/cgroup_dir.hpp"

namespace agentrt::runtime::process {

enum class containment_mode { automatic, cgroup, subreaper };

// "auto", "cgroup" or "subreaper".
std::optional<containment_mode> parse_containment_mode(std::string_view name);

class containment {
public:
  // Picks the mechanism (detail() says which and why). automatic: cgroup when the runtime can
  // make a cgroup and start a process in it (tried once, here), else subreaper. cgroup: an
  // error saying why when it cannot. subreaper: always that.
  static protocol::result<std::unique_ptr<containment>> create(containment_mode mode);
  // sweep(), so that nothing outlives the runtime whichever way main() returns.
  ~containment();
  containment(const containment&) = delete;
  containment& operator=(const containment&) = delete;

  bool uses_cgroups() const noexcept { return cgroups_; }
  // "cgroup" or "subreaper", as /health and the startup log say.
  const char* name() const noexcept { return uses_cgroups() ? "cgroup" : "subreaper"; }
  // Why this mechanism, and where its cgroups are: for the startup log.
  const std::string& detail() const noexcept { return detail_; }
  // The cgroup the request cgroups are made in ("" without cgroups).
  std::string cgroup_path() const { return parent_ ? parent_->path() : std::string(); }

  // A fresh cgroup for one request; null (logged) when the kernel refuses one, and that
  // request is then contained like under the subreaper mechanism.
  std::unique_ptr<cgroup_dir> make_request_cgroup();
  // Kills whatever is still in a request's cgroup and removes it; one whose processes are
  // still dying is removed later (at the next make_request_cgroup() or sweep()).
  void retire(std::unique_ptr<cgroup_dir> cg);

  // The live scopes and when each began (proc_table's boot ticks): the subreaper mechanism's
  // orphan attribution. Returns the scope's serial (also its RLIMIT_RTTIME mark).
  std::uint64_t register_scope(std::uint64_t birth_ticks);
  void unregister_scope(std::uint64_t serial);
  bool is_live(std::uint64_t serial) const;
  // True when serial is the only live scope that began at or before start_ticks: a process
  // started then was started by that request (or by one that has already ended).
  bool sole_claimant(std::uint64_t serial, std::uint64_t start_ticks) const;

  // SIGKILL to every process below the runtime (its children, re-parented orphans, their
  // descendants, whatever is in the request cgroups), waiting up to wait for them to die, and
  // removal of the cgroups. Returns how many processes it killed. For the runtime's exit (it
  // kills everything below the calling process and reaps its children); a second call finds
  // nothing.
  std::size_t sweep(std::chrono::milliseconds wait);

private:
  containment() = default;
  void retry_retired();

  bool cgroups_ = false;
  std::string detail_;
  std::unique_ptr<cgroup_dir> parent_; // <runtime's cgroup>/agentrt-<pid>; gone after sweep()
  std::uint64_t next_request_ = 1;     // names req-<n> below parent_
  std::vector<std::unique_ptr<cgroup_dir>> retired_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> live_; // serial, birth ticks
  std::uint64_t next_serial_ = 1;
};

} // namespace agentrt::runtime::process

// The set of processes one request started, found again however they were detached.
//
// Every child spawned in a scope gets its own process group and the environment variable
// AGENTRT_SCOPE=<id>. How the scope finds its processes depends on the runtime's containment
// (containment.hpp), which a scope made with the reaper joins:
//
// - cgroup: the scope owns a cgroup v2 and its children are born in it. Its members are exactly
//   the processes in it, whatever they did (setsid, env -i, setuid, double fork), and SIGKILL
//   reaches all of them at once (cgroup.kill), new forks included. The cgroup is removed when
//   the scope is destroyed; anything still in it then is killed.
// - subreaper, and scopes made without a reaper (unit tests): members are found by process
//   group, by the marker in /proc/PID/environ (which catches descendants that left the group
//   with setsid), and by parent chains. With the subreaper containment also the orphans
//   re-parented to the runtime that the scope claims: by the RLIMIT_RTTIME mark its children
//   inherit (rttime_tag.hpp), else by start time. Without a containment, a process that
//   dropped the marker (env -i), left the group, and whose parent chain into the scope is
//   broken cannot be found; killing a group first (e.g. by destroying a running child_process)
//   can create exactly that, so terminate the scope before dropping its children. Processes of
//   another user are found by group, parentage and mark only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "process/cgroup_fork.hpp"

namespace agentrt::runtime::process {

class cgroup_dir;
class containment;
class process_reaper;
namespace detail {
struct proc_entry;
}

inline constexpr const char* scope_env_var = "AGENTRT_SCOPE";

class process_scope : public std::enable_shared_from_this<process_scope> {
public:
  // Group, marker and parentage only: no containment.
  explicit process_scope(asio::io_context& io);
  // In the reaper's containment when it has one (the runtime's requests).
  process_scope(asio::io_context& io, process_reaper& reaper);
  ~process_scope();
  process_scope(const process_scope&) = delete;
  process_scope& operator=(const process_scope&) = delete;

  const std::string& id() const noexcept { return id_; }

  // Called by child_process when it starts a process group in this scope.
  void add_group(pid_t pgid);

  // Where child_process must start a process of this scope: the scope's cgroup, or null when
  // it has none (then posix_spawn, with rttime_tag() inherited).
  const cgroup_target* spawn_target() const noexcept;
  // The RLIMIT_RTTIME mark of this scope's processes under the subreaper containment.
  std::optional<std::uint64_t> rttime_tag() const noexcept;
  // "cgroup", "subreaper" or "none": how this scope finds its processes.
  const char* mechanism() const noexcept;

  // Every live pid belonging to the scope (group members, marked processes, their descendants).
  std::vector<pid_t> find_members() const;

  // Cheap check used at the end of every request: true when nothing of the scope is alive.
  // With a cgroup: cgroup.events. Otherwise a kill(-pgid, 0) per group plus a look at our
  // direct children (orphans of the scope are re-parented to us as subreaper); only when that
  // says "maybe" does it scan /proc.
  bool empty() const;

  // SIGTERM to every member, SIGKILL to whatever is left after grace; on_done runs on io once
  // no member is alive (promptly when they all exit on SIGTERM). Safe to call repeatedly;
  // the latest on_done is called, and the earliest SIGKILL deadline wins. If processes
  // survive SIGKILL for a few seconds (uninterruptible sleep), on_done is called anyway and
  // survivors() says how many were left. Destroying the scope cancels a pending on_done; it
  // does not kill anything by itself, except what is left in the scope's cgroup (a cgroup
  // cannot be removed while processes are in it).
  void terminate(std::chrono::milliseconds grace, std::function<void()> on_done);

  // SIGKILL to every member now, without waiting for anything: for an owner being destroyed
  // while members may still run (the runtime exiting past its shutdown deadline).
  void kill_now();

  // Members still alive when the last terminate() gave up waiting; 0 when all were gone.
  std::size_t survivors() const noexcept { return survivors_; }

private:
  enum class phase { idle, term_sent, kill_sent };

  std::vector<pid_t> collect_members(std::vector<pid_t>* live_groups) const;
  bool claims_orphan(const detail::proc_entry& child) const;
  void forget_dead_groups() const;
  std::string marker_entry() const;
  std::size_t signal_members(int sig);
  std::size_t send_signal(int sig);
  void schedule_poll();
  void on_poll(const std::error_code& ec);
  void finish(std::size_t survivors);

  asio::io_context& io_;
  std::string id_;
  const process_reaper* reaper_ = nullptr;
  containment* containment_ = nullptr;
  std::uint64_t serial_ = 0;           // in containment_'s registry
  std::unique_ptr<cgroup_dir> cgroup_; // with the cgroup containment
  cgroup_target target_;               // cgroup_'s, for child_process
  // Pruned as groups die: a dead group's number can be recycled for someone else's group.
  mutable std::vector<pid_t> groups_;
  asio::steady_timer timer_;
  phase phase_ = phase::idle;
  std::chrono::steady_clock::time_point kill_at_;
  std::chrono::steady_clock::time_point give_up_at_;
  std::function<void()> on_done_;
  std::size_t survivors_ = 0;
  // Expires with the scope so that a timer completion already queued on io is ignored.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

} // namespace agentrt::runtime::process

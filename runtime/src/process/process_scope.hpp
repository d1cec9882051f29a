// The set of processes one request started, found again however they were detached.
//
// Every child spawned in a scope gets its own process group and the environment variable
// AGENTRT_SCOPE=<id>. terminate() finds the scope's processes by process group, by the marker
// in /proc/PID/environ (which catches descendants that left the group with setsid), and by
// parent chains, and kills them: SIGTERM, then SIGKILL after the grace period.
//
// What it cannot find: a process that dropped the marker (env -i), left the group, and whose
// parent chain into the scope is broken (its parent died). Killing a group first (e.g. by
// destroying a running child_process) can create exactly that, so terminate the scope before
// dropping its children. Processes of another user are found by group and parentage only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

namespace agentrt::runtime::process {

inline constexpr const char* scope_env_var = "AGENTRT_SCOPE";

class process_scope : public std::enable_shared_from_this<process_scope> {
 public:
  explicit process_scope(asio::io_context& io);
  ~process_scope();

  const std::string& id() const noexcept { return id_; }

  // Called by child_process when it starts a process group in this scope.
  void add_group(pid_t pgid);

  // Every live pid belonging to the scope (group members, marked processes, their descendants).
  std::vector<pid_t> find_members() const;

  // Cheap check used at the end of every request: true when nothing of the scope is alive.
  // A kill(-pgid, 0) per group plus the marker of our direct children (orphans of the scope
  // are re-parented to us as subreaper); only when that says "maybe" does it scan /proc.
  bool empty() const;

  // SIGTERM to every member, SIGKILL to whatever is left after grace; on_done runs on io once
  // no member is alive (promptly when they all exit on SIGTERM). Safe to call repeatedly;
  // the latest on_done is called, and the earliest SIGKILL deadline wins. If processes
  // survive SIGKILL for a few seconds (uninterruptible sleep), on_done is called anyway and
  // survivors() says how many were left. Destroying the scope cancels a pending on_done; it
  // does not kill anything by itself.
  void terminate(std::chrono::milliseconds grace, std::function<void()> on_done);

  // SIGKILL to every member now, without waiting for anything: for an owner being destroyed
  // while members may still run (the runtime exiting past its shutdown deadline).
  void kill_now();

  // Members still alive when the last terminate() gave up waiting; 0 when all were gone.
  std::size_t survivors() const noexcept { return survivors_; }

 private:
  enum class phase { idle, term_sent, kill_sent };

  std::vector<pid_t> collect_members(std::vector<pid_t>* live_groups) const;
  void forget_dead_groups() const;
  std::string marker_entry() const;
  std::size_t signal_members(int sig);
  void schedule_poll();
  void on_poll(const std::error_code& ec);
  void finish(std::size_t survivors);

  asio::io_context& io_;
  std::string id_;
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

}  // namespace agentrt::runtime::process

// Reaps every child of the runtime (including orphans re-parented to it as child subreaper or
// as PID 1) and tells the owner of a known pid how it ended.
//
// It reaps with waitpid(-1), so while it exists it owns every child of the process: code that
// starts a process some other way and waits for it itself would race with it (ECHILD). Start
// processes through child_process, or watch() their pid here.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <system_error>
#include <unordered_map>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

namespace agentrt::runtime::process {

class containment;

// How a process ended: exit_code is the exit status, or 128+signal for a signal death
// (never 0 for a killed process); term_signal is the signal number or 0.
struct exit_status {
  int exit_code = 0;
  int term_signal = 0;
};

class process_reaper {
public:
  using exit_handler = std::function<void(exit_status)>;
  static constexpr std::chrono::seconds poll_interval{1};

  // Makes the runtime a child subreaper (prctl PR_SET_CHILD_SUBREAPER) and starts listening
  // for SIGCHLD on io. Construct once, before the first spawn. While a pid is watched it also
  // polls once every poll_interval, so an exit whose SIGCHLD never reaches the io_context (see
  // arm_poll()) is reported late instead of never.
  explicit process_reaper(asio::io_context& io);
  // Destroys the containment last of all, which kills whatever is still below the runtime.
  ~process_reaper();
  process_reaper(const process_reaper&) = delete;
  process_reaper& operator=(const process_reaper&) = delete;

  // Registers interest in pid's exit. The handler runs on io exactly once (always posted, never
  // called from inside watch() or reap_all()). If the pid was already reaped before watch()
  // (a very fast child), the handler is still called, as long as that was at most a few seconds
  // ago. Reaping happens on the io thread, so calling watch() right after posix_spawn, before
  // control returns to the io_context, never needs that fallback.
  void watch(pid_t pid, exit_handler on_exit);
  void unwatch(pid_t pid);

  // True while pid was started through child_process (watched) and is not reaped yet. A child
  // of the runtime that is not watched is an orphan some request left.
  bool watching(pid_t pid) const { return watched_.count(pid) != 0; }

  // The containment mechanism, set once by main at startup. Without one (unit tests) scopes
  // find their processes by group, marker and parentage only.
  void set_containment(std::unique_ptr<containment> c);
  containment* active_containment() const noexcept { return containment_.get(); }
  // "cgroup" or "subreaper" (also without a containment: the reaper is a subreaper anyway).
  const char* containment_name() const noexcept;

private:
  // Reaps every exited child (on every SIGCHLD: signals coalesce).
  void reap_all();
  void arm();
  void on_signal(const std::error_code& ec, int signo);
  void arm_poll();

  struct early_exit {
    exit_status status;
    std::chrono::steady_clock::time_point reaped_at;
  };
  void remember(pid_t pid, exit_status status);

  std::unique_ptr<containment> containment_;
  asio::signal_set sigchld_;
  asio::steady_timer poll_;
  bool polling_ = false;
  std::unordered_map<pid_t, exit_handler> watched_;
  std::unordered_map<pid_t, early_exit> early_exits_; // reaped before watch(); bounded
  // Expires with the reaper so that a SIGCHLD completion already queued on io does not touch
  // a destroyed reaper.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

} // namespace agentrt::runtime::process

// SIGCHLD-driven reaping of every child of the runtime (see process_reaper.hpp).
#include "process/process_reaper.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <utility>

#include <asio/post.hpp>

#include "process/containment.hpp"

namespace agentrt::runtime::process {
namespace {

// Enough for any burst of orphans a command can leave behind between two watch() calls; the
// age limit matters more, see remember().
constexpr std::size_t max_early_exits = 1024;
constexpr auto early_exit_max_age = std::chrono::seconds(5);

exit_status decode(int wait_status) {
  exit_status s;
  if (WIFEXITED(wait_status)) {
    s.exit_code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    s.term_signal = WTERMSIG(wait_status);
    s.exit_code = 128 + s.term_signal;
  } else {
    s.exit_code = 255; // not reachable without WUNTRACED/WCONTINUED; never report 0
  }
  return s;
}

// True while pid is our child and not yet reaped (running or zombie).
bool is_unreaped_child(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

} // namespace

process_reaper::process_reaper(asio::io_context& io) : sigchld_(io, SIGCHLD), poll_(io) {
  // Orphans of our children (a daemonized `cmd &`, a setsid'd helper) are re-parented to us
  // instead of to init, so we can reap them and process_scope can still find them. As PID 1
  // the kernel does this anyway.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  // Asio installs its SIGCHLD handler without SA_RESTART, so every child exit would fail
  // blocking calls on other threads (thread-pool downloads, archive I/O) with EINTR. Keep its
  // handler and mask, add SA_RESTART, and skip the useless wake-ups for stopped children.
  struct sigaction sa {};
  if (::sigaction(SIGCHLD, nullptr, &sa) == 0) {
    sa.sa_flags |= SA_RESTART | SA_NOCLDSTOP;
    ::sigaction(SIGCHLD, &sa, nullptr);
  }

  // Children that exited before the signal handler existed sent their SIGCHLD to nobody.
  reap_all();
  arm();
}

process_reaper::~process_reaper() = default;

void process_reaper::set_containment(std::unique_ptr<containment> c) {
  containment_ = std::move(c);
}

const char* process_reaper::containment_name() const noexcept {
  return containment_ ? containment_->name() : "subreaper";
}

void process_reaper::watch(pid_t pid, exit_handler on_exit) {
  const auto early = early_exits_.find(pid);
  if (early != early_exits_.end()) {
    const exit_status status = early->second.status;
    const bool fresh =
        std::chrono::steady_clock::now() - early->second.reaped_at <= early_exit_max_age;
    early_exits_.erase(early);
    // A remembered pid that is again our live child is a recycled pid number: the entry
    // belongs to an earlier process.
    if (fresh && !is_unreaped_child(pid)) {
      asio::post(sigchld_.get_executor(),
                 [on_exit = std::move(on_exit), status] { on_exit(status); });
      return;
    }
  }
  watched_[pid] = std::move(on_exit);
  if (!polling_)
    arm_poll();
}

void process_reaper::unwatch(pid_t pid) {
  watched_.erase(pid);
}

void process_reaper::reap_all() {
  for (;;) {
    int wait_status = 0;
    // __WALL: also a clone() child whose exit signal is not SIGCHLD; it would stay a zombie.
    const pid_t pid = ::waitpid(-1, &wait_status, WNOHANG | __WALL);
    if (pid < 0 && errno == EINTR)
      continue;
    if (pid <= 0)
      break; // 0: children left but none exited; ECHILD: no children at all
    const exit_status status = decode(wait_status);
    const auto it = watched_.find(pid);
    if (it == watched_.end()) {
      remember(pid, status);
      continue;
    }
    exit_handler on_exit = std::move(it->second);
    watched_.erase(it);
    // Posted, not called: the handler may spawn, watch or unwatch while we iterate.
    asio::post(sigchld_.get_executor(),
               [on_exit = std::move(on_exit), status] { on_exit(status); });
  }
}

void process_reaper::remember(pid_t pid, exit_status status) {
  // Most entries are orphans nobody will ever watch. Old entries are dropped because the pid
  // number gets recycled; watch() double-checks anyway.
  const auto now = std::chrono::steady_clock::now();
  if (early_exits_.size() >= 64) {
    for (auto it = early_exits_.begin(); it != early_exits_.end();) {
      it = now - it->second.reaped_at > early_exit_max_age ? early_exits_.erase(it) : std::next(it);
    }
  }
  if (early_exits_.size() >= max_early_exits) {
    auto oldest = early_exits_.begin();
    for (auto it = early_exits_.begin(); it != early_exits_.end(); ++it) {
      if (it->second.reaped_at < oldest->second.reaped_at)
        oldest = it;
    }
    early_exits_.erase(oldest);
  }
  early_exits_[pid] = early_exit{status, now};
}

void process_reaper::arm() {
  sigchld_.async_wait(
      [this, alive = std::weak_ptr<char>(alive_)](const std::error_code& ec, int signo) {
        if (alive.expired())
          return;
        on_signal(ec, signo);
      });
}

// The SIGCHLD is the fast path, this poll the safety net. A signal can fail to reach the
// io_context: under ThreadSanitizer, which defers asynchronous signals, about one exit in 70
// (four test processes spawning at once) was never reported: the child a zombie, no SIGCHLD
// pending, the command waiting forever. Code loaded into the process that resets SIGCHLD's
// disposition would do the same. One waitpid() a second while something is watched costs
// nothing measurable.
void process_reaper::arm_poll() {
  polling_ = true;
  poll_.expires_after(poll_interval);
  poll_.async_wait([this, alive = std::weak_ptr<char>(alive_)](const std::error_code& ec) {
    if (alive.expired())
      return;
    polling_ = false;
    if (ec)
      return;
    reap_all();
    if (!watched_.empty())
      arm_poll();
  });
}

void process_reaper::on_signal(const std::error_code& ec, int /*signo*/) {
  if (ec)
    return; // operation_aborted: the reaper is going away
  // Signals coalesce: one SIGCHLD may stand for many exits, hence the loop in reap_all().
  reap_all();
  arm();
}

} // namespace agentrt::runtime::process

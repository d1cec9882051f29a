// Finding and killing every process one request started (see process_scope.hpp).
#include "process/process_scope.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>

#include <asio/post.hpp>

#include "metrics/runtime_metrics.hpp"
#include "process/cgroup_dir.hpp"
#include "process/containment.hpp"
#include "process/proc_table.hpp"
#include "process/process_reaper.hpp"
#include "process/rttime_tag.hpp"

namespace agentrt::runtime::process {
namespace {

// Termination is rare and short, so a plain timer poll of /proc is simpler than tracking each
// process (they are not all our children, and pidfds for grandchildren would need a scan too).
constexpr auto poll_interval = std::chrono::milliseconds(20);
// With a cgroup a poll is one read of cgroup.events: it can afford to look more often.
constexpr auto cgroup_poll_interval = std::chrono::milliseconds(5);
// After SIGKILL only a process in uninterruptible sleep survives; do not wait for it forever.
constexpr auto kill_give_up = std::chrono::seconds(3);

std::string random_hex_id() {
  unsigned char bytes[16] = {};
  std::size_t got = 0;
  while (got < sizeof(bytes)) {
    const ssize_t n = ::getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  if (got < sizeof(bytes)) {
    // No getrandom (seccomp, old kernel): unique within this runtime is what really matters.
    static std::uint64_t counter = 0;
    const std::uint64_t mix[2] = {
        static_cast<std::uint64_t>(::getpid()) << 32 ^ ++counter,
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};
    for (std::size_t i = 0; i < sizeof(bytes); ++i) {
      bytes[i] = static_cast<unsigned char>(mix[i / 8] >> (8 * (i % 8)));
    }
  }
  static const char digits[] = "0123456789abcdef";
  std::string id;
  id.reserve(2 * sizeof(bytes));
  for (const unsigned char b : bytes) {
    id.push_back(digits[b >> 4]);
    id.push_back(digits[b & 0xf]);
  }
  return id;
}

} // namespace

process_scope::process_scope(asio::io_context& io) : io_(io), id_(random_hex_id()), timer_(io) {}

process_scope::process_scope(asio::io_context& io, process_reaper& reaper)
    : io_(io), id_(random_hex_id()), reaper_(&reaper), containment_(reaper.active_containment()),
      timer_(io) {
  if (containment_ == nullptr)
    return;
  serial_ = containment_->register_scope(detail::boot_ticks_now());
  if (containment_->uses_cgroups()) {
    cgroup_ = containment_->make_request_cgroup();
    if (cgroup_)
      target_ = cgroup_->target();
  }
}

process_scope::~process_scope() {
  if (containment_ == nullptr)
    return;
  containment_->unregister_scope(serial_);
  containment_->retire(std::move(cgroup_));
}

const cgroup_target* process_scope::spawn_target() const noexcept {
  return cgroup_ ? &target_ : nullptr;
}

std::optional<std::uint64_t> process_scope::rttime_tag() const noexcept {
  if (containment_ == nullptr || cgroup_)
    return std::nullopt;
  return process::rttime_tag(serial_);
}

const char* process_scope::mechanism() const noexcept {
  if (cgroup_)
    return "cgroup";
  return containment_ != nullptr ? "subreaper" : "none";
}

void process_scope::add_group(pid_t pgid) {
  if (std::find(groups_.begin(), groups_.end(), pgid) == groups_.end())
    groups_.push_back(pgid);
}

std::string process_scope::marker_entry() const {
  return std::string(scope_env_var) + "=" + id_;
}

void process_scope::forget_dead_groups() const {
  // Once a group is empty nothing can join it again, so ESRCH is final. Zombies still count as
  // members for kill(), which only keeps a group a little longer.
  groups_.erase(std::remove_if(groups_.begin(), groups_.end(),
                               [](pid_t g) { return ::kill(-g, 0) != 0 && errno == ESRCH; }),
                groups_.end());
}

bool process_scope::claims_orphan(const detail::proc_entry& child) const {
  // Spawned by child_process (in this scope or another): its group says whose it is.
  if (reaper_->watching(child.pid) || child.state == 'Z' || child.state == 'X')
    return false;
  if (const auto limit = detail::rttime_soft_limit(child.pid)) {
    if (const auto serial = rttime_tag_serial(*limit)) {
      if (*serial == serial_)
        return true;
      // Another live request's; one of an ended request is a leftover like an unmarked one.
      if (containment_->is_live(*serial))
        return false;
    }
  }
  return containment_->sole_claimant(serial_, child.start_ticks);
}

std::vector<pid_t> process_scope::collect_members(std::vector<pid_t>* live_groups) const {
  if (cgroup_) {
    if (live_groups != nullptr)
      live_groups->clear();
    return cgroup_->members();
  }
  forget_dead_groups();
  const pid_t self = ::getpid();
  const uid_t uid = ::geteuid();
  std::vector<detail::proc_entry> table = detail::scan_proc();
  table.erase(std::remove_if(table.begin(), table.end(),
                             [self](const detail::proc_entry& e) {
                               return e.pid == self || e.state == 'Z' || e.state == 'X';
                             }),
              table.end());

  std::unordered_multimap<pid_t, pid_t> children; // ppid -> pid
  for (const auto& e : table)
    children.emplace(e.ppid, e.pid);

  std::unordered_set<pid_t> members;
  std::vector<pid_t> pending;
  const auto add_with_descendants = [&](pid_t root) {
    pending.push_back(root);
    while (!pending.empty()) {
      const pid_t pid = pending.back();
      pending.pop_back();
      if (pid == self || !members.insert(pid).second)
        continue;
      const auto range = children.equal_range(pid);
      for (auto it = range.first; it != range.second; ++it)
        pending.push_back(it->second);
    }
  };

  for (const auto& e : table) {
    if (std::find(groups_.begin(), groups_.end(), e.pgrp) != groups_.end()) {
      add_with_descendants(e.pid);
    }
  }
  // The marker catches what left the group (setsid, setpgid) and whose parent chain to a
  // member is broken (re-parented to us or to init). Other users' environ is not ours to read.
  const std::string marker = marker_entry();
  for (const auto& e : table) {
    if (members.count(e.pid) != 0 || e.uid != uid)
      continue;
    if (detail::environ_contains(e.pid, marker))
      add_with_descendants(e.pid);
  }
  // Orphans re-parented to us that carry no marker (env -i) and left the group (setsid).
  if (containment_ != nullptr) {
    for (const auto& e : table) {
      if (e.ppid == self && members.count(e.pid) == 0 && claims_orphan(e))
        add_with_descendants(e.pid);
    }
  }

  if (live_groups != nullptr) {
    live_groups->clear();
    for (const auto& e : table) {
      if (members.count(e.pid) == 0)
        continue;
      if (std::find(groups_.begin(), groups_.end(), e.pgrp) == groups_.end())
        continue;
      if (std::find(live_groups->begin(), live_groups->end(), e.pgrp) == live_groups->end()) {
        live_groups->push_back(e.pgrp);
      }
    }
  }
  std::vector<pid_t> out(members.begin(), members.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<pid_t> process_scope::find_members() const {
  return collect_members(nullptr);
}

bool process_scope::empty() const {
  if (cgroup_)
    return !cgroup_->populated();
  // Cheap negative first: no group left and none of our direct children (which include every
  // orphan re-parented to us) carries the marker. Anything else of the scope would have a
  // live ancestor among those. Only a "maybe" pays for the full scan, which also discounts
  // zombies the reaper has not collected yet.
  forget_dead_groups();
  bool maybe_alive = !groups_.empty();
  if (!maybe_alive) {
    const std::string marker = marker_entry();
    for (const pid_t child : detail::own_children()) {
      const auto e = detail::read_proc_entry(child);
      if (!e || e->state == 'Z' || e->state == 'X')
        continue;
      if (detail::environ_contains(child, marker) ||
          (containment_ != nullptr && claims_orphan(*e))) {
        maybe_alive = true;
        break;
      }
    }
  }
  return !maybe_alive || find_members().empty();
}

std::size_t process_scope::signal_members(int sig) {
  const std::size_t n = send_signal(sig);
  if (sig == SIGTERM || sig == SIGKILL)
    metrics::count_kill_signals(
        sig == SIGKILL ? metrics::kill_signal::sigkill : metrics::kill_signal::sigterm, n);
  return n;
}

std::size_t process_scope::send_signal(int sig) {
  if (cgroup_) {
    if (sig != SIGKILL)
      return cgroup_->signal_members(sig);
    if (!cgroup_->populated())
      return 0;
    // All at once, also what forks meanwhile; the count is for survivors().
    cgroup_->kill();
    return std::max<std::size_t>(cgroup_->members().size(), 1);
  }
  std::vector<pid_t> live_groups;
  const std::vector<pid_t> members = collect_members(&live_groups);
  // Groups get the signal too, to catch a process forked after the scan. Only groups seen
  // alive in this scan: a dead group's number may belong to somebody else by now.
  for (const pid_t g : live_groups)
    ::kill(-g, sig);
  for (const pid_t pid : members)
    ::kill(pid, sig);
  if (sig == SIGTERM) {
    // A stopped process would hold SIGTERM pending until continued.
    for (const pid_t g : live_groups)
      ::kill(-g, SIGCONT);
    for (const pid_t pid : members)
      ::kill(pid, SIGCONT);
  }
  return members.size();
}

void process_scope::terminate(std::chrono::milliseconds grace, std::function<void()> on_done) {
  const auto now = std::chrono::steady_clock::now();
  on_done_ = std::move(on_done);
  if (phase_ != phase::idle) {
    if (phase_ == phase::term_sent)
      kill_at_ = std::min(kill_at_, now + grace);
    return;
  }
  survivors_ = 0;
  phase_ = phase::term_sent;
  kill_at_ = now + grace;
  if (signal_members(SIGTERM) == 0) {
    // Nothing to wait for; still report on io, never from inside terminate().
    timer_.cancel();
    asio::post(io_, [this, alive = std::weak_ptr<char>(alive_)] {
      if (!alive.expired() && phase_ == phase::term_sent)
        finish(0);
    });
    return;
  }
  schedule_poll();
}

void process_scope::kill_now() {
  if (!empty())
    signal_members(SIGKILL);
}

void process_scope::schedule_poll() {
  timer_.expires_after(cgroup_ ? cgroup_poll_interval : poll_interval);
  timer_.async_wait([this, alive = std::weak_ptr<char>(alive_)](const std::error_code& ec) {
    if (alive.expired())
      return;
    on_poll(ec);
  });
}

void process_scope::on_poll(const std::error_code& ec) {
  if (ec || phase_ == phase::idle)
    return;
  const auto now = std::chrono::steady_clock::now();
  if (phase_ == phase::term_sent && now >= kill_at_) {
    phase_ = phase::kill_sent;
    give_up_at_ = now + kill_give_up;
  }
  if (phase_ == phase::kill_sent) {
    // Re-scanned every time: a member may have forked since the last round.
    const std::size_t left = signal_members(SIGKILL);
    if (left == 0)
      return finish(0);
    if (now >= give_up_at_)
      return finish(left);
  } else if (empty()) {
    return finish(0);
  }
  schedule_poll();
}

void process_scope::finish(std::size_t survivors) {
  phase_ = phase::idle;
  survivors_ = survivors;
  std::function<void()> on_done = std::move(on_done_);
  on_done_ = nullptr;
  if (on_done)
    on_done();
}

} // namespace agentrt::runtime::process

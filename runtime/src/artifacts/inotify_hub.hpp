// One inotify instance per io_context (the runtime has one), shared by every session's
// artifact_watcher. An instance per session ran into fs.inotify.max_user_instances (128 by
// default, per user): the 129th session with artifacts failed. Watches are per user too
// (max_user_watches), but instances were the scarce budget.
//
// The hub owns the descriptor, reads events and hands each to the subscriptions that hold its
// watch descriptor, as raw inotify_event records in a per-subscription buffer. It never runs a
// subscriber's code itself: a subscriber with new events gets its notify handler posted, and
// takes them when it runs. The kernel gives one wd per inode and instance, so two sessions
// watching one directory (or the same parent, as every registered directory's parent is
// watched) share it: the hub counts holders and removes a kernel watch with its last one.
//
// Per-subscription buffers are bounded (default_max_buffered_bytes); a subscriber that falls that
// far behind gets IN_Q_OVERFLOW, exactly as if the kernel queue had overflowed, and rescans. A
// kernel overflow goes to every subscription. overflow_since() says from when events may have
// been lost, for the rescan.
#pragma once

#include <sys/inotify.h>
#include <time.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include "agentrt/protocol/result.hpp"

namespace agentrt::runtime::artifacts {

class inotify_hub : public asio::execution_context::service {
public:
  static asio::execution_context::id id;
  using key_type = inotify_hub;

  // Events a subscription may have waiting before it is sent IN_Q_OVERFLOW instead.
  static constexpr std::size_t default_max_buffered_bytes = 1 << 20;

  struct subscription;

  // asio::use_service<inotify_hub>(io) creates it; it lives as long as io.
  explicit inotify_hub(asio::io_context& io);
  ~inotify_hub() override;

  // notify is posted to the io_context (never called inline) when events arrive for the
  // subscription while it had none waiting. The subscription lives until unsubscribe().
  subscription* subscribe(std::function<void()> notify);
  // Removes every watch the subscription holds (the kernel's with their last holder) and
  // forgets it. Closes the descriptor when no subscription is left.
  void unsubscribe(subscription* s);

  // inotify_add_watch for s. Opens the descriptor on first use. A wd already held by other
  // subscriptions is shared; the events the kernel queued before s joined are read first, so s
  // does not receive them. The wd, or inotify_init_error / inotify_add_watch_error (a limit
  // named as such), other errnos as system errors.
  protocol::result<int> add_watch(subscription& s, const std::string& path, std::uint32_t mask);
  // s stops receiving wd's events; inotify_rm_watch once nobody holds it.
  void remove_watch(subscription& s, int wd);
  // Every wd s holds (including ones it has forgotten about), for a rescan's clean-up.
  std::vector<int> watches_of(const subscription& s) const;

  // Reads what the kernel has queued into the subscriptions' buffers, at most max_reads
  // buffers (64 KiB each); when more remains, reading continues from the io_context.
  void pump(int max_reads);

  // Moves s's waiting events out (appends raw records to out); false if there were none.
  // The next event that arrives posts notify again.
  bool take_events(subscription& s, std::string& out);
  // CLOCK_REALTIME before which every event that happened was delivered to s: meaningful
  // when s received IN_Q_OVERFLOW (files changed after it must be rescanned).
  timespec overflow_since(const subscription& s) const;

  std::size_t subscription_count() const noexcept { return subscriptions_.size(); }
  // Kernel watches held (each shared wd once), for GET /metrics: fs.inotify.max_user_watches
  // limits them per user, so a runtime watching large trees shows how close it is.
  std::size_t watch_count() const noexcept { return holders_.size(); }
  // Tests make a subscriber fall behind with a small limit.
  void set_max_buffered_bytes(std::size_t bytes) noexcept { max_buffered_bytes_ = bytes; }
  bool is_open() const noexcept { return stream_ && stream_->is_open(); }

private:
  void shutdown() override;
  std::error_code open();
  void close();
  void wait_readable();
  void on_readable(std::uint64_t generation);
  // true when the read budget ran out with events possibly left in the kernel.
  bool read_events(int max_reads);
  void dispatch(const inotify_event& ev);
  void append(subscription& s, const char* record, std::size_t size);
  void append_overflow(subscription& s);

  asio::io_context& io_;
  std::size_t max_buffered_bytes_ = default_max_buffered_bytes;
  std::optional<asio::posix::stream_descriptor> stream_;
  std::uint64_t generation_ = 0; // bumped when the descriptor is closed: stale handlers quit
  bool waiting_ = false;
  bool read_failed_ = false;
  timespec last_empty_{}; // CLOCK_REALTIME when the kernel queue was last seen empty
  std::unordered_map<subscription*, std::unique_ptr<subscription>> subscriptions_;
  std::unordered_map<int, std::vector<subscription*>> holders_; // wd -> subscriptions
  alignas(inotify_event) std::array<char, 64 * 1024> buffer_;   // >= sizeof + NAME_MAX + 1
};

struct inotify_hub::subscription {
  std::function<void()> notify;
  std::string events;          // raw inotify_event records not taken yet
  bool overflowed = false;     // an IN_Q_OVERFLOW is waiting in events; later ones dropped
  timespec overflow_since{};   // see overflow_since()
  std::unordered_set<int> wds; // watches held
};

} // namespace agentrt::runtime::artifacts

// The runtime's single inotify descriptor and its fan-out to artifact watchers (see
// inotify_hub.hpp).
#include "artifacts/inotify_hub.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <asio/post.hpp>

#include "artifacts/inotify_errors.hpp"
#include "log/logger.hpp"
#include "util/unique_fd.hpp"

namespace agentrt::runtime::artifacts {
namespace {

// Buffers of events read per turn of the io_context before other handlers get their turn.
constexpr int read_budget = 4;

bool before(const timespec& a, const timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

} // namespace

asio::execution_context::id inotify_hub::id;

inotify_hub::inotify_hub(asio::io_context& io) : asio::execution_context::service(io), io_(io) {}

inotify_hub::~inotify_hub() = default;

void inotify_hub::shutdown() {
  close();
  subscriptions_.clear();
  holders_.clear();
}

inotify_hub::subscription* inotify_hub::subscribe(std::function<void()> notify) {
  auto s = std::make_unique<subscription>();
  s->notify = std::move(notify);
  subscription* raw = s.get();
  subscriptions_.emplace(raw, std::move(s));
  return raw;
}

void inotify_hub::unsubscribe(subscription* s) {
  auto it = subscriptions_.find(s);
  if (it == subscriptions_.end())
    return;
  for (const int wd : std::vector<int>(s->wds.begin(), s->wds.end()))
    remove_watch(*s, wd);
  subscriptions_.erase(it);
  if (subscriptions_.empty())
    close();
}

std::error_code inotify_hub::open() {
  if (is_open())
    return {};
  util::unique_fd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd)
    return inotify_init_error(errno);
  std::error_code ec;
  stream_.emplace(io_);
  stream_->assign(fd.get(), ec);
  if (ec) {
    stream_.reset();
    return ec;
  }
  fd.release();
  read_failed_ = false;
  ::clock_gettime(CLOCK_REALTIME, &last_empty_);
  wait_readable();
  return {};
}

void inotify_hub::close() {
  if (!stream_)
    return;
  std::error_code ignored;
  stream_->close(ignored); // the kernel drops every watch with the descriptor
  stream_.reset();
  ++generation_;
  waiting_ = false;
  holders_.clear();
  for (auto& [raw, s] : subscriptions_)
    s->wds.clear();
}

protocol::result<int> inotify_hub::add_watch(subscription& s, const std::string& path,
                                             std::uint32_t mask) {
  if (const std::error_code ec = open())
    return ec;
  const int wd = ::inotify_add_watch(stream_->native_handle(), path.c_str(), mask);
  if (wd < 0)
    return inotify_add_watch_error(errno);
  if (s.wds.count(wd))
    return wd;
  auto& holders = holders_[wd];
  if (!holders.empty()) {
    // Someone else watches this inode already: what the kernel queued for it so far
    // happened before s asked and goes to the others only.
    read_events(64);
  }
  holders_[wd].push_back(&s); // read_events may have rehashed holders_
  s.wds.insert(wd);
  return wd;
}

void inotify_hub::remove_watch(subscription& s, int wd) {
  if (s.wds.erase(wd) == 0)
    return;
  auto it = holders_.find(wd);
  if (it == holders_.end())
    return;
  auto& holders = it->second;
  holders.erase(std::remove(holders.begin(), holders.end(), &s), holders.end());
  if (holders.empty()) {
    holders_.erase(it);
    if (is_open())
      ::inotify_rm_watch(stream_->native_handle(), wd);
  }
}

std::vector<int> inotify_hub::watches_of(const subscription& s) const {
  return {s.wds.begin(), s.wds.end()};
}

bool inotify_hub::take_events(subscription& s, std::string& out) {
  if (s.events.empty())
    return false;
  out.append(s.events);
  s.events.clear();
  s.overflowed = false;
  return true;
}

timespec inotify_hub::overflow_since(const subscription& s) const {
  return s.overflow_since;
}

void inotify_hub::pump(int max_reads) {
  if (!is_open() || !read_events(max_reads))
    return;
  asio::post(io_, [this, generation = generation_] { on_readable(generation); });
}

void inotify_hub::wait_readable() {
  if (waiting_ || !is_open())
    return;
  waiting_ = true;
  stream_->async_wait(asio::posix::stream_descriptor::wait_read,
                      [this, generation = generation_](const std::error_code& ec) {
                        if (ec || generation != generation_)
                          return;
                        waiting_ = false;
                        on_readable(generation);
                      });
}

void inotify_hub::on_readable(std::uint64_t generation) {
  if (generation != generation_ || !is_open())
    return;
  if (read_events(read_budget)) {
    // A writer that keeps the queue full must not starve other handlers. Posted rather than
    // left to the reactor: with edge-triggered epoll, events already queued produce no new
    // wake-up.
    asio::post(io_, [this, generation] { on_readable(generation); });
    return;
  }
  if (!read_failed_)
    wait_readable();
}

bool inotify_hub::read_events(int max_reads) {
  if (read_failed_)
    return false;
  const int fd = stream_->native_handle();
  for (int reads = 0; reads < max_reads; ++reads) {
    const ssize_t n = ::read(fd, buffer_.data(), buffer_.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      ::clock_gettime(CLOCK_REALTIME, &last_empty_);
      return false;
    }
    if (n <= 0) {
      // Only a programming error gets here (EINVAL: buffer too small); stop reading rather
      // than spin on a descriptor that stays readable.
      const std::error_code ec = n < 0 ? std::error_code(errno, std::system_category())
                                       : std::make_error_code(std::errc::io_error);
      log::warn({}, "artifact watcher: read inotify events: " + ec.message());
      read_failed_ = true;
      return false;
    }
    for (std::size_t off = 0; off + sizeof(inotify_event) <= static_cast<std::size_t>(n);) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buffer_.data() + off);
      dispatch(*ev);
      off += sizeof(inotify_event) + ev->len;
    }
  }
  return true;
}

void inotify_hub::dispatch(const inotify_event& ev) {
  if (ev.mask & IN_Q_OVERFLOW) {
    for (auto& [raw, s] : subscriptions_)
      append_overflow(*s);
    return;
  }
  auto it = holders_.find(ev.wd);
  if (it == holders_.end())
    return; // removed by its last holder; what was still queued for it is stale
  const std::size_t size = sizeof(inotify_event) + ev.len;
  for (subscription* s : it->second)
    append(*s, reinterpret_cast<const char*>(&ev), size);
  if (ev.mask & IN_IGNORED) {
    // The kernel dropped the watch (its directory is gone): nobody holds it any more.
    for (subscription* s : it->second)
      s->wds.erase(ev.wd);
    holders_.erase(it);
  }
}

void inotify_hub::append(subscription& s, const char* record, std::size_t size) {
  if (s.overflowed)
    return;
  if (s.events.size() + size > max_buffered_bytes_)
    return append_overflow(s);
  const bool was_empty = s.events.empty();
  s.events.append(record, size);
  if (was_empty && s.notify)
    asio::post(io_, s.notify);
}

void inotify_hub::append_overflow(subscription& s) {
  // Every event read since the kernel queue was last empty happened after that moment; the
  // ones lost (here or in the kernel) are among them.
  if (!s.overflowed || before(last_empty_, s.overflow_since))
    s.overflow_since = last_empty_;
  if (s.overflowed)
    return;
  s.overflowed = true;
  inotify_event ev{};
  ev.wd = -1;
  ev.mask = IN_Q_OVERFLOW;
  const bool was_empty = s.events.empty();
  s.events.append(reinterpret_cast<const char*>(&ev), sizeof ev);
  if (was_empty && s.notify)
    asio::post(io_, s.notify);
}

} // namespace agentrt::runtime::artifacts

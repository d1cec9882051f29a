// Writer thread and bounded queue of the log (see async_writer.hpp).
#include "log/async_writer.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace agentrt::runtime::log {

async_writer::async_writer(int fd, std::size_t capacity,
                           std::function<std::string(std::uint64_t)> notice,
                           std::function<void()> tick, std::chrono::milliseconds tick_interval)
    : fd_(fd), capacity_(capacity), notice_(std::move(notice)), tick_(std::move(tick)),
      tick_interval_(tick_interval), thread_([this] { run(); }) {}

async_writer::~async_writer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool async_writer::push(std::string_view text, std::uint64_t lines) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.size() + in_flight_ + text.size() > capacity_) {
      dropped_ += lines;
      dropped_total_ += lines;
      return false;
    }
    queue_.append(text);
    ++pushed_;
  }
  wake_.notify_one();
  return true;
}

bool async_writer::flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  const std::uint64_t target = pushed_;
  // Also the notice of lines dropped so far, once it is due.
  return written_.wait_for(lock, timeout, [&] {
    return completed_ >= target && in_flight_ == 0 && (dropped_ == 0 || !notice_);
  });
}

std::uint64_t async_writer::dropped_total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_total_;
}

bool async_writer::write_all(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n >= 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // Someone made the shared file description non-blocking: wait instead of spinning.
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    return false; // EPIPE, EBADF, EIO...: nothing sensible left to do with a log line
  }
  return true;
}

void async_writer::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  auto next_tick = std::chrono::steady_clock::now() + tick_interval_;
  for (;;) {
    wake_.wait_until(lock, next_tick,
                     [&] { return stopping_ || !queue_.empty() || (dropped_ > 0 && notice_); });
    if (tick_ && std::chrono::steady_clock::now() >= next_tick) {
      lock.unlock();
      tick_();
      lock.lock();
      next_tick = std::chrono::steady_clock::now() + tick_interval_;
    }
    if (queue_.empty() && (dropped_ == 0 || !notice_)) {
      if (stopping_)
        return;
      continue;
    }
    std::string batch;
    batch.swap(queue_);
    const std::uint64_t upto = pushed_;
    in_flight_ = batch.size();
    // Room is about to come back: say what was lost, after what was queued before.
    if (dropped_ > 0 && notice_) {
      batch += notice_(dropped_);
      dropped_ = 0;
    }
    lock.unlock();
    write_all(batch);
    lock.lock();
    in_flight_ = 0;
    completed_ = upto;
    written_.notify_all();
  }
}

} // namespace agentrt::runtime::log

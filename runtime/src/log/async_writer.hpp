// The bounded buffer between the threads that log and the log's descriptor. With stderr a
// pipe that nobody reads, a write(2) blocks forever; done on the io thread, that froze the
// whole runtime (/health timed out after 1,500 bad frames). Callers now only append to a
// buffer under a mutex held for a copy; one writer thread owns the descriptor and is the only
// one that can block on it. When the buffer is full lines are dropped and counted, and a
// notice with the count is written once the writer makes progress again.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace agentrt::runtime::log {

class async_writer {
public:
  // notice(n): the line (with its newline) reporting n dropped lines. tick: called from the
  // writer thread about every tick_interval while it is not blocked, outside the writer's
  // lock; it may call push() (the logger reports expired repeat counts from there).
  async_writer(int fd, std::size_t capacity, std::function<std::string(std::uint64_t)> notice,
               std::function<void()> tick = {},
               std::chrono::milliseconds tick_interval = std::chrono::seconds(1));
  // Writes what is queued, then stops the thread: waits for the descriptor as long as that
  // takes. The logger never destroys its writer for that reason (a process exits with the
  // thread still blocked if it must); it flushes with a deadline instead.
  ~async_writer();
  async_writer(const async_writer&) = delete;
  async_writer& operator=(const async_writer&) = delete;

  // Queues text (one or more whole lines). Never waits for the descriptor: false, and the
  // lines counted as dropped, when it does not fit in what is left of the capacity (bytes
  // queued plus the batch being written).
  bool push(std::string_view text, std::uint64_t lines = 1);

  // Waits until everything queued so far has been written, and the notice of lines dropped
  // so far, for at most timeout.
  bool flush(std::chrono::milliseconds timeout);

  std::uint64_t dropped_total() const;
  std::size_t capacity() const noexcept { return capacity_; }

private:
  void run();
  // Writes all of data; false if the descriptor failed for good (the data is then lost).
  bool write_all(std::string_view data);

  const int fd_;
  const std::size_t capacity_;
  const std::function<std::string(std::uint64_t)> notice_;
  const std::function<void()> tick_;
  const std::chrono::milliseconds tick_interval_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;    // data queued, or stopping
  std::condition_variable written_; // a batch was written
  std::string queue_;
  std::size_t in_flight_ = 0;   // bytes of the batch being written
  std::uint64_t pushed_ = 0;    // batches of text accepted so far (flush's watermark)
  std::uint64_t completed_ = 0; // ... of which written (or lost to a broken descriptor)
  std::uint64_t dropped_ = 0;   // not yet reported
  std::uint64_t dropped_total_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace agentrt::runtime::log

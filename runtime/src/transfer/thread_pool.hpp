// A small fixed pool of worker threads for blocking local work that must not run on the
// io_context thread: archive extraction (libarchive) and file:// copies. Nothing on it waits on
// a peer — network transfers run on the transfer_engine — so a few threads cannot be starved.
// Results travel back to the io_context with asio::post.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

namespace agentrt::runtime::transfer {

class thread_pool {
public:
  // Throws std::system_error when a thread cannot be started (startup only).
  explicit thread_pool(std::size_t threads = 4);
  // Jobs still queued are dropped without running; running jobs are waited for, so owners
  // cancel their transfers first to keep shutdown short.
  ~thread_pool();
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  std::size_t size() const noexcept { return threads_.size(); }

  // Runs job on some worker. Jobs must not throw.
  void submit(std::function<void()> job);

  // Runs work() on a worker and then on_done(result) on io's thread. The io_context is kept
  // from running out of work meanwhile, so io.run() does not return before on_done.
  template <typename Work, typename Handler>
  void run(asio::io_context& io, Work work, Handler on_done) {
    submit([guard = asio::make_work_guard(io), work = std::move(work),
            on_done = std::move(on_done)]() mutable {
      auto result = work();
      asio::post(guard.get_executor(),
                 [result = std::move(result), on_done = std::move(on_done)]() mutable {
                   on_done(std::move(result));
                 });
      guard.reset();
    });
  }

private:
  void worker();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace agentrt::runtime::transfer

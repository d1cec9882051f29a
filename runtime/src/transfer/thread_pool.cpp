// Worker loop of the transfer thread pool.
#include "transfer/thread_pool.hpp"

namespace agentrt::runtime::transfer {

thread_pool::thread_pool(std::size_t threads) {
  if (threads == 0)
    threads = 1;
  threads_.reserve(threads);
  try {
    for (std::size_t i = 0; i < threads; ++i)
      threads_.emplace_back([this] { worker(); });
  } catch (...) {
    // Threads already started would otherwise hit std::terminate in ~thread.
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_)
      t.join();
    throw;
  }
}

thread_pool::~thread_pool() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    dropped.swap(jobs_);
  }
  wake_.notify_all();
  for (auto& t : threads_)
    t.join();
  // dropped goes out of scope here, outside the lock: destroying a job may release resources
  // (work guards, handlers) whose destructors must not run under our mutex.
}

void thread_pool::submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_)
      return;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void thread_pool::worker() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_)
        return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

} // namespace agentrt::runtime::transfer

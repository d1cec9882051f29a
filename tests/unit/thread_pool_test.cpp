// thread_pool with real threads: jobs run on its workers and their results come back on the
// io_context's thread, all workers run at once, a pool of zero is a pool of one, and
// destruction waits for running jobs but drops (and releases) queued ones.
#include "transfer/thread_pool.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <asio/io_context.hpp>
#include <gtest/gtest.h>

namespace {

namespace tr = agentrt::runtime::transfer;
using namespace std::chrono_literals;

// A one-shot gate: wait() returns once open() was called, or false after 10 s.
class gate {
public:
  void open() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, 10s, [this] { return open_; });
  }

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST(ThreadPool, WorkRunsOnAWorkerAndItsResultOnTheIoThread) {
  tr::thread_pool pool(2);
  asio::io_context io;
  const auto io_thread = std::this_thread::get_id();
  std::vector<std::thread::id> work_threads(8);
  std::vector<std::thread::id> done_threads;
  std::vector<int> results;
  for (int i = 0; i < 8; ++i) {
    pool.run(
        io,
        [i, &work_threads] {
          work_threads[static_cast<std::size_t>(i)] = std::this_thread::get_id();
          return i * i;
        },
        [&](int r) {
          done_threads.push_back(std::this_thread::get_id());
          results.push_back(r);
        });
  }
  // No other work is queued on io: run() returns only because the pool's work guards kept it
  // alive until every handler ran.
  io.run();
  ASSERT_EQ(results.size(), 8u);
  std::set<int> got(results.begin(), results.end());
  EXPECT_EQ(got, (std::set<int>{0, 1, 4, 9, 16, 25, 36, 49}));
  for (const auto& id : done_threads)
    EXPECT_EQ(id, io_thread);
  std::set<std::thread::id> workers(work_threads.begin(), work_threads.end());
  EXPECT_EQ(workers.count(io_thread), 0u);
  EXPECT_LE(workers.size(), 2u);
}

TEST(ThreadPool, AllWorkersRunAtOnce) {
  // Each job waits until all four started: with fewer than four concurrent workers the
  // gate would never open.
  tr::thread_pool pool(4);
  ASSERT_EQ(pool.size(), 4u);
  std::mutex mutex;
  std::condition_variable cv;
  int started = 0;
  std::atomic<int> saw_all{0};
  for (int i = 0; i < 4; ++i) {
    pool.submit([&] {
      std::unique_lock<std::mutex> lock(mutex);
      ++started;
      cv.notify_all();
      if (cv.wait_for(lock, 10s, [&] { return started == 4; }))
        ++saw_all;
    });
  }
  std::unique_lock<std::mutex> lock(mutex);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return started == 4; }));
  lock.unlock();
  // The destructor at the end of the test joins the jobs; wait for them here to check them.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (saw_all.load() < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(saw_all.load(), 4);
}

TEST(ThreadPool, ZeroThreadsMeansOne) {
  tr::thread_pool pool(0);
  EXPECT_EQ(pool.size(), 1u);
  gate ran;
  pool.submit([&] { ran.open(); });
  EXPECT_TRUE(ran.wait());
}

TEST(ThreadPool, DestructionWaitsForRunningJobsAndDropsQueuedOnes) {
  gate running, release;
  std::atomic<bool> first_finished{false};
  std::atomic<bool> queued_ran{false};
  auto token = std::make_shared<int>(0); // held only by the queued job
  std::weak_ptr<int> queued_job_state = token;
  std::thread releaser;
  {
    tr::thread_pool pool(1);
    pool.submit([&] {
      running.open();
      release.wait();
      std::this_thread::sleep_for(50ms); // still running when the destructor starts waiting
      first_finished = true;
    });
    pool.submit([&queued_ran, token = std::move(token)] { queued_ran = true; });
    ASSERT_TRUE(running.wait());
    releaser = std::thread([&] {
      std::this_thread::sleep_for(100ms);
      release.open();
    });
  } // ~thread_pool while the first job runs and the second is queued
  releaser.join();
  EXPECT_TRUE(first_finished.load());      // waited for
  EXPECT_FALSE(queued_ran.load());         // dropped
  EXPECT_TRUE(queued_job_state.expired()); // and destroyed, releasing what it held
}

} // namespace

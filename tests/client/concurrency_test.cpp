// 1,000 sessions driven at once from one io_loop (one I/O thread) against one runtime.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "agentrt/client/client.hpp"
#include "support/runtime_process.hpp"

namespace agentrt::client {
namespace {

TEST(ClientConcurrency, ThousandSessionsOnOneIoThread) {
  // Both ends need about one descriptor per session (plus the runtime's pipes per command).
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 8192);
  setrlimit(RLIMIT_NOFILE, &lim); // inherited by the runtime started below
  if (lim.rlim_cur < 2500)
    GTEST_SKIP() << "RLIMIT_NOFILE hard limit too low: " << lim.rlim_max;

  constexpr int sessions = 1000;
  test::runtime_process rt;
  io_loop loop;
  std::mutex mutex;
  std::condition_variable cv;
  int finished = 0;
  std::vector<std::string> failures;
  std::vector<std::shared_ptr<async_session>> keep(sessions);

  const auto done = [&](int i, std::string failure) {
    std::lock_guard lock(mutex);
    if (!failure.empty())
      failures.push_back(std::to_string(i) + ": " + failure);
    keep[i].reset();
    ++finished;
    cv.notify_all();
  };
  for (int i = 0; i < sessions; ++i) {
    connect_options c{rt.url()};
    c.connect_timeout = std::chrono::seconds(60);
    async_session::connect(loop, c, [&, i](std::shared_ptr<async_session> s, client_error e) {
      if (e)
        return done(i, "connect: " + e.message);
      keep[i] = s;
      protocol::command echo;
      echo.command = "echo session-" + std::to_string(i);
      s->execute_commands({echo}, {}, [&, i, s](execute_result r, client_error e2) {
        if (e2)
          return done(i, "execute: " + e2.message);
        if (r.results.size() != 1 ||
            r.results[0].stdout_text.value_or("") != "session-" + std::to_string(i) + "\n")
          return done(i, "wrong output");
        s->end([&, i](client_error e3) { done(i, e3 ? "end: " + e3.message : ""); });
      });
    });
  }
  std::unique_lock lock(mutex);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(240), [&] { return finished == sessions; }))
      << finished << " of " << sessions << " finished";
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
}

} // namespace
} // namespace agentrt::client

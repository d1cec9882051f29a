// 200 clients at once against one runtime, each streaming output of its own, every byte of
// stdout and stderr checked against what that client's command must print, in order, with the
// result's stdout too. Driven by the client library: one io_loop, 200 async sessions.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "agentrt/client/client.hpp"
#include "support/process_usage.hpp"
#include "support/runtime_fault_fixture.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;
namespace ac = agentrt::client;

constexpr int clients = 200;
#ifdef AGENTRT_SANITIZED
constexpr int stdout_lines = 1000; // ~60 KB per client: ASan makes every byte dearer
#else
constexpr int stdout_lines = 4000; // ~240 KB per client, ~48 MB in all
#endif
constexpr int stderr_lines = 500;

std::string six_digits(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06d", i);
  return buf;
}

// What client k's command prints: lines that name the client and their own number, so that
// a chunk delivered to the wrong session, dropped, repeated or reordered changes the text.
std::string expected_stdout(int k) {
  std::string s;
  for (int i = 1; i <= stdout_lines; ++i)
    s += "client-" + std::to_string(k) + "-line-" + six_digits(i) + "-abcdefghijklmnopqrstuvwxyz\n";
  return s;
}
std::string expected_stderr(int k) {
  std::string s;
  for (int i = 1; i <= stderr_lines; ++i)
    s += "err-" + std::to_string(k) + "-" + six_digits(i) + "\n";
  return s;
}
// Every command first reads one line from the go FIFO, so that all of them stream at once.
std::string command_for(int k, const std::string& go) {
  const std::string id = std::to_string(k);
  return "read go < " + go + " && seq -f 'client-" + id +
         "-line-%06g-abcdefghijklmnopqrstuvwxyz' 1 " + std::to_string(stdout_lines) +
         " && seq -f 'err-" + id + "-%06g' 1 " + std::to_string(stderr_lines) + " >&2";
}

class Load : public runtime_fault_fixture {};

TEST_F(Load, TwoHundredClientsStreamingAtOnceEveryByteChecked) {
  // Each session costs the runtime a socket and three pipes; both ends share the limit.
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 8192);
  setrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < 2 * 4 * clients)
    GTEST_SKIP() << "RLIMIT_NOFILE too low: " << lim.rlim_cur;

  start_runtime();
  {
    auto warm = connect();
    ASSERT_TRUE(warm);
    expect_usable(*warm);
  }
  take_baseline();

  struct client_state {
    std::shared_ptr<ac::async_session> session;
    std::string out, err;
    std::size_t chunks = 0;
    bool wrong_command = false;
    std::string failure;
    bool done = false;
  };
  ac::io_loop loop; // before the sessions: they must be gone when it is destroyed
  std::vector<client_state> state(clients);
  std::mutex mutex;
  std::condition_variable cv;
  int connected = 0;
  int finished = 0;

  const auto finish = [&](int k, std::string failure) {
    std::lock_guard lock(mutex);
    state[k].failure = std::move(failure);
    state[k].done = true;
    state[k].session.reset();
    ++finished;
    cv.notify_all();
  };

  // All connect first, so that the commands really run at the same time.
  const auto t_connect = std::chrono::steady_clock::now();
  for (int k = 0; k < clients; ++k) {
    ac::connect_options o{rt().url()};
    o.connect_timeout = 60s;
    ac::async_session::connect(loop, o,
                               [&, k](std::shared_ptr<ac::async_session> s, ac::client_error e) {
                                 std::lock_guard lock(mutex);
                                 if (e)
                                   state[k].failure = "connect: " + e.message;
                                 state[k].session = std::move(s);
                                 ++connected;
                                 cv.notify_all();
                               });
  }
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, 120s, [&] { return connected == clients; }))
        << connected << " of " << clients << " connected";
  }
  const double connect_secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_connect).count();
  for (int k = 0; k < clients; ++k)
    ASSERT_TRUE(state[k].session) << k << ": " << state[k].failure;

  std::atomic<long> rss_peak{rss_kib(rt().pid())};
  std::atomic<int> fds_peak{0};
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling) {
      rss_peak = std::max<long>(rss_peak, rss_kib(rt().pid()));
      fds_peak = std::max(fds_peak.load(), resources_of(rt().pid()).fds);
      std::this_thread::sleep_for(20ms);
    }
  });
  // Joined on every way out, a failed assertion included.
  struct joiner {
    std::atomic<bool>& flag;
    std::thread& thread;
    ~joiner() {
      flag = false;
      if (thread.joinable())
        thread.join();
    }
  } join_sampler{sampling, sampler};

  // The test holds the FIFO open for writing from the start, so that a command that gets to
  // its read late still finds its line waiting (and none ever blocks in open()).
  struct fifo {
    std::string dir = make_temp_dir("agentrt-load-");
    std::string path = dir + "/go";
    int fd = -1;
    fifo() {
      if (::mkfifo(path.c_str(), 0600) == 0)
        fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    }
    ~fifo() {
      if (fd >= 0)
        ::close(fd);
      ::unlink(path.c_str());
      ::rmdir(dir.c_str());
    }
  } go_fifo;
  ASSERT_GE(go_fifo.fd, 0) << std::strerror(errno);
  const std::string& go = go_fifo.path;
  for (int k = 0; k < clients; ++k) {
    auto s = state[k].session;
    p::command cmd;
    cmd.command = command_for(k, go);
    ac::execute_options o;
    // Runs on the loop thread, one session at a time: no lock needed for state[k]'s text.
    o.on_command_output = [&, k,
                           expected_command = cmd.command](const p::command_output_message& m) {
      auto& st = state[k];
      ++st.chunks;
      if (m.command != expected_command)
        st.wrong_command = true;
      (m.stream == "stderr" ? st.err : st.out) += m.text;
    };
    s->execute_commands({cmd}, o, [&, k, s](ac::execute_result r, ac::client_error e) {
      if (e)
        return finish(k, "execute: " + e.message);
      if (r.results.size() != 1)
        return finish(k, "results: " + std::to_string(r.results.size()));
      if (r.results[0].exit_code != 0)
        return finish(k, "exit code " + std::to_string(r.results[0].exit_code));
      if (r.results[0].stdout_text.value_or("") != expected_stdout(k))
        return finish(k, "the result's stdout differs");
      s->end([&, k](ac::client_error e2) { finish(k, e2 ? "end: " + e2.message : ""); });
    });
  }
  // All 200 requests in flight at once before any output flows.
  std::string health;
  ASSERT_TRUE(wait_until(
      [&] {
        health = http_get(rt().port(), "/health").second;
        return health.find("\"requests_in_flight\":" + std::to_string(clients)) !=
               std::string::npos;
      },
      120s))
      << health;
  const double runtime_cpu0 = cpu_seconds(rt().pid());
  const double client_cpu0 = cpu_seconds(::getpid());
  const auto t0 = std::chrono::steady_clock::now();
  const std::string lines(clients, '\n'); // one each; dash's read takes a byte at a time
  ASSERT_EQ(::write(go_fifo.fd, lines.data(), lines.size()), static_cast<ssize_t>(lines.size()));
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, 240s, [&] { return finished == clients; }))
        << finished << " of " << clients << " finished";
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double runtime_cpu = cpu_seconds(rt().pid()) - runtime_cpu0;
  const double client_cpu = cpu_seconds(::getpid()) - client_cpu0;
  sampling = false;
  sampler.join(); // before the figures below read the peaks

  int failures = 0;
  std::size_t bytes = 0;
  std::string first_failure;
  auto fail = [&](int k, const std::string& why) {
    if (failures++ == 0)
      first_failure = "client " + std::to_string(k) + ": " + why;
  };
  for (int k = 0; k < clients; ++k) {
    const auto& st = state[k];
    bytes += st.out.size() + st.err.size();
    if (!st.failure.empty())
      fail(k, st.failure);
    else if (st.wrong_command)
      fail(k, "a chunk named another command");
    else if (st.out != expected_stdout(k))
      fail(k, "streamed stdout differs (" + std::to_string(st.out.size()) + " bytes)");
    else if (st.err != expected_stderr(k))
      fail(k, "streamed stderr differs (" + std::to_string(st.err.size()) + " bytes)");
  }
  EXPECT_EQ(failures, 0) << first_failure;

  std::size_t chunks = 0;
  for (const auto& st : state)
    chunks += st.chunks;
  std::printf(
      "[ figures  ] %d clients: connected in %.2f s; streamed %.1f MB in %.2f s (%.1f MB/s); "
      "%zu output messages, all %d requests in flight when released; runtime peak RSS %ld KiB, "
      "peak fds %d; CPU: runtime "
      "%.2f s, test client %.2f s\n",
      clients, connect_secs, bytes / 1e6, secs, bytes / 1e6 / secs, chunks, clients,
      rss_peak.load(), fds_peak.load(), runtime_cpu, client_cpu);
  expect_recovered(30s);
}

} // namespace
} // namespace agentrt::test

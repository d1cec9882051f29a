// The runtime out of file descriptors (EMFILE): websocketpp's accept loop re-armed at once after
// each failed accept, so with connections waiting in the backlog it spun at ~100% CPU, and the
// legitimate clients behind them struggled. Now accepting backs off (50 ms doubling to 1 s)
// and resumes as soon as descriptors are free again.
#include <sys/resource.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agentrt/protocol/codec.hpp"
#include "support/process_usage.hpp"
#include "support/protocol_helpers.hpp"
#include "support/raw_ws_socket.hpp"
#include "support/runtime_fault_fixture.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;

class DescriptorLimit : public runtime_fault_fixture {};

TEST_F(DescriptorLimit, AcceptBacksOffAndServesClientsOnceDescriptorsAreFree) {
  start_runtime();
  {
    auto warm = connect();
    ASSERT_TRUE(warm);
    expect_usable(*warm);
  }
  take_baseline();
  constexpr rlim_t limit = 64;
  const rlimit lim{limit, limit};
  ASSERT_EQ(::prlimit(rt().pid(), RLIMIT_NOFILE, &lim, nullptr), 0) << std::strerror(errno);

  // Twice as many idle connections as the runtime can hold: the rest wait in the backlog.
  constexpr int idle_count = 2 * static_cast<int>(limit);
  std::vector<raw_ws_socket> idle(idle_count);
  const std::string upgrade = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Key: "
                              "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  for (auto& s : idle) {
    ASSERT_TRUE(s.connect(rt().port()));
    s.send_all(upgrade, 2s);
  }
  std::this_thread::sleep_for(1s);
  const auto held = resources_of(rt().pid());
  const double cpu0 = cpu_seconds(rt().pid());
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(3s);
  const double cpu = cpu_seconds(rt().pid()) - cpu0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ figures  ] RLIMIT_NOFILE %d, %d idle connections: runtime holds %d descriptors, "
              "%d threads; used %.2f s of CPU in %.2f s while out of descriptors (%.0f%%)\n",
              static_cast<int>(limit), idle_count, held.fds, held.threads, cpu, wall,
              100.0 * cpu / wall);
  EXPECT_GE(held.fds, static_cast<int>(limit) - 2) << "the limit was not reached";
  EXPECT_LT(cpu / wall, 0.1) << "the accept loop spins";
  EXPECT_TRUE(rt().running());

  // Legitimate clients arrive, wait in the backlog, and get through once the others leave.
  constexpr int clients = 7;
  std::atomic<int> served{0};
  std::vector<std::string> failures(clients);
  std::vector<std::thread> threads;
  const auto legit_t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      auto r = ws_test_client::connect(rt().url(), {}, 30s);
      if (!r.client) {
        failures[i] = "connect: " + r.error;
        return;
      }
      r.client->send(exec_request({"echo served-" + std::to_string(i)}));
      const auto msgs = r.client->receive_until_terminal(30s);
      if (!msgs.empty() && as<p::command_execution_result_message>(msgs.back()) &&
          joined_output(msgs, "stdout") == "served-" + std::to_string(i) + "\n") {
        ++served;
      } else {
        failures[i] = msgs.empty() ? "no answer" : p::encode(msgs.back()).substr(0, 200);
      }
    });
  }
  std::this_thread::sleep_for(1s);
  idle.clear();
  for (auto& t : threads)
    t.join();
  const double legit_secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - legit_t0).count();
  std::printf("[ figures  ] %d of %d legitimate clients served within %.2f s once the idle "
              "connections left\n",
              served.load(), clients, legit_secs);
  EXPECT_EQ(served.load(), clients);
  for (int i = 0; i < clients; ++i)
    EXPECT_EQ(failures[i], "") << "client " << i;
  process_resources now;
  wait_idle();
  wait_resources_at_most(rt().pid(), baseline_, 10s, now);
  std::printf("[ figures  ] descriptors and threads: %s\n",
              describe_change(baseline_, now).c_str());
  expect_recovered();
}

} // namespace
} // namespace agentrt::test

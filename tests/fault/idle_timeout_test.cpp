// --session-idle-timeout: a session with nothing in flight and no traffic either way for that
// long is closed with 1001, freeing its descriptor; one with a request in flight is not, however
// quiet the request is.
#include <chrono>
#include <cstdio>

#include <gtest/gtest.h>

#include "agentrt/protocol/codec.hpp"
#include "support/protocol_helpers.hpp"
#include "support/runtime_fault_fixture.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;

class SessionIdleTimeout : public runtime_fault_fixture {
protected:
  void SetUp() override {
    start_runtime({"--session-idle-timeout", "1"});
    take_baseline();
  }
};

TEST_F(SessionIdleTimeout, AnIdleSessionIsClosedWith1001) {
  auto c = connect();
  ASSERT_TRUE(c);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c->wait_closed(15s)) << "an idle session was kept open";
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(c->close_code(), 1001);
  EXPECT_GE(secs, 0.9);
  std::printf("[ figures  ] idle session closed with %d after %.2f s (timeout 1 s)\n",
              c->close_code(), secs);
  EXPECT_NE(rt().log_with("--session-idle-timeout").find("--session-idle-timeout"),
            std::string::npos);
  c.reset();
  expect_recovered();
}

TEST_F(SessionIdleTimeout, TrafficAndRequestsInFlightKeepASessionOpen) {
  auto c = connect();
  ASSERT_TRUE(c);
  // A request that is silent for 3 s (no output; heartbeats every 15 s by default).
  c->send(exec_request({"sleep 3; echo done"}));
  const auto msgs = c->receive_until_terminal(30s);
  ASSERT_FALSE(msgs.empty());
  const auto* res = as<p::command_execution_result_message>(msgs.back());
  ASSERT_NE(res, nullptr) << p::encode(msgs.back()).substr(0, 300);
  EXPECT_EQ(joined_output(msgs, "stdout"), "done\n");
  EXPECT_FALSE(c->closed());
  // Requests one after the other, each well within the timeout of the one before.
  for (int i = 0; i < 4; ++i) {
    c->send(exec_request({"sleep 0.5"}));
    ASSERT_FALSE(c->receive_until_terminal(30s).empty());
    EXPECT_FALSE(c->closed()) << "closed between requests " << i;
  }
  // Then idle: closed.
  ASSERT_TRUE(c->wait_closed(15s));
  EXPECT_EQ(c->close_code(), 1001);
  c.reset();
  expect_recovered();
}

} // namespace
} // namespace agentrt::test

// The listener in-process, without the binary: it binds (port 0 picks one), refuses a port that
// is taken with the bind's error, serves a WebSocket session that runs a command, and shuts
// down by closing that session with 1001 before it calls on_done.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <future>
#include <thread>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include "agentrt/protocol/messages.hpp"
#include "config/options.hpp"
#include "harness/harness.hpp"
#include "process/process_reaper.hpp"
#include "server/listener.hpp"
#include "support/protocol_helpers.hpp"
#include "support/ws_test_client.hpp"

namespace agentrt::runtime::server {
namespace {

using namespace std::chrono_literals;

// A listener on 127.0.0.1 with its own io_context on a thread, as main() runs it.
class ListenerInProcess : public ::testing::Test {
protected:
  void SetUp() override {
    opts_.host = "127.0.0.1";
    opts_.port = 0;
    auto chosen = harness::make_harness(harness::harness_config{});
    ASSERT_TRUE(chosen.ok()) << chosen.error().message();
    harness_ = std::move(chosen.value().chosen);
  }

  void TearDown() override { stop_io(); }

  // Before a listener the io thread serves goes out of scope.
  void stop_io() {
    if (thread_.joinable()) {
      io_.stop();
      thread_.join();
    }
  }

  void run_io() {
    thread_ = std::thread([this] { io_.run(); });
  }

  // shutdown() on the io thread; true once on_done was called.
  bool shut_down(listener& l, std::chrono::seconds timeout = 15s) {
    std::promise<void> done;
    asio::post(io_, [&] { l.shutdown([&done] { done.set_value(); }); });
    return done.get_future().wait_for(timeout) == std::future_status::ready;
  }

  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  config::options opts_;
  process::process_reaper reaper_{io_};
  std::unique_ptr<harness::harness> harness_;
  std::thread thread_;
};

TEST_F(ListenerInProcess, PortZeroBindsAFreePortAndATakenOneIsRefused) {
  listener first(io_, opts_, reaper_, *harness_);
  ASSERT_FALSE(first.start());
  ASSERT_NE(first.port(), 0);

  config::options taken = opts_;
  taken.port = first.port();
  listener second(io_, taken, reaper_, *harness_);
  const std::error_code ec = second.start();
  // The bind's errno, in Asio's system category.
  EXPECT_TRUE(ec);
  EXPECT_EQ(ec.value(), EADDRINUSE) << ec.message();

  run_io();
  EXPECT_TRUE(shut_down(first));
  stop_io();
}

TEST_F(ListenerInProcess, ServesASessionAndClosesItWith1001OnShutdown) {
  listener l(io_, opts_, reaper_, *harness_);
  ASSERT_FALSE(l.start());
  run_io();

  auto connected =
      test::ws_test_client::connect("ws://127.0.0.1:" + std::to_string(l.port()) + "/");
  ASSERT_TRUE(connected.client) << connected.error;
  auto& c = *connected.client;
  c.send(test::exec_request({"echo in-process"}));
  const auto msgs = c.receive_until_terminal();
  ASSERT_FALSE(msgs.empty());
  const auto* result = test::as<protocol::command_execution_result_message>(msgs.back());
  ASSERT_NE(result, nullptr);
  EXPECT_EQ(result->results.at(0).exit_code, 0);

  EXPECT_TRUE(shut_down(l)) << "on_done was not called";
  ASSERT_TRUE(c.wait_closed(10s));
  EXPECT_EQ(c.close_code(), 1001);
  stop_io();
}

} // namespace
} // namespace agentrt::runtime::server

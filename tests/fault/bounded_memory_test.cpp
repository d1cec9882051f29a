// Memory the runtime must not let a client make it hold: answers to a client that sends and
// never reads (bad frames; a handler printing assistant messages), frames declared big and sent
// half-way on many connections at once, and bad input quoted back whole. Each test prints the
// runtime's peak RSS and bounds it generously (the old runtime went to gigabytes).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>

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

#ifdef AGENTRT_SANITIZED
constexpr long rss_bound_kib = 400 * 1024; // ASan's shadow memory and quarantine come on top
constexpr long rss_growth_bound_kib = 160 * 1024;
#else
constexpr long rss_bound_kib = 200 * 1024;
constexpr long rss_growth_bound_kib = 64 * 1024;
#endif

class BoundedMemory : public runtime_fault_fixture {
protected:
  void start(std::vector<std::string> args = {}) {
    start_runtime(std::move(args));
    {
      auto warm = connect();
      ASSERT_TRUE(warm);
      expect_usable(*warm);
    }
    take_baseline();
  }
};

TEST_F(BoundedMemory, BadFramesFromAClientThatNeverReads) {
  start();
  const long rss_before = rss_kib(rt().pid());
  raw_ws_socket s;
  ASSERT_TRUE(s.connect(rt().port()));
  ASSERT_TRUE(s.upgrade());
  // A million one-byte text frames, each answered with an error_message of ~150 bytes (the
  // old runtime queued every answer: ~500 MiB for these).
  constexpr std::size_t frames = 1'000'000;
  const std::string one = raw_ws_socket::client_frame(raw_ws_socket::op_text, "x");
  std::string all;
  all.reserve(one.size() * frames);
  for (std::size_t i = 0; i < frames; ++i)
    all += one;

  peak_rss_sampler peak(rt().pid());
  std::string_view left = all;
  auto last_progress = std::chrono::steady_clock::now();
  const auto t0 = last_progress;
  while (!left.empty() && std::chrono::steady_clock::now() - last_progress < 3s &&
         std::chrono::steady_clock::now() - t0 < 60s) {
    const ssize_t n = s.send_some(left);
    ASSERT_GE(n, 0) << "the runtime dropped the connection";
    if (n > 0) {
      left.remove_prefix(static_cast<std::size_t>(n));
      last_progress = std::chrono::steady_clock::now();
    } else {
      std::this_thread::sleep_for(5ms);
    }
  }
  std::this_thread::sleep_for(1s); // whatever it still reads and answers
  peak.stop();
  const std::size_t sent = (all.size() - left.size()) / one.size();
  std::printf("[ figures  ] %zu of %zu bad frames taken by a runtime whose client never reads "
              "(the rest blocked); runtime RSS %ld KiB before, peak %ld KiB\n",
              sent, frames, rss_before, peak.peak_kib());
  EXPECT_LT(peak.peak_kib(), rss_bound_kib);
  EXPECT_TRUE(rt().running());
  s.close();
  expect_recovered();
}

TEST_F(BoundedMemory, HandlerFloodingAssistantMessagesToAClientThatNeverReads) {
  const std::string dir = make_temp_dir("agentrt-flood-");
  const std::string handler = dir + "/handler.sh";
  {
    // Each line is an assistant message of ~1 KB; `yes` prints them as fast as the pipe takes.
    std::ofstream h(handler);
    h << "#!/bin/sh\n"
         "read line\n"
         "case \"$line\" in *warm-up*)\n"
         "  printf '%s\\n' '{\"type\":\"result\",\"data\":{\"type\":\"text\",\"text\":\"warm\"}}'\n"
         "  exit 0;;\n"
         "esac\n"
         "exec yes '{\"type\":\"assistant\",\"text_blocks\":[\""
      << std::string(1000, 'a') << "\"]}'\n";
  }
  ASSERT_EQ(::chmod(handler.c_str(), 0755), 0);
  start_runtime({"--handler", handler, "--kill-grace", "1"});
  {
    auto warm = connect();
    ASSERT_TRUE(warm);
    warm->send(invocation_request("warm-up"));
    const auto msgs = warm->receive_until_terminal();
    ASSERT_FALSE(msgs.empty());
    ASSERT_NE(as<p::result_message>(msgs.back()), nullptr) << p::encode(msgs.back());
  }
  take_baseline();
  const long rss_before = rss_kib(rt().pid());

  auto c = connect();
  ASSERT_TRUE(c);
  c->pause_reading();
  peak_rss_sampler peak(rt().pid());
  c->send(invocation_request("flood"));
  std::this_thread::sleep_for(5s);
  const long rss_paused = rss_kib(rt().pid());
  std::this_thread::sleep_for(1s);
  const long rss_later = rss_kib(rt().pid());
  peak.stop();
  std::printf("[ figures  ] handler printing assistant messages to a client that never reads: "
              "runtime RSS %ld KiB before, %ld after 5 s, %ld after 6 s, peak %ld\n",
              rss_before, rss_paused, rss_later, peak.peak_kib());
  // The send bound is 4 MiB; the growth bound leaves room for allocator slack (the old
  // runtime grew by ~25 MiB a second here, without end).
  EXPECT_LT(peak.peak_kib() - rss_before, rss_growth_bound_kib);
  EXPECT_LE(rss_later, rss_paused + 8 * 1024) << "still growing while the client reads nothing";

  // Cancel still works, and what was queued arrives before the terminal.
  c->send(p::cancel_message{});
  c->resume_reading();
  const auto msgs = c->receive_until_terminal(60s);
  ASSERT_FALSE(msgs.empty());
  const auto* e = as<p::error_message>(msgs.back());
  ASSERT_NE(e, nullptr) << p::encode(msgs.back()).substr(0, 300);
  EXPECT_EQ(e->error, "Request cancelled");
  EXPECT_GT(count_of<p::assistant_message>(msgs), 100u);
  std::printf("[ figures  ] %zu assistant messages queued before the cancel were delivered\n",
              count_of<p::assistant_message>(msgs));
  c.reset();
  expect_recovered();
}

TEST_F(BoundedMemory, BigFramesSentHalfWayOnManyConnections) {
  // Four 8 MiB frames fit the budget (the first 64 KiB of a frame are never refused).
  constexpr std::size_t budget = 32u << 20;
  start({"--max-pending-frame-bytes", std::to_string(budget)});
  const long rss_before = rss_kib(rt().pid());
  constexpr int connections = 100;
  constexpr std::size_t declared = 8u << 20;
  constexpr std::size_t half = declared / 2;
  std::vector<raw_ws_socket> socks(connections);
  for (auto& s : socks) {
    ASSERT_TRUE(s.connect(rt().port()));
    ASSERT_TRUE(s.upgrade());
  }
  const std::string header = raw_ws_socket::client_frame_header(raw_ws_socket::op_text, declared);
  const std::string body =
      "{\"message_type\":\"command_execution_message\",\"x\":\"" + std::string(half, 'a');
  std::vector<std::size_t> sent(connections, 0);
  peak_rss_sampler peak(rt().pid());
  for (int i = 0; i < connections; ++i)
    ASSERT_TRUE(socks[i].send_all(header, 5s));
  // Round robin until every connection sent its half or has been stuck for a while.
  const std::string total = body.substr(0, half);
  auto last_progress = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - last_progress < 2s) {
    bool progress = false;
    for (int i = 0; i < connections; ++i) {
      if (sent[i] == total.size())
        continue;
      const ssize_t n = socks[i].send_some(std::string_view(total).substr(sent[i], 256 * 1024));
      if (n > 0) {
        sent[i] += static_cast<std::size_t>(n);
        progress = true;
      }
    }
    if (progress)
      last_progress = std::chrono::steady_clock::now();
    else
      std::this_thread::sleep_for(10ms);
  }
  std::this_thread::sleep_for(500ms);
  peak.stop();
  int refused = 0;
  int complete = 0;
  for (int i = 0; i < connections; ++i) {
    complete += sent[i] == total.size() ? 1 : 0;
    while (socks[i].read_some(0ms) > 0) {
    }
    while (auto f = socks[i].next_frame()) {
      if (raw_ws_socket::close_code(*f) == 1013)
        ++refused;
    }
  }
  std::printf("[ figures  ] %d connections each half-way through an %zu-byte frame "
              "(--max-pending-frame-bytes %zu): %d sent their half, %d refused with 1013; "
              "runtime RSS %ld KiB before, peak %ld KiB\n",
              connections, declared, budget, complete, refused, rss_before, peak.peak_kib());
  EXPECT_LT(peak.peak_kib(), rss_bound_kib);
  EXPECT_GT(refused, 0);
  EXPECT_LE(connections - refused, static_cast<int>(budget / declared));
  socks.clear();
  expect_recovered();
}

TEST_F(BoundedMemory, BadInputIsQuotedShort) {
  start();
  auto c = connect();
  ASSERT_TRUE(c);
  const std::string huge(1'000'000, 'x');
  const std::vector<std::pair<std::string, std::string>> frames = {
      {"{\"message_type\":\"" + huge + "\"}", "unknown message_type"},
      {R"({"message_type":"command_output_message","command":"c","text":"t","stream":")" + huge +
           "\"}",
       "stream: expected"},
      {R"({"message_type":"command_execution_message","commands":[{"command":"true","env":{")" +
           huge + "\":1}}]}",
       "commands[0].env."},
  };
  for (const auto& [frame, expected] : frames) {
    c->send_text(frame);
    const auto reply = c->receive_frame(30s);
    ASSERT_TRUE(reply);
    std::printf("[ figures  ] a %zu-byte bad frame got a %zu-byte answer\n", frame.size(),
                reply->size());
    EXPECT_LT(reply->size(), 2048u) << reply->substr(0, 300);
    EXPECT_NE(reply->find(expected), std::string::npos) << reply->substr(0, 300);
    // Quoted as a 200-byte prefix, "…", and the size (1000000, or 1000002 with JSON quotes).
    EXPECT_NE(reply->find("\xE2\x80\xA6 (100000"), std::string::npos) << reply->substr(0, 600);
  }
  const std::string log = rt().log();
  EXPECT_EQ(log.find(std::string(1000, 'x')), std::string::npos)
      << "bad input logged whole (log of " << log.size() << " bytes)";
  expect_usable(*c);
}

} // namespace
} // namespace agentrt::test

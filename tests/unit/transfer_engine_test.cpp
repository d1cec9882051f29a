// transfer_engine (the one curl thread behind every transfer) and curl_handle's slist_handle
// against the real HTTP server of tests/support: bodies and statuses come back on the
// io_context's thread, an HTTP error is an answer and never retried by the engine, a failed
// prepare sends nothing, delays are waited out without holding the io_context, a silent peer
// holds up nobody else and is ended by a cancel or the low-speed rule, redirects are followed
// within their limit, and an engine destroyed mid-transfer finishes its attempts as cancelled
// without calling back.
#include "transfer/transfer_engine.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <curl/curl.h>
#include <gtest/gtest.h>

#include "support/http_test_server.hpp"
#include "transfer/curl_handle.hpp"
#include "util/cancel_token.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace tr = agentrt::runtime::transfer;
using clock_type = std::chrono::steady_clock;

// What an attempt saw, shared with the test so that it survives an attempt the engine drops.
struct probe {
  std::mutex mutex;
  std::string body;
  std::thread::id body_thread;
  int finish_calls = 0;
  std::optional<tr::attempt_result> finished_with;
};

// A GET of url that keeps its body in the probe and sends one extra header.
class get_attempt final : public tr::curl_attempt {
public:
  get_attempt(std::string url, std::shared_ptr<probe> p, bool fail_prepare = false)
      : url_(std::move(url)), probe_(std::move(p)), fail_prepare_(fail_prepare) {}

  bool prepare(CURL* h) override {
    if (fail_prepare_)
      return false;
    if (!headers_.append("X-Engine-Probe: yes"))
      return false;
    curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &get_attempt::on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, static_cast<void*>(this));
    return true;
  }

  void finish(CURL*, const tr::attempt_result& r) override {
    std::lock_guard<std::mutex> lock(probe_->mutex);
    ++probe_->finish_calls;
    probe_->finished_with = r;
  }

private:
  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* self = static_cast<get_attempt*>(user);
    std::lock_guard<std::mutex> lock(self->probe_->mutex);
    self->probe_->body.append(data, size * n);
    self->probe_->body_thread = std::this_thread::get_id();
    return size * n;
  }

  std::string url_;
  std::shared_ptr<probe> probe_;
  bool fail_prepare_;
  tr::slist_handle headers_;
};

tr::transfer_options quick_options() {
  tr::transfer_options o;
  o.connect_timeout = 5s;
  o.low_speed_limit = 0; // off unless a test sets it
  o.max_retries = 0;
  return o;
}

struct outcome {
  std::optional<tr::attempt_result> result;
  std::thread::id thread;
  clock_type::time_point at;
};

// Starts a GET and records how it ended into out.
void start_get(tr::transfer_engine& engine, asio::io_context& io, const std::string& url,
               std::shared_ptr<probe> p, outcome& out, runtime::util::cancel_token cancel = {},
               std::chrono::milliseconds delay = 0ms,
               const tr::transfer_options& options = quick_options(), bool fail_prepare = false) {
  engine.run(io, std::make_unique<get_attempt>(url, std::move(p), fail_prepare), options,
             std::move(cancel), delay,
             [&out](std::unique_ptr<get_attempt> a, tr::attempt_result r) {
               EXPECT_NE(a, nullptr); // the attempt comes back with its result
               out.result = std::move(r);
               out.thread = std::this_thread::get_id();
               out.at = clock_type::now();
             });
}

class TransferEngine : public ::testing::Test {
protected:
  http_test_server server;
  asio::io_context io;
  tr::transfer_engine engine; // destroyed first: its attempts hold work on io
};

TEST_F(TransferEngine, ABodyComesBackOnTheIoThread) {
  server.route("/a", http_response::with_status(200, "hello engine"));
  auto p = std::make_shared<probe>();
  outcome out;
  start_get(engine, io, server.url("/a"), p, out);
  io.run(); // returns once the handler ran: the engine kept io from running out of work
  ASSERT_TRUE(out.result.has_value());
  EXPECT_TRUE(out.result->transport_ok()) << out.result->curl_error;
  EXPECT_EQ(out.result->http_status, 200);
  EXPECT_EQ(out.thread, std::this_thread::get_id());
  EXPECT_EQ(p->body, "hello engine");
  EXPECT_NE(p->body_thread, std::this_thread::get_id()); // written on the engine thread
  EXPECT_EQ(p->finish_calls, 1);
  EXPECT_EQ(engine.in_flight(), 0u);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].headers.count("x-engine-probe"), 1u); // the slist_handle was sent
  EXPECT_EQ(requests[0].headers.at("user-agent").rfind("agentrt/", 0), 0u);
}

TEST_F(TransferEngine, AnHttpErrorIsAnAnswerTheEngineDoesNotRetry) {
  server.route("/busy", http_response::with_status(503, "busy"));
  auto p = std::make_shared<probe>();
  outcome out;
  auto options = quick_options();
  options.max_retries = 5; // retries are the caller's decision, never the engine's
  start_get(engine, io, server.url("/busy"), p, out, {}, 0ms, options);
  io.run();
  ASSERT_TRUE(out.result.has_value());
  EXPECT_EQ(out.result->curl_code, CURLE_OK);
  EXPECT_EQ(out.result->http_status, 503);
  EXPECT_EQ(server.request_count("/busy"), 1u);
}

TEST_F(TransferEngine, AFailedPrepareSendsNothingAndIsNotFinished) {
  server.route("/a", http_response::with_status(200, "x"));
  auto p = std::make_shared<probe>();
  outcome out;
  start_get(engine, io, server.url("/a"), p, out, {}, 0ms, quick_options(), true);
  io.run();
  ASSERT_TRUE(out.result.has_value());
  EXPECT_EQ(out.result->curl_code, CURLE_OK);
  EXPECT_EQ(out.result->http_status, 0);
  EXPECT_FALSE(out.result->cancelled);
  EXPECT_EQ(p->finish_calls, 0);
  EXPECT_EQ(server.request_count("/a"), 0u);
}

TEST_F(TransferEngine, ADelayIsWaitedOutWithoutHoldingTheIoContext) {
  server.route("/a", http_response::with_status(200, "late"));
  auto p = std::make_shared<probe>();
  outcome out;
  const auto started = clock_type::now();
  start_get(engine, io, server.url("/a"), p, out, {}, 300ms);
  asio::steady_timer timer(io, 50ms);
  std::optional<clock_type::time_point> timer_fired;
  bool request_seen_by_timer = true;
  timer.async_wait([&](const std::error_code&) {
    timer_fired = clock_type::now();
    request_seen_by_timer = server.request_count("/a") > 0;
  });
  io.run();
  ASSERT_TRUE(out.result.has_value());
  EXPECT_EQ(out.result->http_status, 200);
  ASSERT_TRUE(timer_fired.has_value());
  EXPECT_LT(*timer_fired, out.at);     // io ran other handlers during the delay
  EXPECT_FALSE(request_seen_by_timer); // and nothing was sent before it ended
  EXPECT_GE(out.at - started, 300ms);
  std::printf("[ figures  ] delay 300 ms: handler after %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(out.at - started).count()));
}

TEST_F(TransferEngine, ASilentPeerHoldsUpNobodyAndACancelEndsIt) {
  http_response silent;
  silent.hang = true;
  server.route("/silent", silent);
  server.route("/fast", http_response::with_status(200, "fast"));
  auto silent_probe = std::make_shared<probe>();
  auto fast_probe = std::make_shared<probe>();
  outcome silent_out, fast_out;
  runtime::util::cancel_token cancel;
  start_get(engine, io, server.url("/silent"), silent_probe, silent_out, cancel);
  clock_type::time_point cancelled_at;
  // The fast GET starts once the silent one is waiting on the server.
  asio::steady_timer poll(io);
  std::function<void()> wait_for_silent = [&] {
    if (server.request_count("/silent") == 0) {
      poll.expires_after(5ms);
      poll.async_wait([&](const std::error_code&) { wait_for_silent(); });
      return;
    }
    engine.run(io, std::make_unique<get_attempt>(server.url("/fast"), fast_probe), quick_options(),
               runtime::util::cancel_token(), 0ms,
               [&](std::unique_ptr<get_attempt>, tr::attempt_result r) {
                 fast_out.result = std::move(r);
                 // The silent one is still running: cancel it now.
                 EXPECT_FALSE(silent_out.result.has_value());
                 EXPECT_GE(engine.in_flight(), 1u); // the fast one may still be counted
                 cancelled_at = clock_type::now();
                 cancel.cancel();
               });
  };
  wait_for_silent();
  io.run();
  ASSERT_TRUE(fast_out.result.has_value());
  EXPECT_EQ(fast_out.result->http_status, 200);
  EXPECT_EQ(fast_probe->body, "fast");
  ASSERT_TRUE(silent_out.result.has_value());
  EXPECT_TRUE(silent_out.result->cancelled);
  EXPECT_FALSE(silent_out.result->transport_ok());
  ASSERT_TRUE(silent_probe->finished_with.has_value());
  EXPECT_TRUE(silent_probe->finished_with->cancelled); // finish saw the cancel too
  std::printf("[ figures  ] cancel of a silent GET: handler after %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         silent_out.at - cancelled_at)
                                         .count()));
}

TEST_F(TransferEngine, AStalledBodyEndsByTheLowSpeedRuleAsATimeout) {
  auto stalled = http_response::generated(1 << 20);
  stalled.stall_after = 100;
  server.route("/stall", stalled);
  auto p = std::make_shared<probe>();
  outcome out;
  auto options = quick_options();
  options.low_speed_limit = 1;
  options.low_speed_time = 1s;
  const auto started = clock_type::now();
  start_get(engine, io, server.url("/stall"), p, out, {}, 0ms, options);
  io.run();
  ASSERT_TRUE(out.result.has_value());
  EXPECT_EQ(out.result->curl_code, CURLE_OPERATION_TIMEDOUT);
  EXPECT_EQ(out.result->http_status, 200);
  EXPECT_NE(out.result->curl_error.find("too slow"), std::string::npos) << out.result->curl_error;
  EXPECT_EQ(p->body.size(), 100u);
  EXPECT_GE(out.at - started, 1s);
}

TEST_F(TransferEngine, RedirectsAreFollowedWithinTheirLimit) {
  server.route("/end", http_response::with_status(200, "arrived"));
  server.route("/hop2", http_response::redirect(server.url("/end")));
  server.route("/hop1", http_response::redirect(server.url("/hop2")));
  auto followed = std::make_shared<probe>();
  auto limited = std::make_shared<probe>();
  outcome followed_out, limited_out;
  start_get(engine, io, server.url("/hop1"), followed, followed_out);
  auto one_hop = quick_options();
  one_hop.max_redirects = 1;
  start_get(engine, io, server.url("/hop1"), limited, limited_out, {}, 0ms, one_hop);
  io.run();
  ASSERT_TRUE(followed_out.result.has_value());
  EXPECT_EQ(followed_out.result->http_status, 200);
  EXPECT_EQ(followed->body, "arrived");
  ASSERT_TRUE(limited_out.result.has_value());
  EXPECT_EQ(limited_out.result->curl_code, CURLE_TOO_MANY_REDIRECTS);
  EXPECT_NE(limited->body, "arrived");
}

TEST_F(TransferEngine, DestroyedMidTransferItFinishesAttemptsAsCancelledWithoutCallingBack) {
  http_response silent;
  silent.hang = true;
  server.route("/silent", silent);
  auto p = std::make_shared<probe>();
  auto handler_state = std::make_shared<int>(0);
  std::weak_ptr<int> handler_alive = handler_state;
  bool called = false;
  auto doomed = std::make_unique<tr::transfer_engine>(); // not the fixture's
  doomed->run(io, std::make_unique<get_attempt>(server.url("/silent"), p), quick_options(),
              runtime::util::cancel_token(), 0ms,
              [&called, held = std::move(handler_state)](std::unique_ptr<get_attempt>,
                                                         tr::attempt_result) { called = true; });
  const auto deadline = clock_type::now() + 10s;
  while (server.request_count("/silent") == 0 && clock_type::now() < deadline)
    std::this_thread::sleep_for(5ms);
  ASSERT_EQ(server.request_count("/silent"), 1u);
  doomed.reset();
  EXPECT_EQ(p->finish_calls, 1);
  ASSERT_TRUE(p->finished_with.has_value());
  EXPECT_TRUE(p->finished_with->cancelled);
  EXPECT_TRUE(handler_alive.expired()); // the handler was destroyed ...
  io.run();
  EXPECT_FALSE(called); // ... and never called
}

} // namespace
} // namespace agentrt::test

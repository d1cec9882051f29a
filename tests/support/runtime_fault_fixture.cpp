// The fault-test fixture: runtime lifecycle, baseline and recovery checks.
#include "support/runtime_fault_fixture.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <thread>

#include "agentrt/protocol/codec.hpp"
#include "support/protocol_helpers.hpp"

namespace agentrt::test {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred())
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(20ms);
  }
}

bool wait_file_not_empty(const std::string& path, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        struct stat st {};
        return ::stat(path.c_str(), &st) == 0 && st.st_size > 0;
      },
      timeout);
}

bool wait_processes_gone(const std::vector<std::string>& prefixes,
                         std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        return std::all_of(prefixes.begin(), prefixes.end(),
                           [](const std::string& p) { return find_processes(p).empty(); });
      },
      timeout);
}

void runtime_fault_fixture::TearDown() {
  if (!rt_)
    return;
  EXPECT_TRUE(rt_->running()) << "the runtime died; log:\n" << rt_->log();
  if (!rt_->running())
    return;
  const auto [status, body] = http_get(rt_->port(), "/health");
  EXPECT_EQ(status, 200) << body;
  EXPECT_NE(body.find("\"status\":\"ok\""), std::string::npos) << body;
}

runtime_process& runtime_fault_fixture::start_runtime(std::vector<std::string> args,
                                                      std::vector<std::string> env) {
  rt_ = std::make_unique<runtime_process>(std::move(args), std::move(env));
  return *rt_;
}

std::unique_ptr<ws_test_client> runtime_fault_fixture::connect() {
  auto r = ws_test_client::connect(rt_->url());
  EXPECT_TRUE(r.client) << r.error;
  return std::move(r.client);
}

void runtime_fault_fixture::expect_usable(ws_test_client& c) {
  c.send(exec_request({"echo still-served"}));
  const auto msgs = c.receive_until_terminal(30s);
  ASSERT_FALSE(msgs.empty()) << "no answer";
  const auto* res = as<p::command_execution_result_message>(msgs.back());
  ASSERT_NE(res, nullptr) << p::encode(msgs.back());
  ASSERT_EQ(res->results.size(), 1u);
  EXPECT_EQ(res->results[0].exit_code, 0);
  EXPECT_EQ(joined_output(msgs, "stdout"), "still-served\n");
}

bool runtime_fault_fixture::wait_idle(std::chrono::milliseconds timeout) {
  std::string last;
  const bool idle = wait_until(
      [&] {
        last = http_get(rt_->port(), "/health").second;
        return last.find("\"open_sessions\":0") != std::string::npos &&
               last.find("\"requests_in_flight\":0") != std::string::npos;
      },
      timeout);
  if (!idle)
    ADD_FAILURE() << "runtime not idle: " << last;
  return idle;
}

void runtime_fault_fixture::take_baseline() {
  wait_idle();
  // The /health connection of wait_idle may still be closing: keep the smallest sample.
  baseline_ = resources_of(rt_->pid());
  const auto until = std::chrono::steady_clock::now() + 300ms;
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(25ms);
    auto r = resources_of(rt_->pid());
    if (r.fds >= 0 && r.fds < baseline_.fds)
      baseline_ = r;
    baseline_.threads = std::min(baseline_.threads, r.threads);
  }
  ASSERT_GT(baseline_.fds, 0);
  ASSERT_GT(baseline_.threads, 0);
}

void runtime_fault_fixture::expect_recovered(std::chrono::milliseconds settle) {
  ASSERT_TRUE(rt_->running()) << "the runtime died; log:\n" << rt_->log();
  wait_idle(settle);
  process_resources now;
  EXPECT_TRUE(wait_resources_at_most(rt_->pid(), baseline_, settle, now))
      << "leak: " << describe_change(baseline_, now);
  auto c = connect();
  ASSERT_TRUE(c);
  expect_usable(*c);
}

} // namespace agentrt::test

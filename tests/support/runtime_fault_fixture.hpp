// Base fixture of the fault tests: one real runtime per test, a resource baseline (descriptors
// and threads) taken once the runtime has done the kind of work a test will then disturb, and
// the checks every fault must pass afterwards — the runtime is alive, /health is ok, nothing is
// left in flight, nothing leaked, and the next client is served normally.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/process_resources.hpp"
#include "support/runtime_process.hpp"
#include "support/ws_test_client.hpp"

namespace agentrt::test {

// Polls pred until it holds; false on timeout.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
// Waits until path exists and is not empty (a download under way writes its .part file).
bool wait_file_not_empty(const std::string& path, std::chrono::milliseconds timeout);
// Waits until no live process's command line starts with any of prefixes.
bool wait_processes_gone(const std::vector<std::string>& prefixes,
                         std::chrono::milliseconds timeout);

class runtime_fault_fixture : public ::testing::Test {
protected:
  // Every test ends with the runtime alive and answering /health with "ok".
  void TearDown() override;

  runtime_process& start_runtime(std::vector<std::string> args = {},
                                 std::vector<std::string> env = {});
  runtime_process& rt() { return *rt_; }

  // A connection, or a test failure (null).
  std::unique_ptr<ws_test_client> connect();
  // A trivial command round-trips on c.
  void expect_usable(ws_test_client& c);

  // /health reports no open session and no request in flight within timeout.
  bool wait_idle(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The smallest descriptor and thread counts seen over a short idle window. Call after the
  // runtime did the work the test is about: pools, curl and inotify are set up lazily.
  void take_baseline();
  // After a fault: the runtime goes idle, returns to at most its baseline descriptors and
  // threads within settle, and a new client runs a command normally.
  void expect_recovered(std::chrono::milliseconds settle = std::chrono::seconds(10));

  process_resources baseline_;

private:
  std::unique_ptr<runtime_process> rt_;
};

} // namespace agentrt::test

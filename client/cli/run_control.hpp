// What can stop a run from outside the request: SIGINT/SIGTERM (the first cancels the request,
// a second one quits at once) and --idle-timeout, which counts the request's own output (a
// command that prints nothing trips it; the runtime's heartbeats do not keep it alive). One
// thread waits for the signals and checks the idle clock.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <signal.h>

#include "agentrt/client/async_session.hpp"

namespace agentrt::cli {

class run_control {
public:
  // Blocks SIGINT/SIGTERM in every thread started after this (construct it first).
  explicit run_control(std::optional<double> idle_timeout_s);
  ~run_control();
  run_control(const run_control&) = delete;
  run_control& operator=(const run_control&) = delete;

  // The session whose request a signal or the idle clock aborts.
  void watch(std::shared_ptr<client::async_session> s);
  void unwatch();
  // The idle clock runs between begin_request and end_request; output restarts it.
  void begin_request();
  void end_request();
  void output_arrived();

  bool interrupted() const noexcept { return interrupted_; }
  bool idle_fired() const noexcept { return idle_fired_; }
  double idle_timeout_s() const noexcept { return idle_s_.value_or(0); }

private:
  void loop();
  void abort_watched();

  sigset_t signals_{};
  std::optional<double> idle_s_;
  std::atomic<bool> interrupted_{false}, idle_fired_{false}, stopping_{false};
  std::atomic<bool> in_request_{false};
  std::atomic<std::chrono::steady_clock::rep> last_output_{0};
  std::mutex mutex_;
  std::shared_ptr<client::async_session> watched_;
  std::thread thread_;
};

} // namespace agentrt::cli

#include "run_control.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include "output.hpp"

namespace agentrt::cli {

run_control::run_control(std::optional<double> idle_timeout_s) : idle_s_(idle_timeout_s) {
  // SIGINT/SIGTERM cancel the request instead of killing us: the runtime then stops the work.
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  thread_ = std::thread([this] { loop(); });
}

run_control::~run_control() {
  stopping_ = true;
  thread_.join();
}

void run_control::watch(std::shared_ptr<client::async_session> s) {
  std::lock_guard lock(mutex_);
  watched_ = std::move(s);
}

void run_control::unwatch() {
  std::lock_guard lock(mutex_);
  watched_.reset();
}

void run_control::begin_request() {
  output_arrived();
  in_request_ = true;
}

void run_control::end_request() {
  in_request_ = false;
}

void run_control::output_arrived() {
  last_output_ = std::chrono::steady_clock::now().time_since_epoch().count();
}

void run_control::abort_watched() {
  std::lock_guard lock(mutex_);
  if (watched_)
    watched_->abort();
}

void run_control::loop() {
  const timespec tick{0, 50 * 1000 * 1000};
  while (!stopping_) {
    siginfo_t info;
    const int sig = sigtimedwait(&signals_, &info, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      if (interrupted_.exchange(true)) {
        // The second: the user does not want to wait for the runtime's answer to the cancel.
        print(stderr, "agentrt-client: interrupted again: quitting without waiting for the "
                      "runtime\n");
        std::_Exit(exit_cancelled);
      }
      abort_watched();
      continue;
    }
    if (!idle_s_ || !in_request_ || idle_fired_)
      continue;
    const auto last =
        std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(last_output_));
    if (std::chrono::steady_clock::now() - last > std::chrono::duration<double>(*idle_s_)) {
      idle_fired_ = true;
      abort_watched();
    }
  }
}

} // namespace agentrt::cli

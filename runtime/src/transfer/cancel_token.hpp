// A cancellation flag shared between the io_context thread (which cancels) and a pool thread
// (which polls it from curl's progress callback and sleeps on it between retries). Copies share
// one state, so the caller keeps one copy and the transfer job another.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

namespace agentrt::runtime::transfer {

class cancel_token {
public:
  cancel_token() : state_(std::make_shared<state>()) {}

  void cancel() const {
    {
      // Taking the mutex orders the store against a waiter between its check and its wait,
      // so the notify cannot be lost.
      std::lock_guard<std::mutex> lock(state_->mutex);
      state_->cancelled.store(true, std::memory_order_release);
    }
    state_->changed.notify_all();
  }

  bool cancelled() const noexcept { return state_->cancelled.load(std::memory_order_acquire); }

  // Sleeps for d unless cancelled first; true when cancelled.
  bool wait_for(std::chrono::milliseconds d) const {
    std::unique_lock<std::mutex> lock(state_->mutex);
    return state_->changed.wait_for(lock, d, [this] { return cancelled(); });
  }

private:
  struct state {
    std::atomic<bool> cancelled{false};
    std::mutex mutex;
    std::condition_variable changed;
  };
  std::shared_ptr<state> state_;
};

} // namespace agentrt::runtime::transfer

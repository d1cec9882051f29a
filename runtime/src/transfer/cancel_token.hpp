// A cancellation flag shared between the io_context thread (which cancels) and the transfer
// engine's thread (which checks it between curl's steps and from its progress callback).
// Copies share one state, so the caller keeps one copy and each attempt another.
#pragma once

#include <atomic>
#include <memory>

namespace agentrt::runtime::transfer {

class cancel_token {
public:
  cancel_token() : state_(std::make_shared<std::atomic<bool>>(false)) {}

  void cancel() const noexcept { state_->store(true, std::memory_order_release); }
  bool cancelled() const noexcept { return state_->load(std::memory_order_acquire); }

private:
  std::shared_ptr<std::atomic<bool>> state_;
};

} // namespace agentrt::runtime::transfer

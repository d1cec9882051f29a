// The runtime's one cancellation primitive: a flag shared between the io_context thread (which
// cancels) and the threads doing the work, which poll it (the transfer engine between curl's
// steps and from its progress callback, the archive extractor between headers and data blocks).
// Copies share one state, so the caller keeps one copy and each piece of work another.
#pragma once

#include <atomic>
#include <memory>

namespace agentrt::runtime::util {

class cancel_token {
public:
  cancel_token() : state_(std::make_shared<std::atomic<bool>>(false)) {}

  void cancel() const noexcept { state_->store(true, std::memory_order_release); }
  bool cancelled() const noexcept { return state_->load(std::memory_order_acquire); }

private:
  std::shared_ptr<std::atomic<bool>> state_;
};

} // namespace agentrt::runtime::util

// The io_loop: one asio::io_context run by one thread.
#include "agentrt/client/io_loop.hpp"

#include <chrono>
#include <thread>

#include "io_loop_impl.hpp"

namespace agentrt::client {

io_loop::io_loop() : impl_(std::make_unique<impl>()) {
  impl_->work.emplace(impl_->context.get_executor());
  impl_->thread = std::thread([this] { impl_->context.run(); });
}

io_loop::~io_loop() {
  // Without the work guard run() returns once the last connection has finished closing; a
  // peer that never answers the close must not hang the destructor, hence the bound.
  impl_->work.reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!impl_->context.stopped() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  impl_->context.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

bool io_loop::in_loop_thread() const noexcept {
  return impl_->thread.get_id() == std::this_thread::get_id();
}

} // namespace agentrt::client

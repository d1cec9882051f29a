// A session's outbound frames between the session and websocketpp.
#include "server/send_flow.hpp"

namespace agentrt::runtime::server {

std::size_t send_flow::cost(const ws_server::message_ptr& frame) {
  return frame->get_header().size() + frame->get_payload().size() + frame_overhead_bytes;
}

std::error_code send_flow::push(ws_server::message_ptr frame) {
  if (queue_.empty() && con_->get_buffered_amount() < window_bytes)
    return con_->send(frame);
  queued_bytes_ += cost(frame);
  queue_.push_back(std::move(frame));
  return {};
}

void send_flow::refill() {
  while (!queue_.empty() && con_->get_buffered_amount() < window_bytes) {
    ws_server::message_ptr frame = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= cost(frame);
    if (con_->send(frame)) {
      // Closing: nothing queued will be sent any more.
      clear();
      return;
    }
  }
}

std::size_t send_flow::clear() {
  const std::size_t dropped = queued_bytes_;
  queue_.clear();
  queued_bytes_ = 0;
  return dropped;
}

std::size_t send_flow::bytes() const {
  return queued_bytes_ + con_->get_buffered_amount();
}

} // namespace agentrt::runtime::server

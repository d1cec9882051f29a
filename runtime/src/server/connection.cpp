// The WebSocket side of a session (see connection.hpp).
#include "server/connection.hpp"

#include <utility>

namespace agentrt::runtime::server {
namespace {

constexpr std::chrono::milliseconds drain_poll{2};

// A ready-to-write text frame around payload, built here rather than by
// connection::send(string), which would copy the payload twice and check it for UTF-8 byte by
// byte. encode() already guarantees UTF-8 (every string goes through its sanitizing escaper),
// so the encoded string becomes the payload as it is. Server frames are unmasked and this
// config has no compression, so the header is all that websocketpp's prepare_data_frame adds.
ws_server::message_ptr prepared_text_frame(ws_server::connection_type& con, std::string payload) {
  namespace frame = websocketpp::frame;
  const frame::basic_header header(frame::opcode::text, payload.size(), true, false);
  const frame::extended_header extended(payload.size());
  ws_server::message_ptr msg = con.get_message(frame::opcode::text, 0);
  msg->set_header(frame::prepare_header(header, extended));
  msg->get_raw_payload() = std::move(payload);
  msg->set_prepared(true);
  return msg;
}

} // namespace

connection::connection(asio::io_context& io, connection_ptr con)
    : con_(std::move(con)), peer_(con_->get_remote_endpoint()), drain_timer_(io) {
  // websocketpp also speaks the pre-RFC draft hixie-76 (no Sec-WebSocket-Version header), whose
  // frames look different; every version it accepts with the header (7, 8, 13) frames as RFC 6455.
  rfc6455_framing_ = !con_->get_request_header("Sec-WebSocket-Version").empty();
}

std::error_code connection::send(std::string encoded) {
  return rfc6455_framing_ ? con_->send(prepared_text_frame(*con_, std::move(encoded)))
                          : con_->send(encoded, websocketpp::frame::opcode::text);
}

void connection::when_drained(std::size_t low_water, std::function<void()> then) {
  low_water_ = low_water;
  on_drained_ = std::move(then);
  drain_timer_.expires_after(drain_poll);
  drain_timer_.async_wait([weak = weak_from_this()](const std::error_code& ec) {
    if (auto self = weak.lock(); self && !ec)
      self->poll();
  });
}

void connection::poll() {
  if (!on_drained_)
    return;
  if (con_->get_buffered_amount() > low_water_) {
    drain_timer_.expires_after(drain_poll);
    drain_timer_.async_wait([weak = weak_from_this()](const std::error_code& ec) {
      if (auto self = weak.lock(); self && !ec)
        self->poll();
    });
    return;
  }
  auto then = std::move(on_drained_);
  on_drained_ = nullptr;
  then();
}

void connection::cancel_wait() {
  on_drained_ = nullptr;
  drain_timer_.cancel();
}

void connection::close(websocketpp::close::status::value code, const std::string& reason) {
  cancel_wait();
  std::error_code ec;
  con_->close(code, reason, ec);
}

} // namespace agentrt::runtime::server

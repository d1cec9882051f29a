// The WebSocket side of a session (see connection.hpp).
#include "server/connection.hpp"

#include <memory>
#include <utility>

#include "log/logger.hpp"
#include "metrics/runtime_metrics.hpp"

namespace agentrt::runtime::server {
namespace {

// A ready-to-write text frame around payload, built here rather than by
// connection::send(string), which would copy the payload twice and check it for UTF-8 byte by
// byte. encode() already guarantees UTF-8 (every string goes through its sanitizing escaper),
// so the encoded string becomes the payload as it is. Server frames are unmasked and this
// config has no compression, so the header is all that websocketpp's prepare_data_frame adds.
// Made without the connection's message manager, which reports the data messages it creates
// while a read is handled as frames being received (frame_budget.hpp).
ws_server::message_ptr prepared_text_frame(std::string payload) {
  namespace frame = websocketpp::frame;
  const frame::basic_header header(frame::opcode::text, payload.size(), true, false);
  const frame::extended_header extended(payload.size());
  auto msg = std::make_shared<ws_config::message_type>(ws_config::message_type::con_msg_man_ptr(),
                                                       frame::opcode::text, 0);
  msg->set_header(frame::prepare_header(header, extended));
  msg->get_raw_payload() = std::move(payload);
  msg->set_prepared(true);
  return msg;
}

} // namespace

connection::connection(connection_ptr con)
    : con_(std::move(con)), peer_(con_->get_remote_endpoint()), flow_(con_) {}

connection::~connection() {
  con_->set_write_done_handler(nullptr);
}

void connection::set_write_done_handler(std::function<void()> handler) {
  con_->set_write_done_handler(std::move(handler));
}

std::error_code connection::send(std::string encoded) {
  metrics::get().frames_sent_bytes.add(encoded.size());
  return flow_.push(prepared_text_frame(std::move(encoded)));
}

void connection::close(websocketpp::close::status::value code, const std::string& reason) {
  con_->resume_reads();
  std::error_code ec;
  con_->close(code, reason, ec);
  if (ec)
    log::debug({}, "connection from " + peer_ + ": close failed: " + ec.message());
}

} // namespace agentrt::runtime::server

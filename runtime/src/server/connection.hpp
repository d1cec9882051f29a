// One WebSocket connection as a session sees it: send a text frame, how much is waiting to be
// written, wait until that has drained, close with a code. It knows nothing of requests, so a
// durable session can move from one connection to the next.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include <asio/steady_timer.hpp>

#include "server/ws_config.hpp"

namespace agentrt::runtime::server {

class connection : public std::enable_shared_from_this<connection> {
public:
  connection(asio::io_context& io, connection_ptr con);
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  const std::string& peer() const noexcept { return peer_; }
  std::string request_header(const std::string& name) const {
    return con_->get_request_header(name);
  }
  const std::string& resource() const { return con_->get_resource(); }

  // Queues encoded (UTF-8 JSON: the codec guarantees it) as one text frame.
  std::error_code send(std::string encoded);
  std::size_t buffered_amount() const { return con_->get_buffered_amount(); }
  // then() runs on io once at most low_water bytes wait to be written. One waiter at a time: a
  // new call replaces the previous one. websocketpp has no "written" callback, so this polls a
  // short timer, and only while someone waits.
  void when_drained(std::size_t low_water, std::function<void()> then);
  void cancel_wait();
  void close(websocketpp::close::status::value code, const std::string& reason);

private:
  void poll();

  connection_ptr con_;
  std::string peer_;
  asio::steady_timer drain_timer_;
  std::size_t low_water_ = 0;
  std::function<void()> on_drained_;
  bool rfc6455_framing_ = true; // send() may build frames itself
};

} // namespace agentrt::runtime::server

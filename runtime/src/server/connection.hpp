// One WebSocket connection as a session sees it: queue a text frame under the send bound
// (send_flow.hpp), learn when socket writes complete, stop and restart reading the socket, drop
// what is still queued, close. It knows nothing of requests, so a durable session can move from
// one connection to the next.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <system_error>

#include "server/send_flow.hpp"
#include "server/ws_config.hpp"

namespace agentrt::runtime::server {

class connection {
public:
  explicit connection(connection_ptr con);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  const std::string& peer() const noexcept { return peer_; }
  std::string request_header(const std::string& name) const {
    return con_->get_request_header(name);
  }
  const std::string& resource() const { return con_->get_resource(); }
  bool same(const connection_ptr& con) const noexcept { return con_ == con; }

  // Runs after every completed socket write (ws_transport.hpp); nullptr to stop.
  void set_write_done_handler(std::function<void()> handler);

  // Queues encoded (UTF-8 JSON: the codec guarantees it) as one text frame. An error is
  // websocketpp's refusal (the connection is closing).
  std::error_code send(std::string encoded);
  // After a completed socket write: hands queued frames on to websocketpp.
  void refill() { flow_.refill(); }
  // Drops every frame not yet handed to websocketpp; returns their bytes.
  std::size_t drop_queued() { return flow_.clear(); }
  bool over_high_water() const { return flow_.over_high_water(); }
  bool under_low_water() const { return flow_.under_low_water(); }
  bool queue_empty() const noexcept { return flow_.empty(); }
  std::size_t buffered_amount() const { return con_->get_buffered_amount(); }

  void pause_reads() { con_->pause_reads(); }
  void resume_reads() { con_->resume_reads(); }
  bool reads_paused() const { return con_->reads_paused(); }

  // Starts the close handshake (reading resumes, for the client's answering close frame);
  // websocketpp ends the connection when it is answered or after its handshake timeout.
  void close(websocketpp::close::status::value code, const std::string& reason);

private:
  connection_ptr con_;
  std::string peer_;
  send_flow flow_;
};

} // namespace agentrt::runtime::server

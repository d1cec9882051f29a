// The frames one session has for its client, and the send bound that every producer of the
// session obeys (command output, harness events, replies to the client's frames, artifact
// announcements).
//
// websocketpp writes everything in its send queue with one socket write and cannot take a frame
// back, so a close frame queued behind megabytes of output waits until the client has read all
// of them. The session therefore hands websocketpp at most window_bytes at a time (refilled
// after each completed write: see ws_transport.hpp) and keeps the rest here, where it can be
// dropped on shutdown. Producers pause when high_water_bytes wait (here plus websocketpp's
// queue) and resume below low_water_bytes.
#pragma once

#include <cstddef>
#include <deque>
#include <system_error>

#include "server/ws_config.hpp"

namespace agentrt::runtime::server {

class send_flow {
public:
  static constexpr std::size_t window_bytes = 64 * 1024;
  static constexpr std::size_t high_water_bytes = 4 * 1024 * 1024;
  static constexpr std::size_t low_water_bytes = 1024 * 1024;
  // What a queued frame costs besides its bytes (the message object, its strings, the shared
  // pointer's control block): counted so that many tiny frames are bounded too.
  static constexpr std::size_t frame_overhead_bytes = 256;

  explicit send_flow(connection_ptr con) : con_(std::move(con)) {}

  // To websocketpp now when nothing waits here and websocketpp holds less than the window;
  // otherwise queued here. An error is websocketpp's refusal (the connection is closing).
  std::error_code push(ws_server::message_ptr frame);
  // After a completed socket write: hands queued frames on while websocketpp holds less than
  // the window.
  void refill();
  // Drops every frame queued here; returns their bytes.
  std::size_t clear();

  // Bytes waiting here and in websocketpp's queue (the socket write under way not included).
  std::size_t bytes() const;
  bool over_high_water() const { return bytes() >= high_water_bytes; }
  bool under_low_water() const { return bytes() <= low_water_bytes; }
  bool empty() const noexcept { return queue_.empty(); }

private:
  static std::size_t cost(const ws_server::message_ptr& frame);

  connection_ptr con_;
  std::deque<ws_server::message_ptr> queue_;
  std::size_t queued_bytes_ = 0;
};

} // namespace agentrt::runtime::server

// The client's one WebSocket connection, kept behind this small internal header so that
// websocketpp and Asio stay out of the public headers. Frames arrive on a background io thread
// and wait in a queue until the session's caller takes them.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace agentrt::client::detail {

class ws_connection {
public:
  using clock = std::chrono::steady_clock;

  struct open_result {
    std::unique_ptr<ws_connection> connection; // null on failure
    std::string error;                         // why it failed
    int http_status = 0;                       // the upgrade response's status, when one came
  };

  static open_result open(const std::string& url, const std::map<std::string, std::string>& headers,
                          std::chrono::milliseconds timeout);

  ~ws_connection(); // close() if still open, then stops the io thread
  ws_connection(const ws_connection&) = delete;
  ws_connection& operator=(const ws_connection&) = delete;

  // Thread-safe; queued behind earlier sends. Silently dropped once the connection is closed:
  // the caller learns about the close from next_frame.
  void send(std::string frame);

  enum class wait_status { frame, timed_out, closed, interrupted };
  // Frames received before a close are still delivered before wait_status::closed.
  // interrupted: interrupt() was called (by another thread) while no frame was waiting.
  wait_status next_frame(std::string& out, clock::time_point deadline);
  // Thread-safe: wakes a next_frame that is waiting, so its caller can re-check its state.
  void interrupt();

  bool closed() const;
  int close_code() const; // the code the runtime sent, 0 if none (or not closed)
  std::string close_reason() const;

  // Close handshake with 1000; returns once closed or after a bounded wait, after which the
  // TCP connection is dropped.
  void close();

private:
  ws_connection();
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace agentrt::client::detail

// A blocking WebSocket client for tests: sends arbitrary frames (also malformed ones), receives
// frames with timeouts, and can stall its reads or drop the TCP connection abruptly.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agentrt/protocol/messages.hpp"

namespace agentrt::test {

struct connect_outcome;

class ws_test_client {
public:
  struct connect_result {
    std::unique_ptr<ws_test_client> client; // null on failure
    std::string error;                      // why the connection failed
    int http_status = 0;                    // the upgrade response's status when known (e.g. 401)
  };

  // url like "ws://127.0.0.1:PORT/" (may carry "?token=..."); headers are added to the upgrade.
  static connect_result connect(const std::string& url,
                                const std::map<std::string, std::string>& headers = {},
                                std::chrono::milliseconds timeout = std::chrono::seconds(10));

  ~ws_test_client();

  void send_text(const std::string& frame);
  void send_binary(const std::string& frame); // the protocol has none: the runtime must refuse it
  void send(const protocol::message& m);      // encodes with protocol::encode

  // Next text frame; nullopt when none arrived within timeout or the connection closed.
  std::optional<std::string>
  receive_frame(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Next frame decoded; a frame that does not decode fails the calling test (ADD_FAILURE) and
  // is skipped.
  std::optional<protocol::message>
  receive(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Every message up to and including the request's terminal (result_message,
  // command_execution_result_message or error_message). Heartbeats are included.
  std::vector<protocol::message>
  receive_until_terminal(std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // Stops / restarts reading from the socket (the runtime then sees a slow client).
  void pause_reading();
  void resume_reading();

  bool closed() const;
  // The close code the peer sent (e.g. 1000, 1001, 1009); 0 while open or if none was sent.
  int close_code() const;
  // Waits until the connection is closed; false on timeout.
  bool wait_closed(std::chrono::milliseconds timeout);

  void close(); // close handshake with 1000
  void drop();  // abrupt: shuts the TCP socket down without a close frame

private:
  ws_test_client();
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace agentrt::test

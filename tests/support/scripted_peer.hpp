// A scripted WebSocket "runtime" on 127.0.0.1 for client tests: it plays a fixed script on each
// connection in turn (wait for a message type, send frames — also malformed ones a real runtime
// would never send —, pause, close with any code, drop the TCP connection) and records
// everything it received. Upgrade responses can carry extra headers (the durable-sessions
// extension) or be refused with an HTTP status, so a test can script reconnects and resumes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agentrt/protocol/messages.hpp"

namespace agentrt::test {

class scripted_peer {
public:
  struct step {
    enum class kind { expect, send, pause, close, drop } type = kind::send;
    std::string text; // expect: the message_type; send: the raw frame; close: the reason
    std::chrono::milliseconds duration{0};
    int code = 1000; // close
  };
  // Waits for the next frame and checks its message_type. ack_message frames (which a durable
  // client sends on its own schedule) are skipped unless an ack_message is what it expects.
  static step expect(std::string message_type);
  static step send(std::string raw_frame);
  static step send(const protocol::message& m);
  static step send(const protocol::message& m, std::uint64_t seq); // a numbered frame
  static step pause(std::chrono::milliseconds d);
  static step close(int code = 1000, std::string reason = "script");
  static step drop(); // closes the TCP connection without a close frame

  struct connection {
    std::vector<step> steps{};
    std::map<std::string, std::string> response_headers{}; // added to the 101 response
    int reject_status = 0; // when set, the upgrade is refused with this HTTP status
  };

  struct tls_files {
    std::string cert_file; // PEM certificate chain
    std::string key_file;  // PEM private key
  };

  // Starts listening at once; throws std::runtime_error when it cannot (test setup only).
  // One script for the first connection; later connections just idle.
  explicit scripted_peer(std::vector<step> script);
  scripted_peer(std::vector<step> script, tls_files tls); // wss://
  // The i-th connection attempt (in the order the upgrades arrive) plays connections[i]; the
  // scripts run one after the other. Attempts beyond the list are accepted and idle.
  explicit scripted_peer(std::vector<connection> connections);
  ~scripted_peer();
  scripted_peer(const scripted_peer&) = delete;
  scripted_peer& operator=(const scripted_peer&) = delete;

  std::string url() const; // "ws://127.0.0.1:PORT/" or "wss://localhost:PORT/"
  int port() const;
  // Waits until every script ran; false on timeout or when an expect step saw something
  // else (see failure()).
  bool wait_done(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::string failure() const;
  std::vector<std::string> received() const; // every text frame of every connection, in order
  std::vector<std::string> received(std::size_t connection) const;
  std::size_t connection_attempts() const;
  // The upgrade request's headers of a connection attempt (names as the client sent them).
  std::map<std::string, std::string> request_headers(std::size_t connection) const;
  std::string request_uri(std::size_t connection) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// The response header a runtime with the durable-sessions extension sends on the 101.
std::map<std::string, std::string> durable_extension_header();

} // namespace agentrt::test

// A scripted WebSocket "runtime" on 127.0.0.1 for client tests: it plays a fixed script on the
// first connection (wait for a message type, send frames — also malformed ones a real runtime
// would never send —, pause, close) and records everything it received.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agentrt/protocol/messages.hpp"

namespace agentrt::test {

class scripted_peer {
public:
  struct step {
    enum class kind { expect, send, pause, close } type = kind::send;
    std::string text; // expect: the message_type; send: the raw frame
    std::chrono::milliseconds duration{0};
  };
  static step expect(std::string message_type);
  static step send(std::string raw_frame);
  static step send(const protocol::message& m);
  static step pause(std::chrono::milliseconds d);
  static step close();

  struct tls_files {
    std::string cert_file; // PEM certificate chain
    std::string key_file;  // PEM private key
  };

  // Starts listening at once; throws std::runtime_error when it cannot (test setup only).
  explicit scripted_peer(std::vector<step> script);
  scripted_peer(std::vector<step> script, tls_files tls); // wss://
  ~scripted_peer();
  scripted_peer(const scripted_peer&) = delete;
  scripted_peer& operator=(const scripted_peer&) = delete;

  std::string url() const; // "ws://127.0.0.1:PORT/" or "wss://localhost:PORT/"
  // Waits until the whole script ran; false on timeout or when an expect step saw something
  // else (see failure()).
  bool wait_done(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::string failure() const;
  std::vector<std::string> received() const; // every text frame, in order

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace agentrt::test

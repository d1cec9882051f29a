// A bare WebSocket client over a plain socket (ws:// only): upgrade, masked text frames out,
// whole messages in, no UTF-8 validation and no JSON decoding. The output benchmark reads
// through it as well as through the agentrt client, so that a runtime's own streaming speed
// can be told apart from the client library's.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace agentrt::bench {

class raw_ws_connection {
public:
  raw_ws_connection() = default;
  ~raw_ws_connection();
  raw_ws_connection(const raw_ws_connection&) = delete;
  raw_ws_connection& operator=(const raw_ws_connection&) = delete;

  // Connects and upgrades; the problem in words on failure ("" on success). extra_headers are
  // whole "Name: value" lines added to the upgrade request.
  std::string connect(const std::string& url, const std::optional<std::string>& token,
                      std::chrono::milliseconds timeout,
                      const std::vector<std::string>& extra_headers = {});
  // The upgrade response's status line and headers (after a successful connect).
  const std::string& response_head() const noexcept { return head_; }
  bool send_text(const std::string& payload);
  // The next text or binary message into `payload` (capacity reused); pings are answered.
  // False on close, error or timeout (set by connect for every read).
  bool read_message(std::string& payload);
  void close();
  // Closes the socket without a close frame, as a dropped connection looks to the runtime.
  void drop();

private:
  bool read_exact(char* out, std::size_t n);
  bool send_frame(unsigned char opcode, const char* data, std::size_t size);

  int fd_ = -1;
  std::string head_;
  std::string buffer_; // bytes received but not consumed yet
  std::size_t buffer_pos_ = 0;
};

} // namespace agentrt::bench

// A WebSocket client at the byte level for fault tests that must misbehave in ways a real
// client library will not: handshakes of other protocol versions, frames sent without ever
// reading, frames declared big and sent half-way, many connections polled from one thread.
// Non-blocking socket; server frames are parsed as they are read.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agentrt::test {

class raw_ws_socket {
public:
  struct frame {
    unsigned char opcode = 0;
    std::string payload;
  };
  static constexpr unsigned char op_text = 0x1, op_binary = 0x2, op_close = 0x8, op_ping = 0x9;

  raw_ws_socket() = default;
  ~raw_ws_socket();
  raw_ws_socket(const raw_ws_socket&) = delete;
  raw_ws_socket& operator=(const raw_ws_socket&) = delete;
  raw_ws_socket(raw_ws_socket&& other) noexcept;
  raw_ws_socket& operator=(raw_ws_socket&& other) noexcept;

  // TCP connection to 127.0.0.1:port (the connect itself may still be under way: a full accept
  // backlog delays it); false when it failed at once.
  bool connect(int port);
  // Sends data, waiting while the socket is full; false on error or when timeout passed.
  bool send_all(std::string_view data, std::chrono::milliseconds timeout);
  // As much of data as the socket takes now: bytes sent, 0 when full, -1 on error.
  ssize_t send_some(std::string_view data);
  // "GET / HTTP/1.1" with Host, Upgrade and Connection, then headers (each "Name: value\r\n"),
  // then body; returns the response's status code (0 when none came within timeout) and
  // its head (status line and headers) in head.
  int request(const std::string& headers, const std::string& body, std::string* head,
              std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // A version-13 upgrade: true on 101.
  bool upgrade(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Reads what arrives within timeout (at most max_bytes): the bytes read, 0 at EOF or on
  // error, -1 when nothing came.
  long read_some(std::chrono::milliseconds timeout, std::size_t max_bytes = 256 * 1024);
  // The next complete frame among the bytes read so far.
  std::optional<frame> next_frame();
  // Reads until a frame is complete (nullopt at EOF or timeout).
  std::optional<frame> read_frame(std::chrono::milliseconds timeout);
  bool eof() const noexcept { return eof_; }
  std::uint64_t bytes_read() const noexcept { return bytes_read_; }

  int fd() const noexcept { return fd_; }
  void close();

  // A masked client frame.
  static std::string client_frame(unsigned char opcode, std::string_view payload, bool fin = true);
  // Just the header of a masked frame declaring payload_size bytes, with an all-zero mask key
  // (so that the payload bytes sent after it arrive as they are).
  static std::string client_frame_header(unsigned char opcode, std::uint64_t payload_size);
  // The close code of a close frame's payload (0 when it has none).
  static int close_code(const frame& f);

private:
  int fd_ = -1;
  std::string in_;
  std::size_t in_pos_ = 0;
  std::uint64_t bytes_read_ = 0;
  bool eof_ = false;
};

} // namespace agentrt::test

// RFC 6455 client framing, just enough for the bench: no extensions, no fragmented sends.
#include "raw_ws_connection.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <random>

#include "socket_io.hpp"

namespace agentrt::bench {
namespace {

constexpr unsigned char op_continuation = 0x0, op_text = 0x1, op_binary = 0x2, op_close = 0x8,
                        op_ping = 0x9, op_pong = 0xA;
constexpr std::size_t read_chunk = 256 * 1024;

} // namespace

raw_ws_connection::~raw_ws_connection() {
  close();
}

void raw_ws_connection::close() {
  if (fd_ >= 0) {
    send_frame(op_close, "\x03\xe8", 2); // 1000
    ::close(fd_);
    fd_ = -1;
  }
}

void raw_ws_connection::drop() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  buffer_.clear();
  buffer_pos_ = 0;
}

std::string raw_ws_connection::connect(const std::string& url,
                                       const std::optional<std::string>& token,
                                       std::chrono::milliseconds timeout,
                                       const std::vector<std::string>& extra_headers) {
  const std::string scheme = "ws://";
  if (url.rfind(scheme, 0) != 0)
    return "only ws:// URLs";
  const std::string rest = url.substr(scheme.size());
  const std::string authority = rest.substr(0, rest.find('/'));
  const std::string path = rest.size() > authority.size() ? rest.substr(authority.size()) : "/";
  const auto colon = authority.rfind(':');
  const std::string host = colon == std::string::npos ? authority : authority.substr(0, colon);
  const std::string port = colon == std::string::npos ? "80" : authority.substr(colon + 1);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return std::string("resolve ") + host + ": " + ::gai_strerror(rc);
  for (addrinfo* a = found; a && fd_ < 0; a = a->ai_next) {
    fd_ = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd_ >= 0 && ::connect(fd_, a->ai_addr, a->ai_addrlen) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd_ < 0)
    return "cannot connect to " + authority;
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + authority +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: YWdlbnRydC1iZW5jaC1rZXk=\r\nSec-WebSocket-Version: 13\r\n";
  if (token)
    req += "Authorization: Bearer " + *token + "\r\n";
  for (const auto& header : extra_headers)
    req += header + "\r\n";
  req += "\r\n";
  if (!send_all(fd_, req.data(), req.size()))
    return "cannot send the upgrade request";
  std::string head;
  char c;
  while (head.size() < 16384 && head.find("\r\n\r\n") == std::string::npos) {
    if (!read_exact(&c, 1))
      return "no upgrade response";
    head += c;
  }
  if (head.rfind("HTTP/1.1 101", 0) != 0)
    return "upgrade refused: " + head.substr(0, head.find("\r\n"));
  head_ = std::move(head);
  return {};
}

bool raw_ws_connection::read_exact(char* out, std::size_t n) {
  while (n > 0) {
    if (buffer_pos_ < buffer_.size()) {
      const std::size_t take = std::min(n, buffer_.size() - buffer_pos_);
      std::memcpy(out, buffer_.data() + buffer_pos_, take);
      buffer_pos_ += take;
      out += take;
      n -= take;
      continue;
    }
    if (n >= read_chunk) { // large payload: straight into the caller's memory
      const ssize_t got = ::recv(fd_, out, n, 0);
      if (got <= 0)
        return false;
      out += got;
      n -= static_cast<std::size_t>(got);
      continue;
    }
    buffer_.resize(read_chunk);
    const ssize_t got = ::recv(fd_, buffer_.data(), read_chunk, 0);
    if (got <= 0)
      return false;
    buffer_.resize(static_cast<std::size_t>(got));
    buffer_pos_ = 0;
  }
  return true;
}

bool raw_ws_connection::send_frame(unsigned char opcode, const char* data, std::size_t size) {
  std::string frame;
  frame += static_cast<char>(0x80 | opcode);
  if (size < 126) {
    frame += static_cast<char>(0x80 | size);
  } else if (size <= 0xFFFF) {
    frame += static_cast<char>(0x80 | 126);
    frame += static_cast<char>(size >> 8);
    frame += static_cast<char>(size & 0xFF);
  } else {
    frame += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i)
      frame += static_cast<char>((static_cast<std::uint64_t>(size) >> (8 * i)) & 0xFF);
  }
  static thread_local std::mt19937 rng(std::random_device{}());
  const std::uint32_t key = rng();
  char mask[4];
  std::memcpy(mask, &key, 4);
  frame.append(mask, 4);
  const std::size_t start = frame.size();
  frame.append(data, size);
  for (std::size_t i = 0; i < size; ++i)
    frame[start + i] = static_cast<char>(frame[start + i] ^ mask[i % 4]);
  return fd_ >= 0 && send_all(fd_, frame.data(), frame.size());
}

bool raw_ws_connection::send_text(const std::string& payload) {
  return send_frame(op_text, payload.data(), payload.size());
}

bool raw_ws_connection::read_message(std::string& payload) {
  payload.clear();
  for (;;) {
    unsigned char h[2];
    if (!read_exact(reinterpret_cast<char*>(h), 2))
      return false;
    const bool fin = h[0] & 0x80;
    const unsigned char opcode = h[0] & 0x0F;
    std::uint64_t len = h[1] & 0x7F;
    if (len >= 126) {
      unsigned char ext[8];
      const std::size_t n = len == 126 ? 2 : 8;
      if (!read_exact(reinterpret_cast<char*>(ext), n))
        return false;
      len = 0;
      for (std::size_t i = 0; i < n; ++i)
        len = (len << 8) | ext[i];
    }
    if (h[1] & 0x80) { // servers never mask; a masked frame is a protocol error
      return false;
    }
    if (opcode == op_ping || opcode == op_pong || opcode == op_close) {
      std::string control(static_cast<std::size_t>(len), '\0');
      if (!read_exact(control.data(), control.size()))
        return false;
      if (opcode == op_close)
        return false;
      if (opcode == op_ping && !send_frame(op_pong, control.data(), control.size()))
        return false;
      continue;
    }
    if (opcode != op_text && opcode != op_binary && opcode != op_continuation)
      return false;
    const std::size_t at = payload.size();
    payload.resize(at + static_cast<std::size_t>(len));
    if (!read_exact(payload.data() + at, static_cast<std::size_t>(len)))
      return false;
    if (fin)
      return true;
  }
}

} // namespace agentrt::bench

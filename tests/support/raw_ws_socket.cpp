// RFC 6455 framing by hand, on a non-blocking socket.
#include "support/raw_ws_socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

namespace agentrt::test {
namespace {

bool wait_for(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

std::string frame_header(unsigned char opcode, std::uint64_t size, bool fin) {
  std::string h;
  h += static_cast<char>((fin ? 0x80 : 0x00) | opcode);
  if (size < 126) {
    h += static_cast<char>(0x80 | size);
  } else if (size <= 0xFFFF) {
    h += static_cast<char>(0x80 | 126);
    h += static_cast<char>(size >> 8);
    h += static_cast<char>(size & 0xFF);
  } else {
    h += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i)
      h += static_cast<char>((size >> (8 * i)) & 0xFF);
  }
  return h;
}

} // namespace

raw_ws_socket::~raw_ws_socket() {
  close();
}

raw_ws_socket::raw_ws_socket(raw_ws_socket&& other) noexcept {
  *this = std::move(other);
}

raw_ws_socket& raw_ws_socket::operator=(raw_ws_socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    in_ = std::move(other.in_);
    in_pos_ = other.in_pos_;
    bytes_read_ = other.bytes_read_;
    eof_ = other.eof_;
  }
  return *this;
}

void raw_ws_socket::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

bool raw_ws_socket::connect(int port) {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    return false;
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS) {
    close();
    return false;
  }
  return true;
}

ssize_t raw_ws_socket::send_some(std::string_view data) {
  if (fd_ < 0)
    return -1;
  const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
  if (n >= 0)
    return n;
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN ? 0 : -1;
}

bool raw_ws_socket::send_all(std::string_view data, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!data.empty()) {
    const ssize_t n = send_some(data);
    if (n < 0)
      return false;
    data.remove_prefix(static_cast<std::size_t>(n));
    if (data.empty())
      break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    wait_for(fd_, POLLOUT, left);
  }
  return true;
}

int raw_ws_socket::request(const std::string& headers, const std::string& body, std::string* head,
                           std::chrono::milliseconds timeout) {
  const std::string req = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\n" +
                          headers + "\r\n" + body;
  if (!send_all(req, timeout))
    return 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t end = std::string::npos;
  while ((end = in_.find("\r\n\r\n", in_pos_)) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || read_some(left) <= 0)
      return 0;
  }
  const std::string response = in_.substr(in_pos_, end + 4 - in_pos_);
  in_pos_ = end + 4;
  if (head)
    *head = response;
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12)
    return 0;
  return std::atoi(response.c_str() + 9);
}

bool raw_ws_socket::upgrade(std::chrono::milliseconds timeout) {
  return request("Sec-WebSocket-Key: YWdlbnRydC1mYXVsdC10ZXN0\r\nSec-WebSocket-Version: 13\r\n", "",
                 nullptr, timeout) == 101;
}

long raw_ws_socket::read_some(std::chrono::milliseconds timeout, std::size_t max_bytes) {
  if (fd_ < 0 || eof_)
    return 0;
  // Consumed bytes go before new ones come (what is left is at most a partial frame).
  if (in_pos_ > 0 && (in_pos_ == in_.size() || in_pos_ >= 64 * 1024)) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  const std::size_t old = in_.size();
  in_.resize(old + max_bytes);
  ssize_t n = ::recv(fd_, in_.data() + old, max_bytes, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && timeout.count() > 0 &&
      wait_for(fd_, POLLIN, timeout)) {
    n = ::recv(fd_, in_.data() + old, max_bytes, 0);
  }
  if (n > 0) {
    in_.resize(old + static_cast<std::size_t>(n));
    bytes_read_ += static_cast<std::uint64_t>(n);
    return n;
  }
  in_.resize(old);
  if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
    eof_ = true;
    return 0;
  }
  return -1;
}

std::optional<raw_ws_socket::frame> raw_ws_socket::next_frame() {
  const auto* p = reinterpret_cast<const unsigned char*>(in_.data()) + in_pos_;
  const std::size_t avail = in_.size() - in_pos_;
  if (avail < 2)
    return std::nullopt;
  std::size_t header = 2;
  std::uint64_t size = p[1] & 0x7F;
  if (size == 126) {
    header = 4;
    if (avail < header)
      return std::nullopt;
    size = (std::uint64_t{p[2]} << 8) | p[3];
  } else if (size == 127) {
    header = 10;
    if (avail < header)
      return std::nullopt;
    size = 0;
    for (int i = 0; i < 8; ++i)
      size = (size << 8) | p[2 + i];
  }
  if (avail < header + size)
    return std::nullopt;
  frame f;
  f.opcode = p[0] & 0x0F;
  f.payload.assign(reinterpret_cast<const char*>(p + header), static_cast<std::size_t>(size));
  in_pos_ += header + static_cast<std::size_t>(size);
  return f;
}

std::optional<raw_ws_socket::frame> raw_ws_socket::read_frame(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto f = next_frame())
      return f;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || read_some(left) == 0)
      return std::nullopt;
  }
}

std::string raw_ws_socket::client_frame(unsigned char opcode, std::string_view payload, bool fin) {
  std::string f = frame_header(opcode, payload.size(), fin);
  static thread_local std::mt19937 rng(std::random_device{}());
  const std::uint32_t key = rng();
  char mask[4];
  std::memcpy(mask, &key, 4);
  f.append(mask, 4);
  const std::size_t start = f.size();
  f.append(payload);
  for (std::size_t i = 0; i < payload.size(); ++i)
    f[start + i] = static_cast<char>(f[start + i] ^ mask[i % 4]);
  return f;
}

std::string raw_ws_socket::client_frame_header(unsigned char opcode, std::uint64_t payload_size) {
  return frame_header(opcode, payload_size, true) + std::string(4, '\0');
}

int raw_ws_socket::close_code(const frame& f) {
  if (f.opcode != op_close || f.payload.size() < 2)
    return 0;
  return (static_cast<unsigned char>(f.payload[0]) << 8) | static_cast<unsigned char>(f.payload[1]);
}

} // namespace agentrt::test

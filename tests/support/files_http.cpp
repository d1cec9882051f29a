// Raw-socket HTTP client for files API tests.
#include "support/files_http.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "support/runtime_process.hpp"

namespace agentrt::test {
namespace {

bool send_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w <= 0)
      return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Decodes a response body (length-delimited, chunked or until close) as it arrives.
class body_decoder {
public:
  body_decoder(files_reply& reply, const std::function<bool(const char*, std::size_t)>& sink)
      : reply_(reply), sink_(sink) {
    chunked_ = reply.header("transfer-encoding") == "chunked";
    const std::string cl = reply.header("content-length");
    if (!chunked_ && !cl.empty())
      left_ = std::strtoull(cl.c_str(), nullptr, 10);
    if (!chunked_ && left_ && *left_ == 0)
      reply_.complete = true;
  }
  // False to stop (done, or the sink said stop).
  bool feed(const char* data, std::size_t n) {
    if (!chunked_) {
      const std::size_t take =
          left_ ? static_cast<std::size_t>(std::min<std::uint64_t>(*left_, n)) : n;
      if (!deliver(data, take))
        return false;
      if (left_) {
        *left_ -= take;
        if (*left_ == 0) {
          reply_.complete = true;
          return false;
        }
      }
      return true;
    }
    pending_.append(data, n);
    for (;;) {
      if (chunk_left_ == 0) {
        const auto eol = pending_.find("\r\n");
        if (eol == std::string::npos)
          return true;
        const std::string line = pending_.substr(0, eol);
        pending_.erase(0, eol + 2);
        if (after_data_) { // the CRLF that ends a chunk's data
          after_data_ = false;
          continue;
        }
        chunk_left_ = std::strtoull(line.c_str(), nullptr, 16);
        if (chunk_left_ == 0) {
          reply_.complete = true;
          return false;
        }
      }
      if (pending_.empty())
        return true;
      const std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, pending_.size()));
      if (!deliver(pending_.data(), take))
        return false;
      pending_.erase(0, take);
      chunk_left_ -= take;
      if (chunk_left_ == 0)
        after_data_ = true;
    }
  }

private:
  bool deliver(const char* d, std::size_t n) {
    if (n == 0)
      return true;
    if (sink_)
      return sink_(d, n);
    reply_.body.append(d, n);
    return true;
  }
  files_reply& reply_;
  const std::function<bool(const char*, std::size_t)>& sink_;
  bool chunked_ = false;
  std::optional<std::uint64_t> left_;
  std::string pending_;
  std::uint64_t chunk_left_ = 0;
  bool after_data_ = false;
};

} // namespace

std::string files_reply::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

files_reply files_request(int port, const files_call& call) {
  files_reply reply;
  const int fd = connect_loopback(port);
  if (fd < 0)
    return reply;
  timeval tv{60, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string head = call.method + " " + call.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& h : call.headers)
    head += h + "\r\n";
  if (call.body)
    head += "Content-Length: " + std::to_string(call.body->size()) + "\r\n";
  else if (call.source && call.chunked_body)
    head += "Transfer-Encoding: chunked\r\n";
  else if (call.source && call.body_length)
    head += "Content-Length: " + std::to_string(*call.body_length) + "\r\n";
  head += "\r\n";
  bool sent = send_all(fd, head.data(), head.size());
  if (sent && call.body)
    sent = send_all(fd, call.body->data(), call.body->size());
  if (sent && call.source) {
    std::vector<char> buf(256 * 1024);
    for (;;) {
      const std::size_t n = call.source(buf.data(), buf.size());
      if (n == 0)
        break;
      if (call.chunked_body) {
        char size[24];
        const int len = std::snprintf(size, sizeof size, "%zx\r\n", n);
        if (!send_all(fd, size, static_cast<std::size_t>(len)) || !send_all(fd, buf.data(), n) ||
            !send_all(fd, "\r\n", 2)) {
          break;
        }
      } else if (!send_all(fd, buf.data(), n)) {
        break; // the server answered early and stopped reading: read its answer
      }
    }
    if (call.chunked_body && !call.half_close)
      send_all(fd, "0\r\n\r\n", 5);
  }
  if (call.half_close)
    ::shutdown(fd, SHUT_WR);
  // The head, then the body through the decoder.
  std::string in;
  std::vector<char> buf(256 * 1024);
  std::size_t head_end = std::string::npos;
  while (head_end == std::string::npos) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) {
      ::close(fd);
      return reply;
    }
    in.append(buf.data(), static_cast<std::size_t>(n));
    // Skip interim 100 Continue answers.
    while (in.rfind("HTTP/1.1 100", 0) == 0 && in.find("\r\n\r\n") != std::string::npos)
      in.erase(0, in.find("\r\n\r\n") + 4);
    head_end = in.find("\r\n\r\n");
  }
  if (in.rfind("HTTP/1.", 0) == 0 && in.size() > 12)
    reply.status = std::atoi(in.c_str() + 9);
  std::size_t pos = in.find("\r\n") + 2;
  while (pos < head_end) {
    const std::size_t eol = in.find("\r\n", pos);
    const std::string line = in.substr(pos, eol - pos);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      reply.headers[name] = value;
    }
    pos = eol + 2;
  }
  body_decoder decoder(reply, call.sink);
  const bool head_only = call.method == "HEAD";
  bool more = !head_only && !reply.complete &&
              decoder.feed(in.data() + head_end + 4, in.size() - head_end - 4);
  while (more) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0)
      break;
    more = decoder.feed(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return reply;
}

} // namespace agentrt::test

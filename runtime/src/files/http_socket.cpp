// Blocking HTTP/1.1 I/O for a files-API worker thread.
#include "files/http_socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>

namespace agentrt::runtime::files {
namespace {

constexpr std::size_t input_buffer_bytes = 64 * 1024;

} // namespace

http_socket::http_socket(util::unique_fd fd, int idle_timeout_s)
    : fd_(std::move(fd)), in_(input_buffer_bytes) {
  const int flags = ::fcntl(fd_.get(), F_GETFL);
  if (flags >= 0)
    ::fcntl(fd_.get(), F_SETFL, flags & ~O_NONBLOCK);
  timeval tv{};
  tv.tv_sec = idle_timeout_s;
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool http_socket::fill() {
  if (in_begin_ < in_end_)
    return true;
  in_begin_ = in_end_ = 0;
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), in_.data(), in_.size(), 0);
    if (n > 0) {
      in_end_ = static_cast<std::size_t>(n);
      return true;
    }
    if (n < 0 && errno == EINTR)
      continue;
    return false;
  }
}

bool http_socket::read_line(std::string& line, std::size_t max) {
  line.clear();
  for (;;) {
    if (!fill())
      return false;
    const char* begin = in_.data() + in_begin_;
    const char* end = in_.data() + in_end_;
    const char* nl = std::find(begin, end, '\n');
    line.append(begin, nl);
    if (line.size() > max)
      return false;
    if (nl != end) {
      in_begin_ += static_cast<std::size_t>(nl - begin) + 1;
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      return true;
    }
    in_begin_ = in_end_;
  }
}

protocol::result<http_request> http_socket::read_head() {
  std::string head;
  std::string line;
  for (;;) {
    const std::size_t room = max_head_bytes > head.size() ? max_head_bytes - head.size() : 0;
    if (!read_line(line, room)) {
      if (line.size() > room) {
        return make_error(files_errc::head_too_large,
                          "the request head exceeds " + std::to_string(max_head_bytes) + " bytes");
      }
      return std::make_error_code(std::errc::connection_aborted);
    }
    if (line.empty()) {
      if (head.empty())
        continue; // stray CRLF before a request line is allowed (RFC 9112 2.2)
      break;
    }
    head += line;
    head += '\n';
  }
  auto req = parse_request_head(head);
  if (!req.ok())
    return bad_request(std::move(req).error().text);
  return req;
}

protocol::result<void> http_socket::begin_body(const http_request& req) {
  body_length_.reset();
  const std::string te = req.header("transfer-encoding");
  const std::string cl = req.header("content-length");
  if (!te.empty()) {
    if (te != "chunked" && te != "Chunked") {
      return make_error(files_errc::not_implemented,
                        "Transfer-Encoding " + te + " is not supported");
    }
    framing_ = framing::chunked;
    remaining_ = 0;
    body_done_ = false;
    return {};
  }
  if (!cl.empty()) {
    if (cl.size() > 19 || cl.find_first_not_of("0123456789") != std::string::npos) {
      return bad_request("bad Content-Length");
    }
    framing_ = framing::length;
    body_length_ = remaining_ = std::stoull(cl);
    body_done_ = remaining_ == 0;
    return {};
  }
  framing_ = framing::none;
  body_length_ = 0;
  body_done_ = true;
  return {};
}

bool http_socket::send_continue(const http_request& req) {
  if (continue_sent_ || body_done_)
    return true;
  std::string expect = req.header("expect");
  std::transform(expect.begin(), expect.end(), expect.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (expect != "100-continue")
    return true;
  continue_sent_ = true;
  return write_all("HTTP/1.1 100 Continue\r\n\r\n");
}

ssize_t http_socket::read_body(char* buf, std::size_t n) {
  if (body_done_)
    return 0;
  if (framing_ == framing::chunked && remaining_ == 0) {
    std::string line;
    if (!read_line(line, 1024))
      return -1;
    const auto semi = line.find(';');
    const std::string size_text = line.substr(0, semi);
    if (size_text.empty() || size_text.size() > 15 ||
        size_text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      return -1;
    }
    remaining_ = std::stoull(size_text, nullptr, 16);
    if (remaining_ == 0) {
      // Trailer fields, up to the blank line.
      do {
        if (!read_line(line, 8192))
          return -1;
      } while (!line.empty());
      body_done_ = true;
      return 0;
    }
  }
  if (!fill())
    return -1;
  const std::size_t take =
      static_cast<std::size_t>(std::min<std::uint64_t>({remaining_, n, in_end_ - in_begin_}));
  std::copy_n(in_.data() + in_begin_, take, buf);
  in_begin_ += take;
  remaining_ -= take;
  if (remaining_ == 0) {
    if (framing_ == framing::length) {
      body_done_ = true;
    } else {
      std::string crlf;
      if (!read_line(crlf, 2) || !crlf.empty())
        return -1;
    }
  }
  return static_cast<ssize_t>(take);
}

bool http_socket::write_all(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool http_socket::write_head(int status,
                             const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out =
      "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
  for (const auto& [name, value] : headers)
    out += name + ": " + value + "\r\n";
  out += "Connection: close\r\n\r\n";
  return write_all(out);
}

bool http_socket::send_json(int status, const std::string& json,
                            std::vector<std::pair<std::string, std::string>> headers) {
  headers.emplace_back("Content-Type", "application/json");
  headers.emplace_back("Content-Length", std::to_string(json.size() + 1));
  return write_head(status, headers) && write_all(json) && write_all("\n");
}

bool http_socket::send_error(const files_error& e) {
  return send_json(http_status(e.code), error_json(e));
}

bool http_socket::write_chunk(std::string_view data) {
  char size[24];
  const int len = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return write_all(std::string_view(size, static_cast<std::size_t>(len))) && write_all(data) &&
         write_all("\r\n");
}

bool http_socket::end_chunks() {
  return write_all("0\r\n\r\n");
}

void http_socket::lingering_close() {
  if (!fd_)
    return;
  ::shutdown(fd_.get(), SHUT_WR);
  // Drop what the peer still sends, for at most 2 s or 4 MiB: enough for it to read our
  // response; a peer that keeps sending is cut off.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  std::size_t dropped = 0;
  while (dropped < (4u << 20)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0)
      break;
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0)
      break;
    const ssize_t n = ::recv(fd_.get(), in_.data(), in_.size(), MSG_DONTWAIT);
    if (n <= 0)
      break;
    dropped += static_cast<std::size_t>(n);
  }
  fd_.reset();
}

} // namespace agentrt::runtime::files

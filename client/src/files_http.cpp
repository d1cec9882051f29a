// Blocking HTTP/1.1 for the files API client.
#include "files_http.hpp"

#include "agentrt/protocol/errc.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <openssl/ssl.h>

#include "tls_context.hpp"

namespace agentrt::client::detail {

struct http_exchange::tls_state {
  std::shared_ptr<asio::ssl::context> ctx;
  SSL* ssl = nullptr;
  ~tls_state() {
    if (ssl)
      SSL_free(ssl);
  }
};

protocol::result<base_url> parse_base_url(const std::string& url) {
  base_url out;
  std::string rest;
  for (const auto& [scheme, tls] : {std::pair<std::string, bool>{"ws://", false},
                                    {"wss://", true},
                                    {"http://", false},
                                    {"https://", true}}) {
    if (url.rfind(scheme, 0) == 0) {
      out.tls = tls;
      rest = url.substr(scheme.size());
      break;
    }
  }
  if (rest.empty())
    return {protocol::errc::invalid_value, "not a ws://, wss://, http:// or https:// URL: " + url};
  const std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos)
      return {protocol::errc::invalid_value, "bad IPv6 address in " + url};
    out.host = authority.substr(1, close - 1);
    out.port = close + 2 <= authority.size() ? authority.substr(close + 2) : "";
  } else {
    const auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    out.port = colon == std::string::npos ? "" : authority.substr(colon + 1);
  }
  if (out.port.empty())
    out.port = out.tls ? "443" : "80";
  if (out.host.empty())
    return {protocol::errc::invalid_value, "no host in " + url};
  return out;
}

std::string query_encode(std::string_view s) {
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

http_exchange::http_exchange(const files_options& options, const base_url& url)
    : options_(options), url_(url) {}

http_exchange::~http_exchange() {
  tls_.reset();
  if (fd_ >= 0)
    ::close(fd_);
}

namespace {

// What a cut body, or a cut line in it, has always read as, whatever broke.
protocol::error lost(std::error_code code) {
  return {code, "connection lost"};
}

} // namespace

protocol::result<void> http_exchange::start(const std::string& method, const std::string& target,
                                            std::optional<std::uint64_t> content_length,
                                            bool chunked, const std::string& extra_headers) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int rc = ::getaddrinfo(url_.host.c_str(), url_.port.c_str(), &hints, &res); rc != 0)
    return {errc::connection_failed, "cannot resolve " + url_.host + ": " + ::gai_strerror(rc)};
  const int timeout_ms = static_cast<int>(options_.idle_timeout.count());
  // The last address's refusal, told only when no address took the connection: a runtime
  // listening on 127.0.0.1 only refuses ::1 first, and that is no story once 127.0.0.1 answered.
  // When not one socket could be made there is nothing to tell but "connection lost".
  protocol::error refused = lost(errc::connection_failed);
  for (addrinfo* ai = res; ai && fd_ < 0; ai = ai->ai_next) {
    const int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0)
      continue;
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof err;
      rc = ::poll(&p, 1, timeout_ms) == 1 &&
                   ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0
               ? 0
               : -1;
      if (rc != 0)
        errno = err ? err : ETIMEDOUT;
    }
    if (rc != 0) {
      refused = {errc::connection_failed,
                 "cannot connect to " + url_.host + ":" + url_.port + ": " + std::strerror(errno)};
      ::close(fd);
      continue;
    }
    fd_ = fd;
  }
  ::freeaddrinfo(res);
  if (fd_ < 0)
    return refused;
  // Blocking from here on, with the idle timeout on each read and write.
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
  timeval tv{};
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (url_.tls) {
    tls_ = std::make_unique<tls_state>();
    tls_->ctx = make_tls_context(url_.host, options_.verify_tls, options_.ca_file);
    tls_->ssl = SSL_new(tls_->ctx->native_handle());
    if (!tls_->ssl)
      return {errc::connection_failed, "TLS setup failed"};
    SSL_set_fd(tls_->ssl, fd_);
    SSL_set_tlsext_host_name(tls_->ssl, url_.host.c_str());
    if (options_.verify_tls)
      SSL_set1_host(tls_->ssl, url_.host.c_str());
    if (SSL_connect(tls_->ssl) != 1)
      return {errc::connection_failed, "TLS handshake with " + url_.host + " failed"};
  }
  std::string head = method + " " + target + " HTTP/1.1\r\nHost: " + url_.host + ":" + url_.port +
                     "\r\nUser-Agent: agentrt-client\r\n";
  if (options_.token)
    head += "Authorization: Bearer " + *options_.token + "\r\n";
  if (chunked)
    head += "Transfer-Encoding: chunked\r\n";
  else if (content_length)
    head += "Content-Length: " + std::to_string(*content_length) + "\r\n";
  head += extra_headers;
  head += "\r\n";
  chunked_out_ = chunked;
  return write_raw(head.data(), head.size());
}

protocol::result<void> http_exchange::write_raw(const char* data, std::size_t n) {
  while (n > 0) {
    long w;
    if (tls_) {
      w = SSL_write(tls_->ssl, data, static_cast<int>(std::min<std::size_t>(n, 1 << 30)));
    } else {
      w = ::send(fd_, data, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR)
        continue;
    }
    if (w <= 0) {
      const std::error_code code =
          !tls_ && w < 0 ? std::error_code(errno, std::generic_category()) : errc::closed;
      return {code, "connection lost while sending"};
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return {};
}

protocol::result<std::size_t> http_exchange::read_raw(char* buf, std::size_t n) {
  for (;;) {
    if (tls_) {
      const int r = SSL_read(tls_->ssl, buf, static_cast<int>(std::min<std::size_t>(n, 1 << 30)));
      if (r > 0)
        return static_cast<std::size_t>(r);
      if (SSL_get_error(tls_->ssl, r) == SSL_ERROR_ZERO_RETURN)
        return std::size_t{0};
      return lost(errc::closed);
    }
    const long r = ::recv(fd_, buf, n, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return lost(std::error_code(errno, std::generic_category()));
    return static_cast<std::size_t>(r);
  }
}

protocol::result<void> http_exchange::send(std::string_view data) {
  if (data.empty())
    return {};
  if (chunked_out_) {
    char size[24];
    const int len = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    if (auto sent = write_raw(size, static_cast<std::size_t>(len)); !sent.ok())
      return sent;
    if (auto sent = write_raw(data.data(), data.size()); !sent.ok())
      return sent;
    return write_raw("\r\n", 2);
  }
  return write_raw(data.data(), data.size());
}

protocol::result<void> http_exchange::finish_body() {
  if (!chunked_out_)
    return {};
  return write_raw("0\r\n\r\n", 5);
}

protocol::result<void> http_exchange::fill() {
  if (in_pos_ < in_.size())
    return {};
  in_.resize(256 * 1024);
  in_pos_ = 0;
  auto n = read_raw(in_.data(), in_.size());
  if (!n.ok() || n.value() == 0) {
    in_.clear();
    return n.ok() ? lost(errc::closed) : std::move(n).error();
  }
  in_.resize(n.value());
  return {};
}

protocol::result<std::string> http_exchange::read_line() {
  std::string line;
  for (;;) {
    if (auto filled = fill(); !filled.ok())
      return std::move(filled).error();
    const auto nl = in_.find('\n', in_pos_);
    line.append(in_, in_pos_, (nl == std::string::npos ? in_.size() : nl) - in_pos_);
    if (line.size() > 64 * 1024)
      return {errc::protocol_violation, "a line longer than 64 KiB"};
    if (nl != std::string::npos) {
      in_pos_ = nl + 1;
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      return line;
    }
    in_pos_ = in_.size();
  }
}

protocol::result<void> http_exchange::read_head() {
  for (;;) {
    // A status line too long to be one reads as a close too, as it always has.
    auto status_line = read_line();
    if (!status_line.ok())
      return {status_line.error().code, "the connection closed before an answer"};
    const std::string& line = status_line.value();
    if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12)
      return {errc::protocol_violation, "not an HTTP answer: " + line.substr(0, 80)};
    status_ = std::atoi(line.c_str() + 9);
    headers_.clear();
    for (;;) {
      auto header_line = read_line();
      if (!header_line.ok())
        return {header_line.error().code, "the connection closed in the answer's head"};
      const std::string& h = header_line.value();
      if (h.empty())
        break;
      const auto colon = h.find(':');
      if (colon == std::string::npos)
        continue;
      std::string name = h.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string value = h.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      headers_[name] = value;
    }
    if (status_ != 100)
      break;
  }
  chunked_in_ = header("transfer-encoding") == "chunked";
  const std::string cl = header("content-length");
  if (!chunked_in_ && !cl.empty())
    left_ = std::strtoull(cl.c_str(), nullptr, 10);
  done_ = !chunked_in_ && left_ && *left_ == 0;
  return {};
}

std::string http_exchange::header(const std::string& lower_name) const {
  auto it = headers_.find(lower_name);
  return it == headers_.end() ? std::string() : it->second;
}

protocol::result<std::size_t> http_exchange::read_body(char* buf, std::size_t n) {
  if (done_)
    return std::size_t{0};
  if (chunked_in_ && chunk_left_ == 0) {
    auto size_line = read_line();
    if (!size_line.ok())
      return lost(size_line.error().code);
    chunk_left_ = std::strtoull(size_line.value().c_str(), nullptr, 16);
    if (chunk_left_ == 0) {
      // The trailer, up to its blank line; the body is whole whatever happens to it.
      auto trailer = read_line();
      while (trailer.ok() && !trailer.value().empty())
        trailer = read_line();
      done_ = true;
      return std::size_t{0};
    }
  }
  std::uint64_t want = n;
  if (chunked_in_)
    want = std::min(want, chunk_left_);
  else if (left_)
    want = std::min(want, *left_);
  if (in_pos_ >= in_.size() && !chunked_in_ && want >= 64 * 1024) {
    // Nothing buffered and a large read wanted: straight into the caller's buffer, no copy.
    auto got = read_raw(buf, static_cast<std::size_t>(want));
    if (!got.ok())
      return std::move(got).error();
    if (got.value() == 0) {
      if (!left_) {
        done_ = true; // delimited by the close
        return std::size_t{0};
      }
      return lost(errc::closed);
    }
    if (left_) {
      *left_ -= got.value();
      done_ = *left_ == 0;
    }
    return got.value();
  }
  if (auto filled = fill(); !filled.ok()) {
    // A body delimited by the close ends at any failed read here, not only at the close itself
    // (as it always has).
    if (!chunked_in_ && !left_) {
      done_ = true;
      return std::size_t{0};
    }
    return std::move(filled).error();
  }
  const std::size_t take =
      static_cast<std::size_t>(std::min<std::uint64_t>(want, in_.size() - in_pos_));
  std::memcpy(buf, in_.data() + in_pos_, take);
  in_pos_ += take;
  if (chunked_in_) {
    chunk_left_ -= take;
    if (chunk_left_ == 0) {
      if (auto crlf = read_line(); !crlf.ok())
        return lost(crlf.error().code);
    }
  } else if (left_) {
    *left_ -= take;
    done_ = *left_ == 0;
  }
  return take;
}

protocol::result<void> http_exchange::append_body(std::string& out, std::size_t max) {
  char buf[16384];
  for (;;) {
    auto n = read_body(buf, sizeof buf);
    if (!n.ok())
      return std::move(n).error();
    if (n.value() == 0)
      return {};
    // Past max reads as a cut, as it always has.
    if (out.size() + n.value() > max)
      return lost(errc::protocol_violation);
    out.append(buf, n.value());
  }
}

protocol::result<std::string> http_exchange::read_all(std::size_t max) {
  std::string out;
  if (auto read = append_body(out, max); !read.ok())
    return std::move(read).error();
  return out;
}

std::string http_exchange::read_best_effort(std::size_t max) {
  std::string out;
  (void)append_body(out, max); // what came is all there is to parse
  return out;
}

} // namespace agentrt::client::detail

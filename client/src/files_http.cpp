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

bool http_exchange::start(const std::string& method, const std::string& target,
                          std::optional<std::uint64_t> content_length, bool chunked,
                          const std::string& extra_headers) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int rc = ::getaddrinfo(url_.host.c_str(), url_.port.c_str(), &hints, &res); rc != 0) {
    error_ = "cannot resolve " + url_.host + ": " + ::gai_strerror(rc);
    return false;
  }
  const int timeout_ms = static_cast<int>(options_.idle_timeout.count());
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
      error_ = "cannot connect to " + url_.host + ":" + url_.port + ": " + std::strerror(errno);
      ::close(fd);
      continue;
    }
    fd_ = fd;
  }
  ::freeaddrinfo(res);
  if (fd_ < 0)
    return false;
  // Connected: an address tried before this one (::1 for a runtime listening on 127.0.0.1
  // only) is no longer the story, and a later failure that sets no text of its own (a cut
  // body) must read "connection lost", not that address's refusal.
  error_.clear();
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
    if (!tls_->ssl) {
      error_ = "TLS setup failed";
      return false;
    }
    SSL_set_fd(tls_->ssl, fd_);
    SSL_set_tlsext_host_name(tls_->ssl, url_.host.c_str());
    if (options_.verify_tls)
      SSL_set1_host(tls_->ssl, url_.host.c_str());
    if (SSL_connect(tls_->ssl) != 1) {
      error_ = "TLS handshake with " + url_.host + " failed";
      return false;
    }
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

bool http_exchange::write_raw(const char* data, std::size_t n) {
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
      error_ = "connection lost while sending";
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

long http_exchange::read_raw(char* buf, std::size_t n) {
  for (;;) {
    long r;
    if (tls_) {
      r = SSL_read(tls_->ssl, buf, static_cast<int>(std::min<std::size_t>(n, 1 << 30)));
      if (r <= 0)
        return SSL_get_error(tls_->ssl, static_cast<int>(r)) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
      return r;
    }
    r = ::recv(fd_, buf, n, 0);
    if (r < 0 && errno == EINTR)
      continue;
    return r;
  }
}

bool http_exchange::send(std::string_view data) {
  if (data.empty())
    return true;
  if (chunked_out_) {
    char size[24];
    const int len = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return write_raw(size, static_cast<std::size_t>(len)) && write_raw(data.data(), data.size()) &&
           write_raw("\r\n", 2);
  }
  return write_raw(data.data(), data.size());
}

bool http_exchange::finish_body() {
  return !chunked_out_ || write_raw("0\r\n\r\n", 5);
}

bool http_exchange::fill() {
  if (in_pos_ < in_.size())
    return true;
  in_.resize(256 * 1024);
  in_pos_ = 0;
  const long n = read_raw(in_.data(), in_.size());
  if (n <= 0) {
    in_.clear();
    return false;
  }
  in_.resize(static_cast<std::size_t>(n));
  return true;
}

bool http_exchange::read_line(std::string& line) {
  line.clear();
  for (;;) {
    if (!fill())
      return false;
    const auto nl = in_.find('\n', in_pos_);
    line.append(in_, in_pos_, (nl == std::string::npos ? in_.size() : nl) - in_pos_);
    if (line.size() > 64 * 1024)
      return false;
    if (nl != std::string::npos) {
      in_pos_ = nl + 1;
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      return true;
    }
    in_pos_ = in_.size();
  }
}

bool http_exchange::read_head() {
  std::string line;
  for (;;) {
    if (!read_line(line)) {
      error_ = "the connection closed before an answer";
      return false;
    }
    if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12) {
      error_ = "not an HTTP answer: " + line.substr(0, 80);
      return false;
    }
    status_ = std::atoi(line.c_str() + 9);
    headers_.clear();
    for (;;) {
      if (!read_line(line)) {
        error_ = "the connection closed in the answer's head";
        return false;
      }
      if (line.empty())
        break;
      const auto colon = line.find(':');
      if (colon == std::string::npos)
        continue;
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string value = line.substr(colon + 1);
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
  return true;
}

std::string http_exchange::header(const std::string& lower_name) const {
  auto it = headers_.find(lower_name);
  return it == headers_.end() ? std::string() : it->second;
}

long http_exchange::read_body(char* buf, std::size_t n) {
  if (done_)
    return 0;
  if (chunked_in_ && chunk_left_ == 0) {
    std::string line;
    if (!read_line(line))
      return -1;
    chunk_left_ = std::strtoull(line.c_str(), nullptr, 16);
    if (chunk_left_ == 0) {
      do {
        if (!read_line(line))
          break;
      } while (!line.empty());
      done_ = true;
      return 0;
    }
  }
  std::uint64_t want = n;
  if (chunked_in_)
    want = std::min(want, chunk_left_);
  else if (left_)
    want = std::min(want, *left_);
  if (in_pos_ >= in_.size() && !chunked_in_ && want >= 64 * 1024) {
    // Nothing buffered and a large read wanted: straight into the caller's buffer, no copy.
    const long got = read_raw(buf, static_cast<std::size_t>(want));
    if (got <= 0) {
      if (got == 0 && !left_) {
        done_ = true; // delimited by the close
        return 0;
      }
      return -1;
    }
    if (left_) {
      *left_ -= static_cast<std::uint64_t>(got);
      done_ = *left_ == 0;
    }
    return got;
  }
  if (!fill()) {
    if (!chunked_in_ && !left_) {
      done_ = true; // delimited by the close
      return 0;
    }
    return -1;
  }
  const std::size_t take =
      static_cast<std::size_t>(std::min<std::uint64_t>(want, in_.size() - in_pos_));
  std::memcpy(buf, in_.data() + in_pos_, take);
  in_pos_ += take;
  if (chunked_in_) {
    chunk_left_ -= take;
    if (chunk_left_ == 0) {
      std::string crlf;
      if (!read_line(crlf))
        return -1;
    }
  } else if (left_) {
    *left_ -= take;
    done_ = *left_ == 0;
  }
  return static_cast<long>(take);
}

bool http_exchange::read_all(std::string& out, std::size_t max) {
  char buf[16384];
  for (;;) {
    const long n = read_body(buf, sizeof buf);
    if (n == 0)
      return true;
    if (n < 0 || out.size() + static_cast<std::size_t>(n) > max)
      return false;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

} // namespace agentrt::client::detail

// The loopback HTTP test server: an accept thread plus one thread per connection, plain POSIX
// sockets. Every wait polls in short slices so the destructor never waits on a stalled client.
#include "support/http_test_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace agentrt::test {

namespace {

using steady = std::chrono::steady_clock;

constexpr std::size_t max_header_bytes = 64 * 1024;
constexpr std::size_t put_head_bytes = 64 * 1024;
constexpr std::size_t io_chunk = 256 * 1024;
constexpr int poll_slice_ms = 20;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos)
    return {};
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

const char* reason(int status) {
  switch (status) {
  case 100:
    return "Continue";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 204:
    return "No Content";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 303:
    return "See Other";
  case 307:
    return "Temporary Redirect";
  case 308:
    return "Permanent Redirect";
  case 400:
    return "Bad Request";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 411:
    return "Length Required";
  case 500:
    return "Internal Server Error";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  default:
    return "Status";
  }
}

} // namespace

std::uint64_t fnv1a64(std::uint64_t hash, const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= p[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

void fill_generated(std::uint64_t offset, char* out, std::size_t size) {
  while (size > 0) {
    const std::uint64_t word = splitmix64(offset / 8);
    const std::size_t in = static_cast<std::size_t>(offset % 8);
    const std::size_t take = std::min<std::size_t>(8 - in, size);
    std::memcpy(out, reinterpret_cast<const char*>(&word) + in, take);
    out += take;
    offset += take;
    size -= take;
  }
}

std::uint64_t generated_checksum(std::uint64_t size) {
  std::vector<char> buf(io_chunk);
  std::uint64_t hash = fnv1a64_offset_basis;
  for (std::uint64_t off = 0; off < size;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - off));
    fill_generated(off, buf.data(), n);
    hash = fnv1a64(hash, buf.data(), n);
    off += n;
  }
  return hash;
}

http_response http_response::with_status(int status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

http_response http_response::generated(std::uint64_t size) {
  http_response r;
  r.generated_size = size;
  return r;
}

http_response http_response::file(std::string path) {
  http_response r;
  r.file_path = std::move(path);
  return r;
}

http_response http_response::redirect(std::string location, int status) {
  http_response r;
  r.status = status;
  r.location = std::move(location);
  return r;
}

struct http_test_server::impl {
  struct connection {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  int listen_fd = -1;
  std::uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::thread acceptor;
  std::vector<connection> connections; // touched by the acceptor, then by the destructor

  mutable std::mutex mutex;
  std::map<std::string, std::vector<http_response>> routes;
  std::map<std::string, std::size_t> counts;
  std::vector<http_request_record> requests;
  std::vector<http_put_record> puts;
  std::set<int> live_fds;

  void accept_loop();
  void serve(int fd);
};

namespace {

// One connection's I/O, every wait sliced so a stopping server or a departed client ends it.
class connection_io {
public:
  connection_io(int fd, const std::atomic<bool>& stopping) : fd_(fd), stopping_(stopping) {}

  // Bytes received, 0 on EOF, -1 on error or stop.
  ssize_t recv_some(char* out, std::size_t size) {
    if (!pending_.empty()) {
      const std::size_t n = std::min(size, pending_.size());
      std::memcpy(out, pending_.data(), n);
      pending_.erase(0, n);
      return static_cast<ssize_t>(n);
    }
    while (!stopping_) {
      pollfd p{fd_, POLLIN, 0};
      const int rc = ::poll(&p, 1, poll_slice_ms);
      if (rc < 0 && errno != EINTR)
        return -1;
      if (rc <= 0)
        continue;
      const ssize_t n = ::recv(fd_, out, size, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      return n;
    }
    return -1;
  }

  bool send_all(const char* data, std::size_t size) {
    while (size > 0) {
      if (stopping_)
        return false;
      pollfd p{fd_, POLLOUT, 0};
      const int rc = ::poll(&p, 1, poll_slice_ms);
      if (rc < 0 && errno != EINTR)
        return false;
      if (rc <= 0)
        continue;
      if (p.revents & (POLLERR | POLLHUP))
        return false;
      const ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (n <= 0)
        return false;
      data += n;
      size -= static_cast<std::size_t>(n);
    }
    return true;
  }
  bool send_all(const std::string& s) { return send_all(s.data(), s.size()); }

  // Waits until deadline; false early when the server stops or the client has gone away.
  bool pause_until(steady::time_point deadline) {
    while (!stopping_) {
      const auto now = steady::now();
      if (now >= deadline)
        return true;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      const int slice = static_cast<int>(std::min<long long>(left.count() + 1, poll_slice_ms));
      // Only POLLRDHUP is asked for: unread request bytes must not count as an event.
      pollfd p{fd_, POLLRDHUP, 0};
      const int rc = ::poll(&p, 1, slice);
      if (rc < 0 && errno != EINTR)
        return false;
      if (rc > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
        return false;
    }
    return false;
  }
  bool pause(std::chrono::milliseconds d) { return pause_until(steady::now() + d); }
  void hang() { pause_until(steady::time_point::max()); }

  // Makes the final close() send RST instead of FIN.
  void reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }

  void unread(std::string bytes) { pending_ = std::move(bytes) + pending_; }

private:
  int fd_;
  const std::atomic<bool>& stopping_;
  std::string pending_;
};

// Keeps a throttled stream at bytes_per_second on average.
class pacer {
public:
  explicit pacer(std::uint64_t bytes_per_second) : rate_(bytes_per_second), start_(steady::now()) {}
  std::size_t chunk(std::size_t wanted) const {
    if (rate_ == 0)
      return wanted;
    return static_cast<std::size_t>(
        std::min<std::uint64_t>(wanted, std::max<std::uint64_t>(1, rate_ / 20)));
  }
  bool wait(connection_io& io, std::uint64_t done) const {
    if (rate_ == 0)
      return true;
    const auto due = start_ + std::chrono::microseconds(done * 1000000 / rate_);
    return io.pause_until(due);
  }

private:
  std::uint64_t rate_;
  steady::time_point start_;
};

std::string status_head(const http_response& r, std::uint64_t content_length) {
  std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
  if (!r.close_delimited)
    head += "Content-Length: " + std::to_string(content_length) + "\r\n";
  head += "Connection: close\r\n";
  if (!r.location.empty())
    head += "Location: " + r.location + "\r\n";
  for (const auto& [name, value] : r.headers)
    head += name + ": " + value + "\r\n";
  return head + "\r\n";
}

// Bytes left before the next scripted event (reset or stall), or the whole rest.
std::uint64_t until_event(const http_response& r, std::uint64_t offset, std::uint64_t total) {
  std::uint64_t end = total;
  if (r.reset_after)
    end = std::min(end, *r.reset_after);
  if (r.stall_after)
    end = std::min(end, *r.stall_after);
  return end > offset ? end - offset : 0;
}

// true when a scripted reset or stall happened at offset (and was carried out).
bool scripted_event(connection_io& io, const http_response& r, std::uint64_t offset) {
  if (r.reset_after && offset >= *r.reset_after) {
    io.reset();
    return true;
  }
  if (r.stall_after && offset >= *r.stall_after) {
    io.hang();
    return true;
  }
  return false;
}

void answer_get(connection_io& io, const http_response& r, bool head_only) {
  if (r.hang)
    return io.hang();
  if (r.delay.count() > 0 && !io.pause(r.delay))
    return;

  int file_fd = -1;
  std::uint64_t size = r.body.size();
  if (!r.file_path.empty()) {
    file_fd = ::open(r.file_path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (file_fd < 0 || ::fstat(file_fd, &st) != 0) {
      if (file_fd >= 0)
        ::close(file_fd);
      io.send_all(status_head(http_response::with_status(500), 0));
      return;
    }
    size = static_cast<std::uint64_t>(st.st_size);
  } else if (r.generated_size) {
    size = *r.generated_size;
  }
  struct file_closer {
    int fd;
    ~file_closer() {
      if (fd >= 0)
        ::close(fd);
    }
  } closer{file_fd};

  if (!io.send_all(status_head(r, size)) || head_only)
    return;
  std::vector<char> buf(io_chunk);
  const pacer pace(r.bytes_per_second);
  for (std::uint64_t offset = 0; offset < size;) {
    if (scripted_event(io, r, offset))
      return;
    std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), until_event(r, offset, size)));
    n = pace.chunk(n);
    if (r.byte_interval.count() > 0) {
      n = 1;
      if (!io.pause(r.byte_interval))
        return;
    }
    if (file_fd >= 0) {
      const ssize_t got = ::pread(file_fd, buf.data(), n, static_cast<off_t>(offset));
      if (got <= 0)
        return;
      n = static_cast<std::size_t>(got);
    } else if (r.generated_size) {
      fill_generated(offset, buf.data(), n);
    } else {
      std::memcpy(buf.data(), r.body.data() + offset, n);
    }
    if (!io.send_all(buf.data(), n))
      return;
    offset += n;
    if (!pace.wait(io, offset))
      return;
  }
}

} // namespace

void http_test_server::impl::accept_loop() {
  while (!stopping) {
    pollfd p{listen_fd, POLLIN, 0};
    if (::poll(&p, 1, poll_slice_ms) <= 0)
      continue;
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    {
      std::lock_guard<std::mutex> lock(mutex);
      live_fds.insert(fd);
    }
    // Joins finished connection threads so a long test does not pile them up.
    connections.erase(std::remove_if(connections.begin(), connections.end(),
                                     [](connection& c) {
                                       if (!c.done->load())
                                         return false;
                                       c.thread.join();
                                       return true;
                                     }),
                      connections.end());
    auto done = std::make_shared<std::atomic<bool>>(false);
    connections.push_back({std::thread([this, fd, done] {
                             serve(fd);
                             done->store(true);
                           }),
                           done});
  }
}

void http_test_server::impl::serve(int fd) {
  connection_io io(fd, stopping);
  auto finish = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    live_fds.erase(fd);
    ::close(fd);
  };

  // Request head.
  std::string data;
  std::size_t head_end = std::string::npos;
  char chunk[16 * 1024];
  while (head_end == std::string::npos) {
    if (data.size() > max_header_bytes)
      return finish();
    const ssize_t n = io.recv_some(chunk, sizeof chunk);
    if (n <= 0)
      return finish();
    data.append(chunk, static_cast<std::size_t>(n));
    head_end = data.find("\r\n\r\n");
  }
  io.unread(data.substr(head_end + 4));
  data.resize(head_end);

  http_request_record req;
  std::size_t line_end = data.find("\r\n");
  const std::string request_line = data.substr(0, line_end);
  const auto sp1 = request_line.find(' ');
  const auto sp2 = request_line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos)
    return finish();
  req.method = request_line.substr(0, sp1);
  req.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  req.path = req.target.substr(0, req.target.find('?'));
  while (line_end != std::string::npos && line_end < data.size()) {
    const std::size_t start = line_end + 2;
    line_end = data.find("\r\n", start);
    const std::string line =
        data.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      req.headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
    }
  }

  http_response r = http_response::with_status(404, "no route\n");
  {
    std::lock_guard<std::mutex> lock(mutex);
    const std::size_t index = counts[req.path]++;
    requests.push_back(req);
    if (auto it = routes.find(req.path); it != routes.end() && !it->second.empty()) {
      r = it->second[std::min(index, it->second.size() - 1)];
    }
  }

  if (req.method != "PUT" && req.method != "POST") {
    answer_get(io, r, req.method == "HEAD");
    return finish();
  }

  http_put_record rec;
  rec.path = req.path;
  rec.target = req.target;
  rec.headers = req.headers;
  if (auto it = req.headers.find("content-type"); it != req.headers.end()) {
    rec.content_type = it->second;
  }
  auto length = req.headers.find("content-length");
  if (length == req.headers.end()) {
    io.send_all(status_head(http_response::with_status(411), 0));
    return finish();
  }
  rec.content_length = std::strtoull(length->second.c_str(), nullptr, 10);
  auto record = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    puts.push_back(rec);
  };
  if (auto it = req.headers.find("expect");
      it != req.headers.end() && lower(it->second) == "100-continue") {
    io.send_all("HTTP/1.1 100 Continue\r\n\r\n");
  }
  if (r.delay.count() > 0 && !io.pause(r.delay)) {
    record();
    return finish();
  }

  std::vector<char> buf(io_chunk);
  const pacer pace(r.bytes_per_second);
  const std::uint64_t total = *rec.content_length;
  while (rec.body_bytes < total) {
    if (scripted_event(io, r, rec.body_bytes)) {
      record();
      return finish();
    }
    std::size_t want = static_cast<std::size_t>(
        std::min<std::uint64_t>(buf.size(), until_event(r, rec.body_bytes, total)));
    const ssize_t n = io.recv_some(buf.data(), pace.chunk(want));
    if (n <= 0) {
      record();
      return finish();
    }
    const auto got = static_cast<std::size_t>(n);
    rec.body_fnv1a64 = fnv1a64(rec.body_fnv1a64, buf.data(), got);
    if (rec.body_head.size() < put_head_bytes) {
      rec.body_head.append(buf.data(), std::min(got, put_head_bytes - rec.body_head.size()));
    }
    rec.body_bytes += got;
    if (!pace.wait(io, rec.body_bytes)) {
      record();
      return finish();
    }
  }
  rec.complete = true;
  record();
  if (r.hang) {
    io.hang();
    return finish();
  }
  if (io.send_all(status_head(r, r.body.size())))
    io.send_all(r.body);
  finish();
}

http_test_server::http_test_server() : impl_(std::make_unique<impl>()) {
  impl_->listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (impl_->listen_fd < 0)
    throw std::runtime_error("http_test_server: socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(impl_->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(impl_->listen_fd, 128) != 0 ||
      ::getsockname(impl_->listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(impl_->listen_fd);
    throw std::runtime_error(std::string("http_test_server: bind/listen failed: ") +
                             std::strerror(err));
  }
  impl_->port = ntohs(addr.sin_port);
  impl_->acceptor = std::thread([this] { impl_->accept_loop(); });
}

http_test_server::~http_test_server() {
  impl_->stopping = true;
  impl_->acceptor.join();
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    for (int fd : impl_->live_fds)
      ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& c : impl_->connections)
    c.thread.join();
  ::close(impl_->listen_fd);
}

std::uint16_t http_test_server::port() const {
  return impl_->port;
}

std::string http_test_server::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + path;
}

void http_test_server::route(const std::string& path, std::vector<http_response> script) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->routes[path] = std::move(script);
}

void http_test_server::route(const std::string& path, http_response response) {
  route(path, std::vector<http_response>{std::move(response)});
}

std::size_t http_test_server::request_count(const std::string& path) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  auto it = impl_->counts.find(path);
  return it == impl_->counts.end() ? 0 : it->second;
}

std::vector<http_request_record> http_test_server::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->requests;
}

std::vector<http_put_record> http_test_server::puts() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->puts;
}

std::size_t http_test_server::open_connections() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->live_fds.size();
}

} // namespace agentrt::test

// Minimal HTTP/1.1 for the bench: Content-Length bodies only (what the runtime's libcurl
// sends and expects), keep-alive, Expect: 100-continue.
#include "http_bench_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "byte_pattern.hpp"
#include "socket_io.hpp"

namespace agentrt::bench {
namespace {

constexpr std::size_t max_header_bytes = 64 * 1024;

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  const auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string status_line(int code, const char* reason, std::uint64_t length) {
  return "HTTP/1.1 " + std::to_string(code) + " " + reason +
         "\r\nContent-Length: " + std::to_string(length) +
         "\r\nContent-Type: application/octet-stream\r\n\r\n";
}

} // namespace

http_bench_server::http_bench_server(std::string bind_host, std::string url_host)
    : bind_host_(std::move(bind_host)), url_host_(std::move(url_host)) {}

http_bench_server::~http_bench_server() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (const int fd : live_fds_)
      ::shutdown(fd, SHUT_RDWR);
  }
  if (listen_fd_ >= 0)
    ::shutdown(listen_fd_, SHUT_RDWR); // wakes accept()
  if (acceptor_.joinable())
    acceptor_.join();
  if (listen_fd_ >= 0)
    ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(connections_);
  }
  for (auto& t : threads)
    t.join();
}

std::error_code http_bench_server::start() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0)
    return std::error_code(errno, std::generic_category());
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (::inet_pton(AF_INET, bind_host_.c_str(), &addr.sin_addr) != 1)
    return std::make_error_code(std::errc::invalid_argument);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return std::error_code(errno, std::generic_category());
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
  return {};
}

std::string http_bench_server::url(const std::string& path) const {
  return "http://" + url_host_ + ":" + std::to_string(port_) + path;
}

void http_bench_server::serve_file(const std::string& path, const std::string& file_path) {
  std::lock_guard lock(mutex_);
  files_[path] = file_path;
}

std::optional<put_record> http_bench_server::wait_put(const std::string& path,
                                                      std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  const bool done = changed_.wait_for(lock, timeout, [&] {
    const auto it = puts_.find(path);
    return it != puts_.end() && it->second.done_at != std::chrono::steady_clock::time_point{};
  });
  if (!done)
    return std::nullopt;
  return puts_[path];
}

std::size_t http_bench_server::puts_completed() const {
  std::lock_guard lock(mutex_);
  return puts_completed_;
}

void http_bench_server::accept_loop() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard lock(mutex_);
    if (stopping_) {
      if (fd >= 0)
        ::close(fd);
      return;
    }
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
        continue;
      return;
    }
    live_fds_.insert(fd);
    connections_.emplace_back([this, fd] { serve(fd); });
  }
}

void http_bench_server::serve(int fd) {
  std::string pending;
  while (serve_request(fd, pending)) {
  }
  std::lock_guard lock(mutex_);
  live_fds_.erase(fd);
  ::close(fd);
}

bool http_bench_server::serve_request(int fd, std::string& pending) {
  std::size_t end;
  char buf[16 * 1024];
  while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
    if (pending.size() > max_header_bytes)
      return false;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    pending.append(buf, static_cast<std::size_t>(n));
  }
  std::istringstream head(pending.substr(0, end));
  pending.erase(0, end + 4);
  std::string method, target, line;
  head >> method >> target;
  std::getline(head, line);
  std::map<std::string, std::string> headers;
  while (std::getline(head, line)) {
    const auto colon = line.find(':');
    if (colon != std::string::npos)
      headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  const std::string path = target.substr(0, target.find('?'));
  bool keep_alive = false;
  if (method == "PUT") {
    const auto cl = headers.find("content-length");
    if (cl == headers.end()) {
      send_all(fd, status_line(411, "Length Required", 0));
      return false;
    }
    const auto expect = headers.find("expect");
    keep_alive =
        handle_put(fd, path, std::strtoull(cl->second.c_str(), nullptr, 10),
                   expect != headers.end() && lower(expect->second) == "100-continue", pending);
  } else if (method == "GET" || method == "HEAD") {
    keep_alive = handle_get(fd, path, method == "HEAD");
  } else {
    send_all(fd, status_line(405, "Method Not Allowed", 0));
  }
  const auto conn = headers.find("connection");
  return keep_alive && (conn == headers.end() || lower(conn->second) != "close");
}

bool http_bench_server::handle_put(int fd, const std::string& path, std::uint64_t length,
                                   bool expect_continue, std::string& pending) {
  put_record rec;
  rec.path = path;
  rec.content_length = length;
  rec.headers_at = std::chrono::steady_clock::now();
  const bool check = path.rfind("/pattern/", 0) == 0;
  pattern_checker checker;
  {
    std::lock_guard lock(mutex_);
    puts_[path] = rec;
  }
  if (expect_continue && !send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n"))
    return false;
  const std::size_t early =
      static_cast<std::size_t>(std::min<std::uint64_t>(pending.size(), length));
  if (check)
    checker.feed(pending.data(), early);
  rec.bytes = early;
  pending.erase(0, early);
  std::vector<char> buf(1 << 20);
  while (rec.bytes < length) {
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - rec.bytes));
    const ssize_t n = ::recv(fd, buf.data(), want, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (check)
      checker.feed(buf.data(), static_cast<std::size_t>(n));
    rec.bytes += static_cast<std::uint64_t>(n);
  }
  rec.done_at = std::chrono::steady_clock::now();
  rec.complete = rec.bytes == length;
  rec.pattern_ok = check && rec.complete && checker.matches();
  {
    std::lock_guard lock(mutex_);
    puts_[path] = rec;
    ++puts_completed_;
  }
  changed_.notify_all();
  return rec.complete && send_all(fd, status_line(200, "OK", 0));
}

bool http_bench_server::handle_get(int fd, const std::string& path, bool head_only) {
  std::string file;
  {
    std::lock_guard lock(mutex_);
    const auto it = files_.find(path);
    if (it != files_.end())
      file = it->second;
  }
  const int file_fd = file.empty() ? -1 : ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (file_fd < 0 || ::fstat(file_fd, &st) != 0) {
    if (file_fd >= 0)
      ::close(file_fd);
    return send_all(fd, status_line(404, "Not Found", 0));
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  bool ok = send_all(fd, status_line(200, "OK", size));
  off_t offset = 0;
  while (ok && !head_only && static_cast<std::uint64_t>(offset) < size) {
    const ssize_t n = ::sendfile(fd, file_fd, &offset, static_cast<std::size_t>(size - offset));
    if (n < 0 && errno == EINTR)
      continue;
    ok = n > 0;
  }
  ::close(file_fd);
  return ok;
}

} // namespace agentrt::bench

// put_server: accept, read the head, look the path up, stream the body to a file, answer.
#include "put_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <thread>

namespace agentrt::samples {
namespace {

constexpr std::size_t max_head_bytes = 16 * 1024;

// The Content-Length of a request head, or nullopt when it is missing or not a plain number.
std::optional<std::uint64_t> content_length(std::string_view head) {
  constexpr std::string_view name = "content-length:";
  std::size_t at = head.find("\r\n");
  while (at != std::string_view::npos) {
    const std::string_view rest = head.substr(at + 2);
    const std::string_view line = rest.substr(0, rest.find("\r\n"));
    at = head.find("\r\n", at + 2);
    if (line.size() < name.size() ||
        !std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        }))
      continue;
    std::string_view digits = line.substr(name.size());
    while (!digits.empty() && (digits.front() == ' ' || digits.front() == '\t'))
      digits.remove_prefix(1);
    if (digits.empty() || digits.size() > 19)
      return std::nullopt;
    std::uint64_t n = 0;
    for (char c : digits) {
      if (c < '0' || c > '9')
        return std::nullopt;
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
  }
  return std::nullopt;
}

void answer(int fd, std::string_view status) {
  const std::string text =
      "HTTP/1.1 " + std::string(status) + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  (void)!::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
}

} // namespace

struct put_server::state {
  std::string dir;
  std::string base_url; // "http://127.0.0.1:port"
  int listen_fd = -1;
  std::atomic<bool> stop{false};
  std::thread thread;
  std::mutex mutex;
  std::condition_variable idle;
  std::map<std::string, std::string> files; // one-shot path -> file name
  std::mt19937_64 random{std::random_device{}()};

  void run() {
    while (!stop) {
      pollfd p{listen_fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0)
        continue;
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0)
        continue;
      timeval silent{10, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &silent, sizeof silent);
      serve(fd);
      ::close(fd);
    }
  }

  void serve(int fd) {
    std::string data;
    char chunk[64 * 1024];
    std::size_t head_end;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      if (data.size() > max_head_bytes)
        return answer(fd, "431 Request Header Fields Too Large");
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0)
        return;
      data.append(chunk, static_cast<std::size_t>(n));
    }
    const std::string_view head(data.data(), head_end);
    if (head.substr(0, 4) != "PUT ")
      return answer(fd, "405 Method Not Allowed");
    const std::string path(head.substr(4, head.find(' ', 4) - 4));
    const auto length = content_length(head);
    if (!length)
      return answer(fd, "411 Length Required");
    if (*length > max_body_bytes)
      return answer(fd, "413 Content Too Large");
    std::string name;
    {
      std::lock_guard lock(mutex);
      const auto it = files.find(path);
      if (it == files.end())
        return answer(fd, "404 Not Found");
      name = it->second;
    }
    const std::filesystem::path target = std::filesystem::path(dir) / name;
    const std::filesystem::path part = target.string() + ".part";
    std::ofstream out(part, std::ios::binary | std::ios::trunc);
    std::uint64_t left = *length;
    std::string_view early = std::string_view(data).substr(head_end + 4);
    early = early.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(early.size(), left)));
    out.write(early.data(), static_cast<std::streamsize>(early.size()));
    left -= early.size();
    while (left > 0) {
      const ssize_t n = ::recv(
          fd, chunk, static_cast<std::size_t>(std::min<std::uint64_t>(sizeof chunk, left)), 0);
      std::error_code ec;
      if (n <= 0) { // cut short or silent: the URL stays valid for the sender's retry
        out.close();
        std::filesystem::remove(part, ec);
        return;
      }
      out.write(chunk, n);
      left -= static_cast<std::uint64_t>(n);
    }
    out.close();
    std::error_code ec;
    if (out)
      std::filesystem::rename(part, target, ec);
    if (!out || ec) {
      std::filesystem::remove(part, ec);
      return answer(fd, "500 Internal Server Error");
    }
    answer(fd, "200 OK");
    std::lock_guard lock(mutex);
    files.erase(path);
    idle.notify_all();
  }
};

put_server::put_server(std::string dir, const std::string& bind_host, std::string& error)
    : state_(std::make_unique<state>()) {
  state_->dir = std::move(dir);
  // Up front: a missing directory would otherwise only show as failed PUTs.
  std::error_code ec;
  std::filesystem::create_directories(state_->dir, ec);
  if (ec) {
    error = "cannot create " + state_->dir + ": " + ec.message();
    return;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::inet_pton(AF_INET, bind_host.c_str(), &addr.sin_addr) != 1 ||
      ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 8) != 0) {
    error = "cannot listen on " + bind_host;
    if (fd >= 0)
      ::close(fd);
    return;
  }
  socklen_t size = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size);
  state_->listen_fd = fd;
  state_->base_url = "http://" + bind_host + ":" + std::to_string(ntohs(addr.sin_port));
  state_->thread = std::thread([s = state_.get()] { s->run(); });
}

put_server::~put_server() {
  state_->stop = true;
  if (state_->thread.joinable())
    state_->thread.join();
  if (state_->listen_fd >= 0)
    ::close(state_->listen_fd);
}

std::string put_server::url_for(const std::string& file_name) {
  std::lock_guard lock(state_->mutex);
  // Unguessable, so that nothing else that can reach the port can place a file.
  char token[17];
  std::snprintf(token, sizeof token, "%016llx", static_cast<unsigned long long>(state_->random()));
  const std::string path = "/" + std::string(token);
  state_->files[path] = file_name;
  return state_->base_url + path;
}

bool put_server::wait_idle(int timeout_ms) {
  std::unique_lock lock(state_->mutex);
  return state_->idle.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                               [this] { return state_->files.empty(); });
}

} // namespace agentrt::samples

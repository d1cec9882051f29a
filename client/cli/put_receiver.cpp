// A deliberately small HTTP/1.1 PUT server over POSIX sockets: one thread, one connection at a
// time (uploads from one runtime are few and sequential enough), Content-Length bodies only —
// the runtime always sends one.
#include "put_receiver.hpp"

#include "agentrt/protocol/errc.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

namespace agentrt::cli {

struct put_receiver::impl {
  std::string dir;
  std::string base; // "http://host:port"
  int listen_fd = -1;
  std::atomic<bool> stopping{false};
  std::thread thread;
  std::mutex mutex;
  std::condition_variable cv;
  struct target {
    std::string name;
    done_handler done;
  };
  std::map<std::string, target> pending; // one-shot path -> where the body goes
  std::mt19937_64 rng{std::random_device{}()};

  void serve() {
    while (!stopping) {
      pollfd p{listen_fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0)
        continue;
      int fd = ::accept(listen_fd, nullptr, nullptr);
      if (fd >= 0) {
        handle(fd);
        ::close(fd);
      }
    }
  }

  void respond(int fd, const char* status) {
    std::string r =
        std::string("HTTP/1.1 ") + status + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)!::write(fd, r.data(), r.size());
  }

  void handle(int fd) {
    std::string head;
    char buf[65536];
    std::size_t header_end = std::string::npos;
    while (header_end == std::string::npos && head.size() < 65536) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0)
        return;
      head.append(buf, static_cast<std::size_t>(n));
      header_end = head.find("\r\n\r\n");
    }
    if (header_end == std::string::npos)
      return respond(fd, "400 Bad Request");
    std::string body = head.substr(header_end + 4);
    head.resize(header_end);
    const auto sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos || head.compare(0, sp1, "PUT") != 0)
      return respond(fd, "405 Method Not Allowed");
    const std::string path = head.substr(sp1 + 1, sp2 - sp1 - 1);
    unsigned long long length = 0;
    for (std::size_t pos = head.find("\r\n"); pos != std::string::npos;
         pos = head.find("\r\n", pos + 2)) {
      std::string line = head.substr(pos + 2, head.find("\r\n", pos + 2) - pos - 2);
      std::string lower;
      for (char c : line.substr(0, 15))
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "content-length:") {
        // No exceptions on this thread: a malformed value is the sender's error, not a crash.
        const std::string value = line.substr(15);
        char* end = nullptr;
        errno = 0;
        length = std::strtoull(value.c_str(), &end, 10);
        if (errno != 0 || end == value.c_str() || value.find('-') != std::string::npos)
          return respond(fd, "400 Bad Request");
      }
    }
    target t;
    {
      std::lock_guard lock(mutex);
      auto it = pending.find(path);
      if (it == pending.end())
        return respond(fd, "404 Not Found");
      t = it->second;
    }
    const std::filesystem::path final_path = std::filesystem::path(dir) / t.name;
    const std::filesystem::path part = final_path.string() + ".part";
    std::error_code ec;
    std::filesystem::create_directories(final_path.parent_path(), ec);
    std::ofstream out(part, std::ios::binary | std::ios::trunc);
    out.write(body.data(),
              static_cast<std::streamsize>(std::min<std::size_t>(body.size(), length)));
    unsigned long long got = body.size();
    while (got < length) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) {
        out.close();
        std::filesystem::remove(part, ec);
        return; // cut short: the URL stays valid for the runtime's retry
      }
      out.write(buf, n);
      got += static_cast<unsigned long long>(n);
    }
    out.close();
    const std::error_code stored = store(out, part, final_path);
    respond(fd, stored ? "500 Internal Server Error" : "200 OK");
    {
      std::lock_guard lock(mutex);
      pending.erase(path);
      cv.notify_all();
    }
    if (!t.done)
      return;
    if (stored)
      t.done(protocol::error{stored, "cannot write " + final_path.string()});
    else
      t.done({});
  }

  // Renames the complete part file into place, or removes it when writing it failed.
  static std::error_code store(const std::ofstream& out, const std::filesystem::path& part,
                               const std::filesystem::path& final_path) {
    std::error_code ec;
    if (!out) {
      std::filesystem::remove(part, ec);
      return std::make_error_code(std::errc::io_error);
    }
    std::filesystem::rename(part, final_path, ec);
    return ec;
  }
};

namespace {

struct listener {
  int fd = -1;
  std::uint16_t port = 0;
};

// A listening IPv4 socket on an ephemeral port of bind_host, or the errno of the step that
// failed (protocol::errc::invalid_value for an address inet_pton does not take).
protocol::result<listener> listen_on(const std::string& bind_host) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  const std::string text = "cannot listen on " + bind_host;
  if (::inet_pton(AF_INET, bind_host.c_str(), &addr.sin_addr) != 1)
    return {protocol::errc::invalid_value, text};
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return {std::error_code(errno, std::generic_category()), text};
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0) {
    const std::error_code ec(errno, std::generic_category());
    ::close(fd);
    return {ec, text};
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return listener{fd, ntohs(addr.sin_port)};
}

} // namespace

put_receiver::put_receiver() : impl_(std::make_unique<impl>()) {}

protocol::result<std::unique_ptr<put_receiver>>
put_receiver::open(std::string dir, const std::string& bind_host, std::string advertise_host) {
  // Created up front: a missing directory would otherwise only show as failed PUTs, which the
  // runtime logs but never reports to this client.
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return {ec, "cannot create " + dir + ": " + ec.message()};
  auto listening = listen_on(bind_host);
  if (!listening.ok())
    return std::move(listening).error();
  std::unique_ptr<put_receiver> r(new put_receiver());
  r->impl_->dir = std::move(dir);
  r->impl_->listen_fd = listening->fd;
  r->impl_->base = "http://" + advertise_host + ":" + std::to_string(listening->port);
  r->impl_->thread = std::thread([impl = r->impl_.get()] { impl->serve(); });
  return r;
}

put_receiver::~put_receiver() {
  impl_->stopping = true;
  if (impl_->thread.joinable())
    impl_->thread.join();
  if (impl_->listen_fd >= 0)
    ::close(impl_->listen_fd);
}

std::string put_receiver::url_for(const std::string& filename, done_handler done) {
  std::lock_guard lock(impl_->mutex);
  // An unguessable path: the receiver may listen on a reachable interface.
  char token[17];
  std::snprintf(token, sizeof token, "%016llx", static_cast<unsigned long long>(impl_->rng()));
  std::string path = "/" + std::string(token) + "/" + std::to_string(impl_->pending.size());
  impl_->pending[path] = impl::target{filename, std::move(done)};
  return impl_->base + path;
}

bool put_receiver::wait_idle(int timeout_ms) {
  std::unique_lock lock(impl_->mutex);
  return impl_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                            [this] { return impl_->pending.empty(); });
}

} // namespace agentrt::cli

// Peek-and-route for accepted connections.
#include "files/files_router.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <string_view>

namespace agentrt::runtime::files {
namespace {

// Long enough for any client that connects to send its request line; websocketpp applies its
// own handshake timeout afterwards.
constexpr std::chrono::seconds peek_deadline{10};
constexpr std::chrono::milliseconds repeek_delay{2};
constexpr std::size_t peek_bytes = 64;

enum class verdict { files, websocket, need_more };

// "GET /files?..." or "PUT /files/stat..." is ours; anything that cannot become "METHOD /files"
// followed by '?', '/', ' ' is websocketpp's.
verdict classify(std::string_view head) {
  const auto sp = head.find(' ');
  if (sp == std::string_view::npos)
    return head.size() >= 16 ? verdict::websocket : verdict::need_more;
  const std::string_view target = head.substr(sp + 1);
  constexpr std::string_view prefix = "/files";
  const std::size_t n = std::min(target.size(), prefix.size());
  if (target.substr(0, n) != prefix.substr(0, n))
    return verdict::websocket;
  if (target.size() <= prefix.size())
    return verdict::need_more;
  const char next = target[prefix.size()];
  return next == '?' || next == '/' || next == ' ' ? verdict::files : verdict::websocket;
}

} // namespace

struct files_router::pending {
  pending(asio::io_context& io, asio::ip::tcp::socket& s) : sock(s), timer(io), silence(io) {}
  asio::ip::tcp::socket& sock;
  std::shared_ptr<void> keep_alive;
  std::function<void()> to_websocket;
  asio::steady_timer timer;
  // A peer that sends nothing: handed to websocketpp at the deadline, whose handshake timeout
  // then closes it (as before the files API, when websocketpp got every connection at once).
  asio::steady_timer silence;
  std::chrono::steady_clock::time_point deadline;
};

files_router::~files_router() {
  shutdown();
}

void files_router::route(asio::ip::tcp::socket& sock, std::shared_ptr<void> keep_alive,
                         std::function<void()> to_websocket) {
  auto p = std::make_shared<pending>(io_, sock);
  p->keep_alive = std::move(keep_alive);
  p->to_websocket = std::move(to_websocket);
  p->deadline = std::chrono::steady_clock::now() + peek_deadline;
  pending_.emplace(p.get(), p);
  p->silence.expires_at(p->deadline);
  p->silence.async_wait([this, p](const std::error_code& ec) {
    if (ec || pending_.erase(p.get()) == 0)
      return;
    p->timer.cancel();
    std::error_code ignored;
    p->sock.cancel(ignored);
    p->to_websocket();
  });
  sock.async_wait(asio::ip::tcp::socket::wait_read, [this, p](const std::error_code& ec) {
    if (ec) {
      pending_.erase(p.get());
      return;
    }
    check(p);
  });
}

void files_router::check(const std::shared_ptr<pending>& p) {
  if (pending_.find(p.get()) == pending_.end())
    return;
  char buf[peek_bytes];
  const ssize_t n = ::recv(p->sock.native_handle(), buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
  verdict v = verdict::websocket;
  if (n > 0) {
    v = classify(std::string_view(buf, static_cast<std::size_t>(n)));
    if (v == verdict::need_more && static_cast<std::size_t>(n) == sizeof buf)
      v = verdict::websocket;
  } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    v = verdict::need_more;
  }
  // n == 0 (closed) or an error: websocketpp sees it and cleans up as before.
  if (v == verdict::need_more && std::chrono::steady_clock::now() >= p->deadline)
    v = verdict::websocket;
  if (v == verdict::need_more) {
    // A partial request line: the socket stays readable, so wait a little rather than spin.
    p->timer.expires_after(repeek_delay);
    p->timer.async_wait([this, p](const std::error_code& ec) {
      if (!ec)
        check(p);
    });
    return;
  }
  // A copy, not a reference: it keeps p alive past the erase.
  auto self = p; // NOLINT(performance-unnecessary-copy-initialization)
  pending_.erase(p.get());
  self->silence.cancel();
  if (v == verdict::websocket) {
    self->to_websocket();
    return;
  }
  std::error_code ec;
  const int fd = self->sock.release(ec);
  if (ec || fd < 0)
    return;
  server_.serve(util::unique_fd(fd));
}

void files_router::shutdown() {
  auto all = std::move(pending_);
  pending_.clear();
  for (auto& [key, p] : all) {
    std::error_code ec;
    p->timer.cancel();
    p->silence.cancel();
    p->sock.cancel(ec);
  }
}

} // namespace agentrt::runtime::files

// The cutting proxy: an Asio acceptor and two pumps per connection on one thread. The public
// members run their work on that thread and wait for it, so the state needs no locks.
#include "support/cutting_proxy.hpp"

#include <array>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

// After a standard header: Asio decides how to allocate from libstdc++ macros.
#include <asio/connect.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

namespace agentrt::test {

namespace {

using tcp = asio::ip::tcp;
constexpr std::size_t buffer_size = 64 * 1024;

} // namespace

struct cutting_proxy::impl : std::enable_shared_from_this<cutting_proxy::impl> {
  struct rule {
    direction d = direction::to_client;
    std::uint64_t bytes = 0;
    cut_style style = cut_style::close;
  };

  struct connection {
    std::size_t index = 0;
    tcp::socket client;
    tcp::socket target;
    std::array<char, buffer_size> up{};   // client -> target
    std::array<char, buffer_size> down{}; // target -> client
    std::uint64_t sent_up = 0, sent_down = 0;
    std::optional<rule> cut_rule;
    bool up_done = false, down_done = false; // end of file seen and passed on
    bool open = false;
    bool closed = false;
    explicit connection(asio::io_context& io) : client(io), target(io) {}
  };

  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor{io};
  int target_port = 0;
  int port = 0;
  bool refusing = false;
  std::vector<std::shared_ptr<connection>> connections;
  std::map<std::size_t, rule> rules; // for connections not yet accepted
  std::thread thread;

  mutable std::mutex accepted_mutex;
  std::condition_variable accepted_cv;
  std::size_t accepted_count = 0;

  // Runs fn on the proxy's thread and waits for its result.
  template <typename Fn> auto on_thread(Fn fn) const -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    asio::post(const_cast<asio::io_context&>(io), [&task] { task(); });
    return result.get();
  }

  void accept() {
    auto self = shared_from_this();
    auto c = std::make_shared<connection>(io);
    acceptor.async_accept(c->client, [self, c](std::error_code ec) {
      if (ec)
        return; // the acceptor was closed
      c->index = self->connections.size();
      self->connections.push_back(c);
      {
        std::lock_guard lock(self->accepted_mutex);
        ++self->accepted_count;
      }
      self->accepted_cv.notify_all();
      if (self->refusing) {
        self->hard_close(*c);
      } else {
        if (auto it = self->rules.find(c->index); it != self->rules.end())
          c->cut_rule = it->second;
        std::error_code ignored;
        c->client.set_option(tcp::no_delay(true), ignored);
        c->target.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                              static_cast<unsigned short>(self->target_port)),
                                [self, c](std::error_code connect_ec) {
                                  if (connect_ec || c->closed)
                                    return self->hard_close(*c);
                                  std::error_code ignored2;
                                  c->target.set_option(tcp::no_delay(true), ignored2);
                                  c->open = true;
                                  self->pump(c, direction::to_target);
                                  self->pump(c, direction::to_client);
                                });
      }
      self->accept();
    });
  }

  // Bytes still allowed to pass in d before the cut; nullopt without a rule that counts d.
  static std::optional<std::uint64_t> budget(const connection& c, direction d) {
    if (!c.cut_rule || (c.cut_rule->d != d && c.cut_rule->d != direction::either))
      return std::nullopt;
    const std::uint64_t counted = c.cut_rule->d == direction::either
                                      ? c.sent_up + c.sent_down
                                      : (d == direction::to_target ? c.sent_up : c.sent_down);
    return counted >= c.cut_rule->bytes ? 0 : c.cut_rule->bytes - counted;
  }

  // Each socket is read by one pump: client -> target or target -> client. After a graceful
  // cut the pumps go on reading and discarding until their peer closes, so that closing a
  // socket with unread data (which makes the kernel send a RST and drop what it had not sent
  // yet) never happens: the peers get every byte that passed, then end of file.
  void pump(const std::shared_ptr<connection>& c, direction d) {
    auto self = shared_from_this();
    tcp::socket& from = d == direction::to_target ? c->client : c->target;
    auto& buf = d == direction::to_target ? c->up : c->down;
    from.async_read_some(asio::buffer(buf), [self, c, d](std::error_code ec, std::size_t n) {
      tcp::socket& from_socket = d == direction::to_target ? c->client : c->target;
      tcp::socket& to_socket = d == direction::to_target ? c->target : c->client;
      std::error_code ignored;
      if (ec == asio::error::eof && !c->closed) {
        // A half-close passes through: the other direction goes on.
        to_socket.shutdown(tcp::socket::shutdown_send, ignored);
        (d == direction::to_target ? c->up_done : c->down_done) = true;
        if (c->up_done && c->down_done)
          self->hard_close(*c);
        return;
      }
      if (ec) {
        self->close(*c, cut_style::close); // one side failed, or a cut drained: end both
        from_socket.close(ignored);
        return;
      }
      if (c->closed)
        return self->pump(c, d); // draining
      std::size_t allowed = n;
      bool cut_now = false;
      if (auto left = budget(*c, d); left && *left <= n) {
        allowed = static_cast<std::size_t>(*left);
        cut_now = true;
      }
      (d == direction::to_target ? c->sent_up : c->sent_down) += allowed;
      tcp::socket& to = d == direction::to_target ? c->target : c->client;
      auto& data = d == direction::to_target ? c->up : c->down;
      asio::async_write(to, asio::buffer(data.data(), allowed),
                        [self, c, d, cut_now](std::error_code write_ec, std::size_t) {
                          if (!c->closed && (write_ec || cut_now))
                            self->close(*c, write_ec ? cut_style::close : c->cut_rule->style);
                          self->pump(c, d);
                        });
    });
  }

  // close: FIN to both peers after what passed; the pumps drain and close the sockets.
  // reset: both sockets closed at once with SO_LINGER 0.
  void close(connection& c, cut_style style) {
    if (c.closed)
      return;
    c.closed = true;
    c.open = false;
    for (tcp::socket* s : {&c.client, &c.target}) {
      std::error_code ignored;
      if (!s->is_open())
        continue;
      if (style == cut_style::reset) {
        s->set_option(asio::socket_base::linger(true, 0), ignored);
        s->close(ignored);
      } else {
        s->shutdown(tcp::socket::shutdown_send, ignored);
      }
    }
  }

  // No pumps (refused, connect failed) or shutting down: close both sockets now.
  void hard_close(connection& c) {
    c.closed = true;
    c.open = false;
    std::error_code ignored;
    c.client.close(ignored);
    c.target.close(ignored);
  }

  // A rule for connection index, or for the one that will get it; an open connection past
  // its budget already is cut at once.
  void set_rule(std::size_t index, rule r) {
    if (index >= connections.size()) {
      rules[index] = r;
      return;
    }
    connection& c = *connections[index];
    if (c.closed)
      return;
    c.cut_rule = r;
    const bool spent = r.d == direction::either
                           ? budget(c, direction::to_target) == std::optional<std::uint64_t>(0)
                           : budget(c, r.d) == std::optional<std::uint64_t>(0);
    if (spent)
      close(c, r.style);
  }
};

cutting_proxy::cutting_proxy(int target_port) : impl_(std::make_shared<impl>()) {
  impl_->target_port = target_port;
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  std::error_code ec;
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec)
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec)
    impl_->acceptor.bind(ep, ec);
  if (!ec)
    impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cutting_proxy: cannot listen: " + ec.message());
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->work.emplace(impl_->io.get_executor());
  impl_->accept();
  impl_->thread = std::thread([i = impl_] { i->io.run(); });
}

cutting_proxy::~cutting_proxy() {
  impl_->on_thread([this] {
    std::error_code ignored;
    impl_->acceptor.close(ignored);
    for (auto& c : impl_->connections)
      impl_->hard_close(*c);
    return 0;
  });
  // With the acceptor and every socket closed, the pending handlers complete (aborted) and
  // let go of the proxy; run() then returns.
  impl_->work.reset();
  impl_->thread.join();
  impl_->connections.clear();
}

int cutting_proxy::port() const noexcept {
  return impl_->port;
}

std::string cutting_proxy::url(const std::string& path) const {
  return "ws://127.0.0.1:" + std::to_string(impl_->port) + path;
}

std::size_t cutting_proxy::cut_all(cut_style style) {
  return impl_->on_thread([this, style] {
    std::size_t n = 0;
    for (auto& c : impl_->connections) {
      if (c->closed)
        continue;
      impl_->close(*c, style);
      ++n;
    }
    return n;
  });
}

bool cutting_proxy::cut(std::size_t index, cut_style style) {
  return impl_->on_thread([this, index, style] {
    if (index >= impl_->connections.size() || impl_->connections[index]->closed)
      return false;
    impl_->close(*impl_->connections[index], style);
    return true;
  });
}

void cutting_proxy::cut_after(std::size_t index, direction d, std::uint64_t bytes,
                              cut_style style) {
  impl_->on_thread([this, index, d, bytes, style] {
    impl_->set_rule(index, impl::rule{d, bytes, style});
    return 0;
  });
}

std::uint64_t cutting_proxy::cut_after_random(std::size_t index, direction d, std::uint64_t low,
                                              std::uint64_t high, std::uint32_t seed,
                                              cut_style style) {
  std::mt19937_64 gen(seed);
  const std::uint64_t bytes = std::uniform_int_distribution<std::uint64_t>(low, high)(gen);
  cut_after(index, d, bytes, style);
  return bytes;
}

void cutting_proxy::refuse(bool on) {
  impl_->on_thread([this, on] {
    impl_->refusing = on;
    return 0;
  });
}

std::size_t cutting_proxy::accepted() const {
  std::lock_guard lock(impl_->accepted_mutex);
  return impl_->accepted_count;
}

std::size_t cutting_proxy::open_connections() const {
  return impl_->on_thread([this] {
    std::size_t n = 0;
    for (const auto& c : impl_->connections)
      n += c->closed ? 0 : 1;
    return n;
  });
}

std::uint64_t cutting_proxy::forwarded(std::size_t index, direction d) const {
  return impl_->on_thread([this, index, d]() -> std::uint64_t {
    if (index >= impl_->connections.size())
      return 0;
    const auto& c = *impl_->connections[index];
    switch (d) {
    case direction::to_target:
      return c.sent_up;
    case direction::to_client:
      return c.sent_down;
    case direction::either:
      return c.sent_up + c.sent_down;
    }
    return 0;
  });
}

bool cutting_proxy::wait_accepted(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->accepted_mutex);
  return impl_->accepted_cv.wait_for(lock, timeout, [&] { return impl_->accepted_count >= n; });
}

} // namespace agentrt::test

// The scripted peer: a websocketpp server (plain or TLS) on its own io thread, and a script
// thread that consumes received frames and posts its sends to the io thread.
#include "support/scripted_peer.hpp"

#include "agentrt/protocol/websocket_utf8.hpp" // before websocketpp: see there

#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <websocketpp/config/asio.hpp>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "agentrt/protocol/codec.hpp"

namespace agentrt::test {

namespace {

// The message_type of a frame, read without a full decode so that unknown types count too.
std::string message_type_of(const std::string& frame) {
  auto d = protocol::decode(frame);
  return d.message_type;
}

// Closes the TCP connection without a close frame once the frames sent before have been
// written (at most tries_left ms later): a drop cuts the connection, not the script's sends.
template <typename Server>
// Handlers queued in the server's own io_context hold it weakly: a strong reference there would
// keep the server (and so the io_context holding the handler) alive for ever once it stopped
// with the handler still queued (LeakSanitizer reports the cycle).
void drop_when_flushed(std::weak_ptr<Server> weak, websocketpp::connection_hdl hdl,
                       std::shared_ptr<asio::steady_timer> timer, int tries_left) {
  auto server = weak.lock();
  if (!server)
    return;
  std::error_code ec;
  auto con = server->get_con_from_hdl(hdl, ec);
  if (ec)
    return;
  if (con->get_buffered_amount() > 0 && tries_left > 0) {
    timer->expires_after(std::chrono::milliseconds(1));
    timer->async_wait([weak, hdl, timer, tries_left](std::error_code) {
      drop_when_flushed(weak, hdl, timer, tries_left - 1);
    });
    return;
  }
  con->get_raw_socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  con->get_raw_socket().close(ec);
}

} // namespace

std::map<std::string, std::string> durable_extension_header() {
  return {{"Agentrt-Extensions", "durable-sessions"}};
}

struct scripted_peer::impl {
  std::vector<connection> scripts;
  std::optional<tls_files> tls;
  int port = 0;

  // One per upgrade attempt, in arrival order.
  struct conn_state {
    websocketpp::connection_hdl hdl;
    std::map<std::string, std::string> request_headers;
    std::string uri;
    std::deque<std::string> inbox;
    std::vector<std::string> received;
    bool rejected = false;
    bool open = false;
    bool closed = false;
  };

  mutable std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::unique_ptr<conn_state>> conns;
  std::map<const void*, std::size_t> index_of; // connection object -> its index
  std::vector<std::string> received_all;
  bool done = false;
  bool stopping = false;
  std::string failure;

  // These post to the io thread.
  std::function<void(websocketpp::connection_hdl, std::string)> send_frame;
  std::function<void(websocketpp::connection_hdl, int, std::string)> close_connection;
  std::function<void(websocketpp::connection_hdl)> drop_connection;
  std::function<void()> stop_server;
  std::thread io_thread;
  std::thread script_thread;

  conn_state* find(const websocketpp::connection_hdl& h) {
    auto it = index_of.find(h.lock().get());
    return it == index_of.end() ? nullptr : conns[it->second].get();
  }

  template <typename Config> void serve(std::shared_ptr<websocketpp::server<Config>> server) {
    using server_type = websocketpp::server<Config>;
    server->clear_access_channels(websocketpp::log::alevel::all);
    server->clear_error_channels(websocketpp::log::elevel::all);
    server->init_asio();
    server->set_reuse_addr(true);
    // The server's handlers and what is posted to its io_context refer to it weakly (see
    // drop_when_flushed): the server owns them.
    std::weak_ptr<server_type> weak = server;
    server->set_validate_handler([this, weak](websocketpp::connection_hdl h) {
      auto server = weak.lock();
      if (!server)
        return false;
      auto con = server->get_con_from_hdl(h);
      std::lock_guard lock(mutex);
      const std::size_t index = conns.size();
      auto c = std::make_unique<conn_state>();
      c->hdl = h;
      for (const auto& [name, value] : con->get_request().get_headers())
        c->request_headers[name] = value;
      c->uri = con->get_resource();
      const connection* script = index < scripts.size() ? &scripts[index] : nullptr;
      if (script && script->reject_status != 0) {
        c->rejected = true;
        con->set_status(static_cast<websocketpp::http::status_code::value>(script->reject_status));
      } else if (script) {
        for (const auto& [name, value] : script->response_headers)
          con->append_header(name, value);
      }
      const bool accept = !c->rejected;
      index_of[con.get()] = index;
      conns.push_back(std::move(c));
      cv.notify_all();
      return accept;
    });
    server->set_open_handler([this](websocketpp::connection_hdl h) {
      std::lock_guard lock(mutex);
      if (auto* c = find(h)) {
        c->open = true;
        cv.notify_all();
      }
    });
    auto on_end = [this](websocketpp::connection_hdl h) {
      std::lock_guard lock(mutex);
      if (auto* c = find(h)) {
        c->closed = true;
        cv.notify_all();
      }
    };
    server->set_close_handler(on_end);
    server->set_fail_handler(on_end);
    server->set_message_handler(
        [this](websocketpp::connection_hdl h, typename server_type::message_ptr msg) {
          std::lock_guard lock(mutex);
          if (auto* c = find(h)) {
            c->received.push_back(msg->get_payload());
            c->inbox.push_back(msg->get_payload());
            received_all.push_back(msg->get_payload());
            cv.notify_all();
          }
        });
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    server->listen(ep);
    server->start_accept();
    std::error_code ec;
    port = server->get_local_endpoint(ec).port();
    send_frame = [server, weak](websocketpp::connection_hdl hdl, std::string frame) {
      asio::post(server->get_io_service(), [weak, hdl, frame] {
        if (auto s = weak.lock()) {
          std::error_code ec;
          s->send(hdl, frame, websocketpp::frame::opcode::text, ec);
        }
      });
    };
    close_connection = [server, weak](websocketpp::connection_hdl hdl, int code,
                                      std::string reason) {
      asio::post(server->get_io_service(), [weak, hdl, code, reason] {
        if (auto s = weak.lock()) {
          std::error_code ec;
          s->close(hdl, static_cast<websocketpp::close::status::value>(code), reason, ec);
        }
      });
    };
    drop_connection = [server, weak](websocketpp::connection_hdl hdl) {
      asio::post(server->get_io_service(), [weak, hdl] {
        if (auto s = weak.lock())
          drop_when_flushed(weak, hdl, std::make_shared<asio::steady_timer>(s->get_io_service()),
                            1000);
      });
    };
    stop_server = [server, weak] {
      asio::post(server->get_io_service(), [weak] {
        if (auto s = weak.lock()) {
          std::error_code ec;
          s->stop_listening(ec);
          s->stop();
        }
      });
    };
    io_thread = std::thread([server] { server->run(); });
  }

  // Runs one connection's steps; false when the script failed (failure is set).
  bool run_steps(std::size_t index, std::unique_lock<std::mutex>& lock) {
    conn_state& c = *conns[index];
    for (const auto& s : scripts[index].steps) {
      if (stopping)
        return false;
      switch (s.type) {
      case step::kind::expect: {
        for (;;) {
          cv.wait(lock, [&] { return !c.inbox.empty() || c.closed || stopping; });
          if (c.inbox.empty()) {
            failure = "connection " + std::to_string(index) + " closed while expecting " + s.text;
            cv.notify_all();
            return false;
          }
          std::string frame = std::move(c.inbox.front());
          c.inbox.pop_front();
          const std::string type = message_type_of(frame);
          if (type == "ack_message" && s.text != "ack_message")
            continue;
          if (type != s.text) {
            failure =
                "connection " + std::to_string(index) + ": expected " + s.text + ", got " + frame;
            cv.notify_all();
            return false;
          }
          break;
        }
        break;
      }
      case step::kind::send:
        send_frame(c.hdl, s.text);
        break;
      case step::kind::pause:
        cv.wait_for(lock, s.duration, [this] { return stopping; });
        break;
      case step::kind::close:
        close_connection(c.hdl, s.code, s.text);
        break;
      case step::kind::drop:
        drop_connection(c.hdl);
        break;
      }
    }
    return true;
  }

  void run_script() {
    std::unique_lock lock(mutex);
    for (std::size_t i = 0; i < scripts.size(); ++i) {
      cv.wait(lock, [&] {
        return stopping ||
               (conns.size() > i && (conns[i]->rejected || conns[i]->open || conns[i]->closed));
      });
      if (stopping)
        return;
      if (conns[i]->rejected || !conns[i]->open)
        continue;
      if (!run_steps(i, lock))
        return;
    }
    done = true;
    cv.notify_all();
  }
};

scripted_peer::step scripted_peer::expect(std::string message_type) {
  return {step::kind::expect, std::move(message_type), {}, 0};
}
scripted_peer::step scripted_peer::send(std::string raw_frame) {
  return {step::kind::send, std::move(raw_frame), {}, 0};
}
scripted_peer::step scripted_peer::send(const protocol::message& m) {
  return send(protocol::encode(m));
}
scripted_peer::step scripted_peer::send(const protocol::message& m, std::uint64_t seq) {
  return send(protocol::encode(m, seq));
}
scripted_peer::step scripted_peer::pause(std::chrono::milliseconds d) {
  return {step::kind::pause, {}, d, 0};
}
scripted_peer::step scripted_peer::close(int code, std::string reason) {
  return {step::kind::close, std::move(reason), {}, code};
}
scripted_peer::step scripted_peer::drop() {
  return {step::kind::drop, {}, {}, 0};
}

scripted_peer::scripted_peer(std::vector<step> script)
    : scripted_peer(std::vector<connection>{connection{std::move(script), {}, 0}}) {}

scripted_peer::scripted_peer(std::vector<connection> connections)
    : impl_(std::make_unique<impl>()) {
  impl_->scripts = std::move(connections);
  impl_->serve(std::make_shared<websocketpp::server<websocketpp::config::asio>>());
  impl_->script_thread = std::thread([this] { impl_->run_script(); });
}

scripted_peer::scripted_peer(std::vector<step> script, tls_files tls)
    : impl_(std::make_unique<impl>()) {
  impl_->scripts = {connection{std::move(script), {}, 0}};
  impl_->tls = tls;
  auto server = std::make_shared<websocketpp::server<websocketpp::config::asio_tls>>();
  server->set_tls_init_handler([tls](websocketpp::connection_hdl) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->use_certificate_chain_file(tls.cert_file);
    ctx->use_private_key_file(tls.key_file, asio::ssl::context::pem);
    return ctx;
  });
  impl_->serve(server);
  impl_->script_thread = std::thread([this] { impl_->run_script(); });
}

scripted_peer::~scripted_peer() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    impl_->cv.notify_all();
  }
  impl_->script_thread.join();
  impl_->stop_server();
  impl_->io_thread.join();
}

std::string scripted_peer::url() const {
  return (impl_->tls ? "wss://localhost:" : "ws://127.0.0.1:") + std::to_string(impl_->port) + "/";
}

int scripted_peer::port() const {
  return impl_->port;
}

bool scripted_peer::wait_done(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  impl_->cv.wait_for(lock, timeout, [this] { return impl_->done || !impl_->failure.empty(); });
  return impl_->done;
}

std::string scripted_peer::failure() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->failure;
}

std::vector<std::string> scripted_peer::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->received_all;
}

std::vector<std::string> scripted_peer::received(std::size_t connection) const {
  std::lock_guard lock(impl_->mutex);
  return connection < impl_->conns.size() ? impl_->conns[connection]->received
                                          : std::vector<std::string>{};
}

std::size_t scripted_peer::connection_attempts() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->conns.size();
}

std::map<std::string, std::string> scripted_peer::request_headers(std::size_t connection) const {
  std::lock_guard lock(impl_->mutex);
  return connection < impl_->conns.size() ? impl_->conns[connection]->request_headers
                                          : std::map<std::string, std::string>{};
}

std::string scripted_peer::request_uri(std::size_t connection) const {
  std::lock_guard lock(impl_->mutex);
  return connection < impl_->conns.size() ? impl_->conns[connection]->uri : std::string{};
}

} // namespace agentrt::test

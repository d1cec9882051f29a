// The scripted peer: a websocketpp server (plain or TLS) on its own io thread, and a script
// thread that consumes received frames and posts its sends to the io thread.
#include "support/scripted_peer.hpp"

#include "agentrt/protocol/websocket_utf8.hpp"  // before websocketpp: see there

#include <asio/ssl.hpp>
#include <websocketpp/config/asio.hpp>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
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

} // namespace

struct scripted_peer::impl {
  std::vector<step> script;
  std::optional<tls_files> tls;
  int port = 0;

  mutable std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::string> inbox;
  std::vector<std::string> received;
  bool connected = false;
  bool disconnected = false;
  bool done = false;
  bool stopping = false;
  std::string failure;

  std::function<void(std::string)> send_frame; // posts to the io thread
  std::function<void()> close_connection;
  std::function<void()> stop_server;
  std::thread io_thread;
  std::thread script_thread;

  template <typename Config> void serve(std::shared_ptr<websocketpp::server<Config>> server) {
    using server_type = websocketpp::server<Config>;
    server->clear_access_channels(websocketpp::log::alevel::all);
    server->clear_error_channels(websocketpp::log::elevel::all);
    server->init_asio();
    server->set_reuse_addr(true);
    auto hdl = std::make_shared<websocketpp::connection_hdl>();
    server->set_open_handler([this, hdl](websocketpp::connection_hdl h) {
      std::lock_guard lock(mutex);
      if (connected)
        return; // one scripted connection; later ones just idle
      *hdl = h;
      connected = true;
      cv.notify_all();
    });
    server->set_close_handler([this, hdl](websocketpp::connection_hdl h) {
      if (h.lock() != hdl->lock())
        return;
      std::lock_guard lock(mutex);
      disconnected = true;
      cv.notify_all();
    });
    server->set_message_handler(
        [this, hdl](websocketpp::connection_hdl h, typename server_type::message_ptr msg) {
          if (h.lock() != hdl->lock())
            return;
          std::lock_guard lock(mutex);
          received.push_back(msg->get_payload());
          inbox.push_back(msg->get_payload());
          cv.notify_all();
        });
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    server->listen(ep);
    server->start_accept();
    std::error_code ec;
    port = server->get_local_endpoint(ec).port();
    send_frame = [server, hdl](std::string frame) {
      asio::post(server->get_io_service(), [server, hdl, frame] {
        std::error_code ec;
        server->send(*hdl, frame, websocketpp::frame::opcode::text, ec);
      });
    };
    close_connection = [server, hdl] {
      asio::post(server->get_io_service(), [server, hdl] {
        std::error_code ec;
        server->close(*hdl, websocketpp::close::status::normal, "script", ec);
      });
    };
    stop_server = [server] {
      asio::post(server->get_io_service(), [server] {
        std::error_code ec;
        server->stop_listening(ec);
        server->stop();
      });
    };
    io_thread = std::thread([server] { server->run(); });
  }

  void run_script() {
    std::unique_lock lock(mutex);
    cv.wait(lock, [this] { return connected || stopping; });
    for (const auto& s : script) {
      if (stopping)
        return;
      switch (s.type) {
      case step::kind::expect: {
        cv.wait(lock, [this] { return !inbox.empty() || disconnected || stopping; });
        if (inbox.empty()) {
          failure = "connection closed while expecting " + s.text;
          cv.notify_all();
          return;
        }
        std::string frame = std::move(inbox.front());
        inbox.pop_front();
        if (message_type_of(frame) != s.text) {
          failure = "expected " + s.text + ", got " + frame;
          cv.notify_all();
          return;
        }
        break;
      }
      case step::kind::send:
        send_frame(s.text);
        break;
      case step::kind::pause:
        cv.wait_for(lock, s.duration, [this] { return stopping; });
        break;
      case step::kind::close:
        close_connection();
        break;
      }
    }
    done = true;
    cv.notify_all();
  }
};

scripted_peer::step scripted_peer::expect(std::string message_type) {
  return {step::kind::expect, std::move(message_type), {}};
}
scripted_peer::step scripted_peer::send(std::string raw_frame) {
  return {step::kind::send, std::move(raw_frame), {}};
}
scripted_peer::step scripted_peer::send(const protocol::message& m) {
  return send(protocol::encode(m));
}
scripted_peer::step scripted_peer::pause(std::chrono::milliseconds d) {
  return {step::kind::pause, {}, d};
}
scripted_peer::step scripted_peer::close() {
  return {step::kind::close, {}, {}};
}

scripted_peer::scripted_peer(std::vector<step> script) : impl_(std::make_unique<impl>()) {
  impl_->script = std::move(script);
  impl_->serve(std::make_shared<websocketpp::server<websocketpp::config::asio>>());
  impl_->script_thread = std::thread([this] { impl_->run_script(); });
}

scripted_peer::scripted_peer(std::vector<step> script, tls_files tls)
    : impl_(std::make_unique<impl>()) {
  impl_->script = std::move(script);
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
  return impl_->received;
}

} // namespace agentrt::test

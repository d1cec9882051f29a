// The blocking test WebSocket client: websocketpp's asio client on one background io thread,
// with received text frames handed to the test thread through a queue.
#include "support/ws_test_client.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <utility>
#include <variant>

#include "agentrt/protocol/websocket_utf8.hpp" // before websocketpp: see there
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

#include "agentrt/protocol/codec.hpp"

namespace agentrt::test {

namespace {

// The stock 16 KiB read buffer means four handler runs per 64 KiB output frame; a larger one
// keeps the 256 MiB output tests fast. The transport timeouts are raised because connect()
// enforces its own deadline and a test may ask for more than websocketpp's 5 s.
struct test_client_config : websocketpp::config::asio_client {
  static const size_t connection_read_buffer_size = 64 * 1024;
  static const long timeout_open_handshake = 60000;

  struct transport_config : websocketpp::config::asio_client::transport_config {
    static const long timeout_dns_resolve = 60000;
    static const long timeout_connect = 60000;
  };
  using transport_type = websocketpp::transport::asio::endpoint<transport_config>;
};

using ws_client = websocketpp::client<test_client_config>;

constexpr std::size_t max_message_size = 64 * 1024 * 1024;
constexpr auto close_handshake_timeout = std::chrono::seconds(2);

bool is_terminal(const protocol::message& m) {
  return std::holds_alternative<protocol::result_message>(m) ||
         std::holds_alternative<protocol::command_execution_result_message>(m) ||
         std::holds_alternative<protocol::error_message>(m);
}

} // namespace

struct ws_test_client::impl {
  ws_client endpoint;
  std::thread io_thread;
  websocketpp::connection_hdl hdl;
  ws_client::connection_ptr con; // kept so that drop() and close_code() need no lookup

  mutable std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::string> frames;
  bool opened = false;
  bool failed = false;
  bool closed = false;
  int close_code = 0;
  std::string fail_reason;
  int http_status = 0;
  bool io_done = false;
  bool paused = false; // only touched on the test thread

  impl() {
    endpoint.clear_access_channels(websocketpp::log::alevel::all);
    endpoint.clear_error_channels(websocketpp::log::elevel::all);
    endpoint.set_max_message_size(max_message_size);
    endpoint.set_close_handshake_timeout(
        std::chrono::duration_cast<std::chrono::milliseconds>(close_handshake_timeout).count());
  }

  // Runs fn on the io thread and waits for it; a no-op once the loop has ended, because a
  // handler posted then would never run.
  template <typename Fn> void run_on_io(Fn&& fn) {
    {
      std::lock_guard lock(mutex);
      if (io_done)
        return;
    }
    if (io_thread.get_id() == std::this_thread::get_id()) {
      fn();
      return;
    }
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    asio::post(endpoint.get_io_service(), [fn = std::forward<Fn>(fn), done]() mutable {
      fn();
      done->set_value();
    });
    // Bounded in case the destructor's fallback stop() abandons the handler.
    future.wait_for(std::chrono::seconds(10));
  }

  void on_open(websocketpp::connection_hdl) {
    std::lock_guard lock(mutex);
    opened = true;
    cv.notify_all();
  }

  void on_fail(websocketpp::connection_hdl h) {
    auto c = endpoint.get_con_from_hdl(h);
    std::lock_guard lock(mutex);
    failed = true;
    closed = true;
    http_status = static_cast<int>(c->get_response_code());
    fail_reason = c->get_ec().message();
    if (auto tec = c->get_transport_ec())
      fail_reason += " (" + tec.message() + ")";
    if (http_status != 0) {
      fail_reason += "; HTTP " + std::to_string(http_status) + " " + c->get_response_msg();
      if (!c->get_response().get_body().empty())
        fail_reason += ": " + c->get_response().get_body();
    }
    cv.notify_all();
  }

  void on_close(websocketpp::connection_hdl h) {
    auto c = endpoint.get_con_from_hdl(h);
    auto code = static_cast<int>(c->get_remote_close_code());
    std::lock_guard lock(mutex);
    // 1005/1006 are websocketpp's stand-ins for "no code" and "no close frame"; the header
    // promises 0 in both cases.
    if (code != websocketpp::close::status::no_status &&
        code != websocketpp::close::status::abnormal_close && close_code == 0)
      close_code = code;
    closed = true;
    cv.notify_all();
  }

  void on_message(websocketpp::connection_hdl, ws_client::message_ptr msg) {
    if (msg->get_opcode() != websocketpp::frame::opcode::text)
      return;
    std::lock_guard lock(mutex);
    // Moving the payload out avoids copying each of the thousands of 64 KiB output frames.
    frames.push_back(std::move(msg->get_raw_payload()));
    cv.notify_all();
  }

  void run_io() {
    endpoint.run();
    std::lock_guard lock(mutex);
    io_done = true;
    closed = true;
    cv.notify_all();
  }
};

ws_test_client::ws_test_client() : impl_(std::make_unique<impl>()) {}

ws_test_client::connect_result
ws_test_client::connect(const std::string& url, const std::map<std::string, std::string>& headers,
                        std::chrono::milliseconds timeout) {
  connect_result result;
  std::unique_ptr<ws_test_client> client(new ws_test_client());
  impl& d = *client->impl_;

  std::error_code ec;
  d.endpoint.init_asio(ec);
  if (ec) {
    result.error = "init_asio: " + ec.message();
    return result;
  }
  d.endpoint.set_open_handshake_timeout(timeout.count());
  d.endpoint.set_open_handler([&d](websocketpp::connection_hdl h) { d.on_open(h); });
  d.endpoint.set_fail_handler([&d](websocketpp::connection_hdl h) { d.on_fail(h); });
  d.endpoint.set_close_handler([&d](websocketpp::connection_hdl h) { d.on_close(h); });
  d.endpoint.set_message_handler(
      [&d](websocketpp::connection_hdl h, ws_client::message_ptr m) { d.on_message(h, m); });

  d.con = d.endpoint.get_connection(url, ec);
  if (ec) {
    result.error = "bad url '" + url + "': " + ec.message();
    return result;
  }
  for (const auto& [name, value] : headers)
    d.con->append_header(name, value);
  d.hdl = d.con->get_handle();
  d.endpoint.connect(d.con);
  // Perpetual mode keeps the loop alive after the connection ends, so that a handler posted by
  // the test thread always runs; the destructor ends it.
  d.endpoint.start_perpetual();
  d.io_thread = std::thread([&d] { d.run_io(); });

  std::unique_lock lock(d.mutex);
  if (!d.cv.wait_for(lock, timeout, [&d] { return d.opened || d.failed || d.closed; })) {
    result.error = "timed out connecting to " + url;
    return result; // the destructor tears the half-open connection down
  }
  if (!d.opened) {
    result.error = d.fail_reason.empty() ? "connection failed" : d.fail_reason;
    result.http_status = d.http_status;
    return result;
  }
  lock.unlock();
  result.client = std::move(client);
  return result;
}

ws_test_client::~ws_test_client() {
  if (!impl_->io_thread.joinable())
    return;
  impl& d = *impl_;
  bool open = false;
  {
    std::lock_guard lock(d.mutex);
    open = d.opened && !d.closed;
  }
  if (open && d.paused) {
    // Nobody will read the answer to a close frame; a paused test is done with the runtime.
    drop();
  } else if (open) {
    close();
    // A vanished or stalled server never answers the close frame; websocketpp gives up after
    // the close handshake timeout, and drop() covers anything beyond that.
    if (!wait_closed(close_handshake_timeout + std::chrono::seconds(1)))
      drop();
  } else {
    // Still connecting (a connect() that timed out) or already closed: nothing to be polite to.
    d.run_on_io([&d] {
      std::error_code ec;
      if (d.con) {
        d.con->get_raw_socket().close(ec);
      }
    });
  }
  d.endpoint.stop_perpetual();
  {
    std::unique_lock lock(d.mutex);
    if (!d.cv.wait_for(lock, std::chrono::seconds(5), [&d] { return d.io_done; })) {
      lock.unlock();
      // Some handler (a resolver, a timer) is still pending; stopping the loop abandons it.
      d.endpoint.stop();
    }
  }
  d.io_thread.join();
}

void ws_test_client::send_text(const std::string& frame) {
  impl& d = *impl_;
  // Sending from the io thread keeps every socket operation on one thread.
  asio::post(d.endpoint.get_io_service(), [&d, frame] {
    std::error_code ec;
    d.endpoint.send(d.hdl, frame, websocketpp::frame::opcode::text, ec);
    // A send on a closed connection is expected in tests that close or drop first.
  });
}

void ws_test_client::send_binary(const std::string& frame) {
  impl& d = *impl_;
  asio::post(d.endpoint.get_io_service(), [&d, frame] {
    std::error_code ec;
    d.endpoint.send(d.hdl, frame, websocketpp::frame::opcode::binary, ec);
  });
}

void ws_test_client::send(const protocol::message& m) {
  send_text(protocol::encode(m));
}

std::optional<std::string> ws_test_client::receive_frame(std::chrono::milliseconds timeout) {
  impl& d = *impl_;
  std::unique_lock lock(d.mutex);
  d.cv.wait_for(lock, timeout, [&d] { return !d.frames.empty() || d.closed; });
  // Frames that arrived before the close are still delivered.
  if (d.frames.empty())
    return std::nullopt;
  std::string frame = std::move(d.frames.front());
  d.frames.pop_front();
  return frame;
}

std::optional<protocol::message> ws_test_client::receive(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0)
      left = std::chrono::milliseconds(0);
    auto frame = receive_frame(left);
    if (!frame)
      return std::nullopt;
    auto decoded = protocol::decode(*frame);
    if (decoded.msg)
      return std::move(decoded.msg);
    ADD_FAILURE() << "frame does not decode: " << decoded.error
                  << "\nframe: " << frame->substr(0, 1000);
  }
}

std::vector<protocol::message>
ws_test_client::receive_until_terminal(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<protocol::message> out;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0)
      left = std::chrono::milliseconds(0);
    auto m = receive(left);
    if (!m)
      return out; // timeout or close: the caller sees there is no terminal at the end
    bool terminal = is_terminal(*m);
    out.push_back(std::move(*m));
    if (terminal)
      return out;
  }
}

void ws_test_client::pause_reading() {
  impl& d = *impl_;
  d.paused = true;
  d.run_on_io([&d] { d.con->pause_reading(); });
}

void ws_test_client::resume_reading() {
  impl& d = *impl_;
  d.paused = false;
  d.run_on_io([&d] { d.con->resume_reading(); });
}

bool ws_test_client::closed() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->closed;
}

int ws_test_client::close_code() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->close_code;
}

bool ws_test_client::wait_closed(std::chrono::milliseconds timeout) {
  impl& d = *impl_;
  std::unique_lock lock(d.mutex);
  return d.cv.wait_for(lock, timeout, [&d] { return d.closed; });
}

void ws_test_client::close() {
  impl& d = *impl_;
  // The handshake needs the peer's close frame, which a paused connection would never read.
  if (d.paused)
    resume_reading();
  d.run_on_io([&d] {
    std::error_code ec;
    d.endpoint.close(d.hdl, websocketpp::close::status::normal, "", ec);
  });
}

void ws_test_client::drop() {
  impl& d = *impl_;
  d.run_on_io([&d] {
    std::error_code ec;
    auto& socket = d.con->get_raw_socket();
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket.close(ec);
  });
  // With reading paused no read completes to tell websocketpp, so record the close here.
  std::lock_guard lock(d.mutex);
  d.closed = true;
  d.cv.notify_all();
}

} // namespace agentrt::test

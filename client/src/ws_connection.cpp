// websocketpp's asio client driven by one background thread per connection.
#include "ws_connection.hpp"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

namespace agentrt::client::detail {

namespace {

// A 64 KiB read buffer matches the runtime's output chunk size; the transport timeouts are
// raised because open() enforces the caller's own deadline, which may exceed websocketpp's 5 s.
struct client_config : websocketpp::config::asio_client {
  static const size_t connection_read_buffer_size = 64 * 1024;
  static const long timeout_open_handshake = 60000;

  struct transport_config : websocketpp::config::asio_client::transport_config {
    static const long timeout_dns_resolve = 60000;
    static const long timeout_connect = 60000;
  };
  using transport_type = websocketpp::transport::asio::endpoint<transport_config>;
};

using ws_client = websocketpp::client<client_config>;

// A command_execution_result_message carries every command's stdout; leave room for that.
constexpr std::size_t max_message_size = 64 * 1024 * 1024;
constexpr auto close_handshake_timeout = std::chrono::seconds(3);

} // namespace

struct ws_connection::impl {
  ws_client endpoint;
  std::thread io_thread;
  ws_client::connection_ptr con;

  mutable std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::string> frames;
  bool opened = false;
  bool failed = false;
  bool closed = false;
  bool io_done = false;
  bool interrupted = false;
  int close_code = 0;
  std::string close_reason;
  std::string fail_reason;
  int http_status = 0;

  impl() {
    endpoint.clear_access_channels(websocketpp::log::alevel::all);
    endpoint.clear_error_channels(websocketpp::log::elevel::all);
    endpoint.set_max_message_size(max_message_size);
    endpoint.set_close_handshake_timeout(
        std::chrono::duration_cast<std::chrono::milliseconds>(close_handshake_timeout).count());
  }

  // Runs fn on the io thread and waits for it. Perpetual mode keeps the loop running until the
  // destructor, so the handler does run; the bound only guards the destructor's forced stop.
  template <typename Fn> void run_on_io(Fn fn) {
    if (io_thread.get_id() == std::this_thread::get_id()) {
      fn();
      return;
    }
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    asio::post(endpoint.get_io_service(), [fn = std::move(fn), done] {
      fn();
      done->set_value();
    });
    finished.wait_for(std::chrono::seconds(10));
  }

  void on_open(websocketpp::connection_hdl) {
    std::lock_guard lock(mutex);
    opened = true;
    cv.notify_all();
  }

  void on_fail(websocketpp::connection_hdl) {
    std::lock_guard lock(mutex);
    failed = true;
    closed = true;
    http_status = static_cast<int>(con->get_response_code());
    fail_reason = con->get_ec().message();
    if (auto tec = con->get_transport_ec())
      fail_reason += " (" + tec.message() + ")";
    if (http_status != 0) {
      fail_reason += "; HTTP " + std::to_string(http_status) + " " + con->get_response_msg();
      const std::string& body = con->get_response().get_body();
      if (!body.empty())
        fail_reason += ": " + body.substr(0, 500);
    }
    cv.notify_all();
  }

  void on_close(websocketpp::connection_hdl) {
    std::lock_guard lock(mutex);
    auto code = con->get_remote_close_code();
    // websocketpp reports "no code" and "no close frame at all" as 1005/1006.
    if (code != websocketpp::close::status::no_status &&
        code != websocketpp::close::status::abnormal_close)
      close_code = static_cast<int>(code);
    close_reason = con->get_remote_close_reason();
    closed = true;
    cv.notify_all();
  }

  void on_message(websocketpp::connection_hdl, ws_client::message_ptr msg) {
    // The protocol is text frames only; a binary frame carries nothing we could act on.
    if (msg->get_opcode() != websocketpp::frame::opcode::text)
      return;
    std::lock_guard lock(mutex);
    frames.push_back(std::move(msg->get_raw_payload()));
    cv.notify_all();
  }

  void drop_socket() {
    run_on_io([this] {
      std::error_code ec;
      con->get_raw_socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
      con->get_raw_socket().close(ec);
    });
  }
};

ws_connection::ws_connection() : impl_(std::make_unique<impl>()) {}

ws_connection::open_result ws_connection::open(const std::string& url,
                                               const std::map<std::string, std::string>& headers,
                                               std::chrono::milliseconds timeout) {
  open_result result;
  std::unique_ptr<ws_connection> connection(new ws_connection());
  impl& d = *connection->impl_;

  std::error_code ec;
  d.endpoint.init_asio(ec);
  if (ec) {
    result.error = "cannot initialize the WebSocket client: " + ec.message();
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
    result.error = "invalid url '" + url + "': " + ec.message();
    return result;
  }
  for (const auto& [name, value] : headers)
    d.con->append_header(name, value);
  d.endpoint.connect(d.con);
  d.endpoint.start_perpetual();
  d.io_thread = std::thread([&d] {
    d.endpoint.run();
    std::lock_guard lock(d.mutex);
    d.io_done = true;
    d.closed = true;
    d.cv.notify_all();
  });

  std::unique_lock lock(d.mutex);
  if (!d.cv.wait_for(lock, timeout, [&d] { return d.opened || d.closed; })) {
    result.error =
        "timed out after " + std::to_string(timeout.count()) + " ms connecting to " + url;
    return result; // the destructor aborts the attempt
  }
  if (!d.opened) {
    result.error = d.fail_reason.empty() ? "connection failed" : d.fail_reason;
    result.http_status = d.http_status;
    return result;
  }
  lock.unlock();
  result.connection = std::move(connection);
  return result;
}

ws_connection::~ws_connection() {
  impl& d = *impl_;
  if (!d.io_thread.joinable())
    return;
  bool open = false;
  {
    std::lock_guard lock(d.mutex);
    open = d.opened && !d.closed;
  }
  if (open) {
    close();
  } else {
    // Still connecting (open() timed out) or already closed: closing the socket aborts a
    // pending connect and is harmless otherwise.
    d.drop_socket();
  }
  d.endpoint.stop_perpetual();
  std::unique_lock lock(d.mutex);
  if (!d.cv.wait_for(lock, std::chrono::seconds(5), [&d] { return d.io_done; })) {
    // A resolver or timer still pending; stopping the loop abandons it.
    d.endpoint.stop();
  }
  lock.unlock();
  d.io_thread.join();
}

void ws_connection::send(std::string frame) {
  impl& d = *impl_;
  // Every socket operation happens on the io thread; posts keep the callers' order.
  asio::post(d.endpoint.get_io_service(), [&d, frame = std::move(frame)] {
    // An error here means the connection is closing; next_frame reports that.
    d.con->send(frame, websocketpp::frame::opcode::text);
  });
}

ws_connection::wait_status ws_connection::next_frame(std::string& out, clock::time_point deadline) {
  impl& d = *impl_;
  std::unique_lock lock(d.mutex);
  auto ready = [&d] { return !d.frames.empty() || d.closed || d.interrupted; };
  // time_point::max() means "no deadline"; waiting until it risks overflow in the conversion
  // to the condition variable's clock.
  if (deadline == clock::time_point::max()) {
    d.cv.wait(lock, ready);
  } else {
    d.cv.wait_until(lock, deadline, ready);
  }
  if (!d.frames.empty()) {
    out = std::move(d.frames.front());
    d.frames.pop_front();
    return wait_status::frame;
  }
  if (d.interrupted) {
    d.interrupted = false;
    return wait_status::interrupted;
  }
  return d.closed ? wait_status::closed : wait_status::timed_out;
}

void ws_connection::interrupt() {
  std::lock_guard lock(impl_->mutex);
  impl_->interrupted = true;
  impl_->cv.notify_all();
}

bool ws_connection::closed() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->closed;
}

int ws_connection::close_code() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->close_code;
}

std::string ws_connection::close_reason() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->close_reason;
}

void ws_connection::close() {
  impl& d = *impl_;
  if (closed())
    return;
  d.run_on_io([&d] {
    std::error_code ec;
    d.con->close(websocketpp::close::status::normal, "", ec);
  });
  std::unique_lock lock(d.mutex);
  // websocketpp itself gives up after the close handshake timeout; the extra second covers a
  // peer that vanished without a FIN, after which the socket is dropped.
  if (!d.cv.wait_for(lock, close_handshake_timeout + std::chrono::seconds(1),
                     [&d] { return d.closed; })) {
    lock.unlock();
    d.drop_socket();
    std::lock_guard relock(d.mutex);
    d.closed = true;
    d.cv.notify_all();
  }
}

} // namespace agentrt::client::detail

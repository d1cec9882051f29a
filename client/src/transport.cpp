// websocketpp's asio client (plain or TLS) on the caller's io_context. One endpoint per
// connection: an endpoint is cheap, and it keeps every connection's settings independent.
#include "transport.hpp"
#include "tls_context.hpp"

#include "agentrt/protocol/errc.hpp"

#include "agentrt/protocol/websocket_utf8.hpp" // before websocketpp: see there

#include <asio/ssl.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

namespace agentrt::client::detail {

namespace {

// A 64 KiB read buffer matches the runtime's output chunk size. The transport's own timeouts
// are raised because the session enforces the caller's connect timeout itself.
template <typename Base> struct config : Base {
  static const size_t connection_read_buffer_size = 64 * 1024;
  static const long timeout_open_handshake = 600000;

  struct transport_config : Base::transport_config {
    static const long timeout_dns_resolve = 600000;
    static const long timeout_connect = 600000;
  };
  using transport_type = websocketpp::transport::asio::endpoint<transport_config>;
};

using plain_config = config<websocketpp::config::asio_client>;
using tls_config = config<websocketpp::config::asio_tls_client>;

// A command_execution_result_message carries every command's stdout; leave room for that.
constexpr std::size_t max_message_size = 64 * 1024 * 1024;
constexpr long close_handshake_timeout_ms = 3000;

template <typename Config>
class basic_transport final : public transport,
                              public std::enable_shared_from_this<basic_transport<Config>> {
public:
  using endpoint_type = websocketpp::client<Config>;
  using connection_ptr = typename endpoint_type::connection_ptr;

  explicit basic_transport(transport_handlers handlers) : handlers_(std::move(handlers)) {}

  protocol::result<void> start(asio::io_context& io, const std::string& url,
                               const transport_options& options) {
    endpoint_.clear_access_channels(websocketpp::log::alevel::all);
    endpoint_.clear_error_channels(websocketpp::log::elevel::all);
    std::error_code ec;
    endpoint_.init_asio(&io, ec);
    if (ec)
      return {ec, "cannot initialize the WebSocket client: " + ec.message()};
    endpoint_.set_max_message_size(max_message_size);
    endpoint_.set_close_handshake_timeout(close_handshake_timeout_ms);
    if constexpr (std::is_same_v<Config, tls_config>)
      set_up_tls(url, options);

    // Without it, Nagle holds a small frame (a cancel, an upload answer) until the runtime's
    // delayed ACK for the previous one. Post-init: at socket_init the socket is not open yet.
    endpoint_.set_tcp_post_init_handler([](websocketpp::connection_hdl hdl) {
      if (auto con =
              std::static_pointer_cast<typename endpoint_type::connection_type>(hdl.lock())) {
        std::error_code ignored; // only latency depends on it
        con->get_raw_socket().set_option(asio::ip::tcp::no_delay(true), ignored);
      }
    });

    // The handlers hold the transport: it lives until websocketpp reports the end.
    auto self = this->shared_from_this();
    endpoint_.set_open_handler([self](websocketpp::connection_hdl) { self->on_open(); });
    endpoint_.set_fail_handler([self](websocketpp::connection_hdl) { self->on_fail(); });
    endpoint_.set_close_handler([self](websocketpp::connection_hdl) { self->on_close(); });
    endpoint_.set_message_handler(
        [self](websocketpp::connection_hdl, typename endpoint_type::message_ptr msg) {
          // The protocol is text frames only; a binary frame carries nothing to act on.
          if (msg->get_opcode() == websocketpp::frame::opcode::text && self->handlers_.on_frame)
            self->handlers_.on_frame(std::move(msg->get_raw_payload()));
        });

    con_ = endpoint_.get_connection(url, ec);
    if (ec) {
      // No connection will ever report an end: let go of the handlers holding this transport,
      // or the endpoint (a member) and they keep each other alive.
      endpoint_.set_open_handler(nullptr);
      endpoint_.set_fail_handler(nullptr);
      endpoint_.set_close_handler(nullptr);
      endpoint_.set_message_handler(nullptr);
      return ec;
    }
    for (const auto& [name, value] : options.headers)
      con_->append_header(name, value);
    endpoint_.connect(con_);
    return {};
  }

  void send(const std::string& frame) override {
    if (con_ && !finished_)
      con_->send(frame, websocketpp::frame::opcode::text);
  }

  void close() override {
    if (!con_ || finished_)
      return;
    std::error_code ec;
    if (con_->get_state() == websocketpp::session::state::open)
      con_->close(websocketpp::close::status::normal, "", ec);
    else
      drop();
  }

  void drop() override {
    if (!con_ || finished_)
      return;
    std::error_code ec;
    con_->get_raw_socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    con_->get_raw_socket().close(ec);
  }

  std::string response_header(const std::string& name) const override {
    return con_ ? con_->get_response_header(name) : std::string();
  }

private:
  void set_up_tls(const std::string& url, const transport_options& options) {
    // websocketpp sets SNI itself, but checking the certificate's name is up to us.
    std::string host;
    if (auto u = websocketpp::uri(url); u.get_valid())
      host = u.get_host();
    bool verify = options.verify_tls;
    std::optional<std::string> ca_file = options.ca_file;
    endpoint_.set_tls_init_handler([host, verify, ca_file](websocketpp::connection_hdl) {
      return detail::make_tls_context(host, verify, ca_file);
    });
  }

  void on_open() {
    if (handlers_.on_open)
      handlers_.on_open();
  }

  void on_fail() {
    finished_ = true;
    int status = static_cast<int>(con_->get_response_code());
    std::string reason = con_->get_ec().message();
    if (auto tec = con_->get_transport_ec(); tec && tec.message() != reason)
      reason += " (" + tec.message() + ")";
    if (status != 0) {
      reason += "; HTTP " + std::to_string(status) + " " + con_->get_response_msg();
      const std::string& body = con_->get_response().get_body();
      if (!body.empty())
        reason += ": " + body.substr(0, 500);
    }
    auto handlers = std::move(handlers_);
    release();
    if (handlers.on_fail)
      handlers.on_fail(std::move(reason), status);
  }

  void on_close() {
    finished_ = true;
    auto code = con_->get_remote_close_code();
    // websocketpp reports "no code" and "no close frame at all" as 1005/1006.
    int reported = code == websocketpp::close::status::no_status ||
                           code == websocketpp::close::status::abnormal_close
                       ? 0
                       : static_cast<int>(code);
    std::string reason = con_->get_remote_close_reason();
    auto handlers = std::move(handlers_);
    release();
    if (handlers.on_close)
      handlers.on_close(reported, std::move(reason));
  }

  // Breaks the endpoint -> handler -> transport cycle once websocketpp is done with us; the
  // endpoint must not be destroyed inside its own handler, hence the post.
  void release() {
    auto self = this->shared_from_this();
    asio::post(endpoint_.get_io_service(), [self] {
      self->endpoint_.set_open_handler(nullptr);
      self->endpoint_.set_fail_handler(nullptr);
      self->endpoint_.set_close_handler(nullptr);
      self->endpoint_.set_message_handler(nullptr);
      self->con_->set_open_handler(nullptr);
      self->con_->set_fail_handler(nullptr);
      self->con_->set_close_handler(nullptr);
      self->con_->set_message_handler(nullptr);
    });
  }

  transport_handlers handlers_;
  endpoint_type endpoint_;
  connection_ptr con_;
  bool finished_ = false;
};

template <typename Config>
protocol::result<std::shared_ptr<transport>>
start_transport(asio::io_context& io, const std::string& url, const transport_options& options,
                transport_handlers handlers) {
  auto t = std::make_shared<basic_transport<Config>>(std::move(handlers));
  if (auto started = t->start(io, url, options); !started.ok())
    return std::move(started).error();
  return std::shared_ptr<transport>(std::move(t));
}

} // namespace

protocol::result<std::shared_ptr<transport>> open_transport(asio::io_context& io,
                                                            const std::string& url,
                                                            const transport_options& options,
                                                            transport_handlers handlers) {
  if (url.rfind("wss://", 0) == 0)
    return start_transport<tls_config>(io, url, options, std::move(handlers));
  if (url.rfind("ws://", 0) != 0)
    return {protocol::errc::invalid_value, "the URL must start with ws:// or wss://"};
  return start_transport<plain_config>(io, url, options, std::move(handlers));
}

} // namespace agentrt::client::detail

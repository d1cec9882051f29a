// One WebSocket connection (ws:// or wss://) on a shared io_context, kept behind this small
// internal header so that websocketpp, Asio and OpenSSL stay out of the public headers.
// Every member and every handler runs on the io_context's thread.
#pragma once

#include "agentrt/protocol/result.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace asio {
class io_context;
}

namespace agentrt::client::detail {

struct transport_handlers {
  std::function<void()> on_open;
  // The connection attempt failed; http_status is the upgrade response's status when one came.
  std::function<void(std::string error, int http_status)> on_fail;
  // Text frames only, already checked as UTF-8 by websocketpp (decoded with decode_text_frame).
  std::function<void(std::string frame)> on_frame;
  // code is the close code the peer sent, 0 if none. After on_fail or on_close nothing more.
  std::function<void(int code, std::string reason)> on_close;
};

struct transport_options {
  std::map<std::string, std::string> headers;
  std::optional<std::string> ca_file;
  bool verify_tls = true;
};

class transport {
public:
  virtual ~transport() = default;
  // Dropped silently when the connection is not open; the close handler reports why.
  virtual void send(const std::string& frame) = 0;
  virtual void close() = 0; // close handshake with 1000
  virtual void drop() = 0;  // closes the TCP socket at once (aborts a connect too)
  // A header of the upgrade's 101 response ("" when absent); meaningful from on_open on.
  virtual std::string response_header(const std::string& name) const = 0;
};

// Starts connecting. Fails (protocol::errc::invalid_value for a scheme other than ws:// or
// wss://, websocketpp's or Asio's code otherwise) when the URL is unusable; otherwise the
// handlers report the outcome. The transport keeps itself alive until on_fail/on_close ran.
protocol::result<std::shared_ptr<transport>> open_transport(asio::io_context& io,
                                                            const std::string& url,
                                                            const transport_options& options,
                                                            transport_handlers handlers);

} // namespace agentrt::client::detail

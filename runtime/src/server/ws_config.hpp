// websocketpp configuration for the runtime: plain TCP on standalone Asio, driven by the
// runtime's single io_context thread, so no locking anywhere (concurrency::none). The
// transport and the message manager are the runtime's flow-controlled ones (ws_transport.hpp).
#pragma once

#include "agentrt/protocol/websocket_utf8.hpp" // first: see there
#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/message_buffer/alloc.hpp>
#include <websocketpp/message_buffer/message.hpp>
#include <websocketpp/server.hpp>

#include "server/ws_transport.hpp"

namespace agentrt::runtime::server {

struct ws_config : websocketpp::config::asio {
  using type = ws_config;
  using base = websocketpp::config::asio;
  using concurrency_type = websocketpp::concurrency::none;
  using alog_type = websocketpp::log::basic<concurrency_type, websocketpp::log::alevel>;
  using elog_type = websocketpp::log::basic<concurrency_type, websocketpp::log::elevel>;
  using message_type = websocketpp::message_buffer::message<tracked_msg_manager>;
  using con_msg_manager_type = tracked_msg_manager<message_type>;
  using endpoint_msg_manager_type =
      websocketpp::message_buffer::alloc::endpoint_msg_manager<con_msg_manager_type>;

  struct transport_config : base::transport_config {
    using concurrency_type = type::concurrency_type;
    using alog_type = type::alog_type;
    using elog_type = type::elog_type;
    using request_type = type::request_type;
    using response_type = type::response_type;
    using message_type = type::message_type;
    using con_msg_manager_type = type::con_msg_manager_type;
    using endpoint_msg_manager_type = type::endpoint_msg_manager_type;
    using socket_type = websocketpp::transport::asio::basic_socket::endpoint;
  };
  using transport_type = flow_endpoint<transport_config>;

  // Larger reads mean fewer handler calls for big inbound frames; memory is per connection.
  static const std::size_t connection_read_buffer_size = 64 * 1024;
  // Without this, a hostile or buggy client can make us buffer the whole handshake body.
  static const std::size_t max_http_body_size = 64 * 1024;
};

using ws_server = websocketpp::server<ws_config>;
using connection_ptr = ws_server::connection_ptr;

} // namespace agentrt::runtime::server

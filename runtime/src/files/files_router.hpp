// The routing hook between the runtime's accept loop and websocketpp: a newly accepted
// connection's first bytes are peeked (MSG_PEEK, nothing consumed) and a request for /files
// goes to the files API's own streaming HTTP handler (files_server), everything else to
// websocketpp exactly as before. websocketpp's HTTP handler cannot serve the files API: it reads
// the whole body into memory and sends responses as one string.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "files/files_server.hpp"

namespace agentrt::runtime::files {

class files_router {
public:
  files_router(asio::io_context& io, files_server& server) : io_(io), server_(server) {}
  ~files_router();

  // sock: accepted, not yet read from; keep_alive: holds whatever owns sock. Calls
  // to_websocket() when the connection is not for the files API (or the peer sends nothing
  // recognisable within the peek deadline); otherwise takes the socket's descriptor.
  void route(asio::ip::tcp::socket& sock, std::shared_ptr<void> keep_alive,
             std::function<void()> to_websocket);
  // Drops connections still being peeked at (the runtime is shutting down).
  void shutdown();

private:
  struct pending;
  void check(const std::shared_ptr<pending>& p);

  asio::io_context& io_;
  files_server& server_;
  std::map<pending*, std::shared_ptr<pending>> pending_;
};

} // namespace agentrt::runtime::files

// Accepts connections on the runtime's port: token check on the WebSocket upgrade, plain
// GET /health, and one session per WebSocket connection — or, for a connection that opted in to
// durable sessions, a new durable session or the resume of one (docs/durable-sessions.md).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <system_error>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "config/options.hpp"
#include "files/files_router.hpp"
#include "files/files_server.hpp"
#include "process/process_reaper.hpp"
#include "server/frame_budget.hpp"
#include "server/server_state.hpp"
#include "server/session.hpp"
#include "server/ws_config.hpp"

namespace agentrt::runtime::server {

class listener {
public:
  listener(asio::io_context& io, const config::options& opts, process::process_reaper& reaper,
           harness::harness& agent_harness);
  ~listener();

  // Binds and starts accepting. An error here (address in use, bad host) is fatal at startup.
  std::error_code start();
  std::uint16_t port() const;

  // Stops accepting, cancels every request in flight (killing its processes) and every
  // upload, closes every connection with 1001, waits for sessions already closed to finish
  // killing their processes, then calls on_done; also calls on_done after a deadline whatever
  // peers and processes do.
  void shutdown(std::function<void()> on_done);

private:
  // websocketpp's accept loop re-arms at once after an error, so with the descriptor limit
  // reached (EMFILE) it spun at 100% CPU; this one backs off instead.
  void accept_next();
  void on_accept(const connection_ptr& con, const std::error_code& ec);
  void on_tcp_ready(websocketpp::connection_hdl hdl);
  void on_frame_refused(websocketpp::connection_hdl hdl, std::size_t frame_bytes);
  bool on_validate(websocketpp::connection_hdl hdl);
  bool on_ping(websocketpp::connection_hdl hdl);
  void on_http(websocketpp::connection_hdl hdl);
  // GET /metrics, for --token or --metrics-token.
  void serve_metrics(ws_server::connection_type& con);
  void on_open(websocketpp::connection_hdl hdl);
  void on_close(websocketpp::connection_hdl hdl);
  void on_message(websocketpp::connection_hdl hdl, ws_server::message_ptr msg);
  // A durable opt-in that cannot be honoured: error_message with code, then close.
  void refuse_resume(const connection_ptr& con, const std::string& text, const std::string& code,
                     websocketpp::close::status::value close);
  void maybe_finish_shutdown();
  std::string health_json() const;

  // Before the sessions: their transfers and extractions must be gone before these are.
  transfer::transfer_engine transfers_;
  transfer::thread_pool pool_;
  server_state state_;
  // Before server_: connections (and what their handlers hold) are destroyed with it.
  std::shared_ptr<frame_budget> frame_budget_;
  ws_server server_;
  // After server_, so destroyed before it: the router may hold connections not yet started.
  files::files_server files_;
  files::files_router files_router_;
  asio::steady_timer accept_backoff_timer_;
  std::chrono::milliseconds accept_backoff_{0};
  std::map<websocketpp::connection_hdl, std::shared_ptr<session>,
           std::owner_less<websocketpp::connection_hdl>>
      sessions_;
  // Sessions whose connection is gone but whose request is still being killed or whose
  // uploads are still finishing, and detached durable sessions (until resumed or expired). Owned
  // here rather than by their own handlers, so that no cycle keeps one alive and destroying the
  // listener destroys whatever is left.
  std::map<const session*, std::shared_ptr<session>> closing_;
  std::function<void()> on_shutdown_done_;
  asio::steady_timer shutdown_deadline_;
};

} // namespace agentrt::runtime::server

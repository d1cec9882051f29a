// One protocol session: any number of sequential requests, one in flight at a time, exactly one
// terminal message per request, the send bound, the idle timeout and the end-session handshake.
// It owns its request (command_request / invocation_request) and its artifact manager, and talks
// to the client through a connection (connection.hpp). Everything runs on the runtime's
// io_context thread.
//
// Message handling, by protocol message: requests -> handle(command_execution_message /
// invocation_message), cancel_message -> handle(cancel_message), end_session_message ->
// end_session(), artifact_upload_response_message -> the artifact manager.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <asio/steady_timer.hpp>

#include "agentrt/protocol/messages.hpp"
#include "agentrt/protocol/redactor.hpp"
#include "artifacts/artifact_manager.hpp"
#include "server/connection.hpp"
#include "server/request.hpp"
#include "server/server_state.hpp"
#include "server/ws_config.hpp"

namespace agentrt::runtime::server {

class session : public std::enable_shared_from_this<session>, private request_host {
public:
  session(server_state& state, connection_ptr con);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void on_open();
  void on_message(ws_server::message_ptr msg);
  // A ping from the client; websocketpp answers it (true) once this returns.
  bool on_ping();
  // The connection is gone (closed or failed): kill the request's processes, stop watching
  // artifacts, send nothing. on_released runs (once, maybe from inside this call) when nothing
  // the session started is left: the request's processes are gone and detached uploads have
  // finished or been cancelled. The owner keeps the session until then; every handler the
  // session hands out holds it weakly, so dropping it earlier destroys what it still owns.
  void on_close(std::function<void()> on_released);
  // Runtime shutdown: drop the output queued for the client and close with 1001 at once;
  // kill the request's processes quickly and cancel uploads. Also for a closed session still
  // releasing: it is hurried along.
  void shutdown();
  // Drops queued output and closes now (shutdown, refused frame, idle timeout).
  void close_now(websocketpp::close::status::value code, const std::string& reason);

private:
  void handle_frame(ws_server::message_ptr msg);
  void handle(protocol::command_execution_message&& m);
  void handle(protocol::invocation_message&& m);
  void handle(protocol::cancel_message&& m);
  void handle(protocol::end_session_message&& m);
  void handle(protocol::artifact_upload_response_message&& m);

  bool refuse_if_busy(const char* message_type);
  void start_request(std::shared_ptr<request> r);
  void end_session();
  void release_if_done();

  // request_host (a private base: only this class hands itself out as one)
  request_host& host() { return *this; }
  void send_for_request(protocol::message m) override;
  bool add_artifact_dirs(const std::vector<std::string>& dirs,
                         const std::optional<std::string>& ignore_content, bool upload_results,
                         std::string& error) override;
  void request_done(std::uint64_t request_id, std::optional<protocol::message> terminal) override;

  // The send bound (send_flow.hpp): over it, the request's producers are paused, and so is
  // reading the socket once a frame arrives while it is exceeded; all resume below its low
  // water mark, checked after every completed socket write.
  void throttle();
  void on_write_done();
  void unthrottle();
  // Artifact announcements are the one producer that cannot be paused (the inotify watch
  // keeps reporting): past the bound they wait here, one entry per file with a count.
  void send_artifact_message(protocol::message m);
  void release_deferred_announcements(bool all);
  // Closes after everything queued has been handed to websocketpp (end of session).
  void close_when_flushed(websocketpp::close::status::value code, std::string reason);
  bool busy() const;
  // Shutdown: the request is abandoned once the close frame is written (or kill_timer_ fires).
  void kill_for_shutdown();
  void abandon_request(std::chrono::milliseconds grace);
  void arm_idle_timer(std::chrono::steady_clock::duration after);
  void on_idle_timer(const std::error_code& ec);

  void send(protocol::message m);
  void send_error(std::string text, std::string metadata_json);
  void log_info(const std::string& text) const;
  void log_warn(const std::string& text) const;

  server_state& state_;
  std::unique_ptr<connection> conn_;
  std::uint64_t id_;
  std::shared_ptr<request> request_;
  // Artifact messages can outlive their request (files that finish late belong to the
  // session), so they are redacted with the secrets of the latest request.
  std::shared_ptr<const protocol::redactor> last_redactor_;
  std::shared_ptr<artifacts::artifact_manager> artifacts_;
  bool upload_results_ = false;
  std::uint64_t next_request_id_ = 1;
  bool throttled_ = false;
  struct deferred_announcement {
    protocol::artifact_upload_request_message message;
    std::size_t count = 0;
  };
  std::map<std::string, deferred_announcement> deferred_;
  std::deque<std::string> deferred_order_;
  std::optional<std::pair<websocketpp::close::status::value, std::string>> close_after_flush_;
  // Traffic either way (a frame or ping received, a socket write completed) for the idle timeout.
  std::chrono::steady_clock::time_point last_activity_;
  asio::steady_timer idle_timer_;
  bool kill_after_close_ = false;
  asio::steady_timer kill_timer_;
  bool end_pending_ = false;
  bool draining_ = false;
  bool closing_ = false; // a close was started: nothing more is sent
  bool closed_ = false;
  std::function<void()> on_released_;
};

} // namespace agentrt::runtime::server

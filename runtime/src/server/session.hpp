// One protocol session: any number of sequential requests, one in flight at a time, exactly one
// terminal message per request, the send bound, the idle timeout and the end-session handshake.
// It owns its request (command_request / invocation_request) and its artifact manager, and talks
// to the client through a connection (connection.hpp). Everything runs on the runtime's
// io_context thread.
//
// Message handling, by protocol message: requests -> handle(command_execution_message /
// invocation_message), cancel_message -> handle(cancel_message), end_session_message ->
// end_session(), artifact_upload_response_message -> the artifact manager; on a durable session
// also ack_message -> the journal, detach_message -> detach confirm and close.
//
// A durable session (docs/durable-sessions.md) is attached to zero or one connection: when its
// connection drops it is detached and keeps running for a window, every runtime -> client
// message is numbered and kept in its journal until acknowledged, and resume() attaches a new
// connection, replays what the client missed and goes on live. Everything the attached
// connection gets is read from the journal (next_send is its cursor), so replay and live
// stream are one loop; past the send bound frames wait in the journal (and the producers
// pause), not in the connection's queue.
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
#include "log/logger.hpp"
#include "server/connection.hpp"
#include "server/journal.hpp"
#include "server/request.hpp"
#include "server/server_state.hpp"
#include "server/ws_config.hpp"
#include "sessionproc/process_table.hpp"

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

  // Durable sessions. make_durable() before on_open(): the connection opted in and got these
  // credentials (the registry holds the session under them).
  void make_durable(session_credentials credentials);
  bool durable() const noexcept { return durable_ != nullptr; }
  bool attached() const noexcept { return conn_ != nullptr; }
  // The connection con (its upgrade presented this session's token) takes over: a connection
  // still attached is closed with 4001, then the client gets session_info_message, every
  // message after last_seq and the live stream.
  void resume(connection_ptr con, std::uint64_t last_seq);
  bool attached_to(const connection_ptr& con) const noexcept { return conn_ && conn_->same(con); }

private:
  // A new connection (open or resume): completed writes reach on_write_done, the idle timer
  // starts.
  void watch_connection();
  void handle_frame(ws_server::message_ptr msg);
  void handle(protocol::command_execution_message&& m);
  void handle(protocol::invocation_message&& m);
  void handle(protocol::cancel_message&& m);
  void handle(protocol::end_session_message&& m);
  void handle(protocol::artifact_upload_response_message&& m);
  void handle(protocol::artifact_upload_declined_message&& m);
  void handle(protocol::ack_message&& m);
  void handle(protocol::detach_message&& m);
  // Session processes (docs/processes.md), only on a session whose connection opted in.
  template <class M> void handle_process_message(M&& m);
  sessionproc::process_table& processes();
  // Then on_done; at once when the session has no processes.
  void end_processes(std::chrono::milliseconds grace, std::function<void()> on_done);

  bool refuse_if_busy(const char* message_type);
  void refuse_unexpected(const protocol::message& m, const char* why);
  void start_request(std::shared_ptr<request> r);
  void end_session();
  void release_if_done();
  // The session is over for good (non-durable connection gone, durable window expired, end of
  // a durable session, shutdown): kill the request's processes, stop watching artifacts, send
  // nothing; a durable session becomes a tombstone.
  void close_session();
  // Durable: the connection is gone but the session lives on for its window.
  void detach();
  void on_window_expired(const std::error_code& ec);
  // Durable: hands journaled frames from next_send on to the attached connection while it has
  // room (gaps become gap_message), and throttles the producers when it has none.
  void pump();
  bool caught_up() const;
  void send_session_info(bool resumed);
  void reannounce_unanswered(std::uint64_t last_seq);

  // request_host (a private base: only this class hands itself out as one)
  request_host& host() { return *this; }
  void send_for_request(protocol::message m) override;
  protocol::result<void> add_artifact_dirs(const std::vector<std::string>& dirs,
                                           const std::optional<std::string>& ignore_content,
                                           bool announce_existing, bool upload_results) override;
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
  // log_warn for warn and above, log_info below (the artifact manager's log handler).
  void log_at(log::level level, const std::string& text) const;

  server_state& state_;
  std::unique_ptr<connection> conn_; // null while a durable session is detached
  std::uint64_t id_;
  std::shared_ptr<request> request_;
  // Artifact messages can outlive their request (files that finish late belong to the
  // session), so they are redacted with the secrets of the latest request.
  std::shared_ptr<const protocol::redactor> last_redactor_;
  std::shared_ptr<artifacts::artifact_manager> artifacts_;
  // Session processes: created with the first process_start_message.
  std::shared_ptr<sessionproc::process_table> processes_;
  bool processes_enabled_ = false; // a connection of the session asked for "processes"
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
  bool closed_ = false;  // for good: no connection now, none ever again
  bool ended_ = false;   // end_session_confirm_message sent: the session ends with its connection
  std::function<void()> on_released_;

  struct durable_state {
    durable_state(asio::io_context& io, session_credentials c, journal_limits limits)
        : credentials(std::move(c)), log(std::make_unique<journal>(std::move(limits))),
          window_timer(io) {}
    session_credentials credentials;
    std::unique_ptr<journal> log; // reset when the session is over (the spill file goes)
    std::uint64_t next_send = 1;  // the seq the attached connection gets next
    bool detached = false;
    bool detach_requested = false; // detach_message: the detached window applies
    // Close the attached connection once everything up to this seq has been handed to it.
    std::optional<std::uint64_t> close_after_seq;
    // Upload requests announced (their seq) and not answered yet, by path, for a resume.
    std::map<std::string, std::pair<std::uint64_t, protocol::artifact_upload_request_message>>
        unanswered_uploads;
    asio::steady_timer window_timer;
  };
  std::unique_ptr<durable_state> durable_;
};

} // namespace agentrt::runtime::server

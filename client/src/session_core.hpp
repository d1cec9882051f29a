// The state machine behind async_session: one connection, at most one request in flight, the
// end-session handshake. It lives on its io_loop's thread: the public members post there, and
// every handler, timer and user callback runs there, so the state needs no locks.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// After a standard header: Asio decides how to allocate (aligned_alloc or operator
// new) from libstdc++ macros, and every translation unit must decide alike.
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "agentrt/client/async_session.hpp"
#include "agentrt/protocol/messages.hpp"
#include "transport.hpp"

namespace agentrt::client::detail {

// A "?token=..." in the URL is a credential; keep it out of error messages.
std::string url_for_messages(const std::string& url);

class session_core : public std::enable_shared_from_this<session_core> {
public:
  explicit session_core(asio::io_context& io) : io_(io) {}

  void connect(const connect_options& options, std::function<void(client_error)> done);
  void query(std::string prompt, query_options options, async_session::query_handler handler);
  void execute(std::vector<protocol::command> commands, execute_options options,
               async_session::execute_handler handler);
  void abort();
  void end(async_session::end_handler handler);
  void detach(); // the user's handle is gone: close the connection

private:
  enum class state { connecting, open, ending, closed };
  using clock_point = std::chrono::steady_clock::time_point;

  struct request {
    bool is_query = false;
    std::uint64_t id = 0;
    request_options options;
    std::function<void(const protocol::assistant_message&)> on_assistant_message;
    std::function<void(const protocol::agent_event_message&)> on_agent_event;
    async_session::query_handler on_query_done;
    async_session::execute_handler on_execute_done;
    std::optional<errc> cancel_reason; // set once the request is being cancelled
    std::string cancel_text;           // why, for the error message
    std::string cancel_metadata = "{}";
    std::chrono::steady_clock::time_point last_frame;
    asio::steady_timer overall_timer;
    asio::steady_timer idle_timer;
    asio::steady_timer grace_timer;
    explicit request(asio::io_context& io) : overall_timer(io), idle_timer(io), grace_timer(io) {}
  };

  // On the io thread.
  void begin(std::unique_ptr<request> r, protocol::message wire);
  void on_open();
  void on_fail(const std::string& error, int http_status);
  void on_close(int code, const std::string& reason);
  void on_frame(std::string frame);
  void on_terminal(protocol::message& m, const std::string& frame);
  void on_upload_request(const protocol::artifact_upload_request_message& m);
  void on_upload_reply(std::uint64_t id, const protocol::artifact_upload_request_message& m,
                       const std::optional<upload_target>& target);
  void on_upload_timeout(std::uint64_t id, const protocol::artifact_upload_request_message& m);
  void arm_idle_timer();
  void start_cancel(errc reason, std::string text, std::string metadata);
  void violation(const std::string& what, const std::string& frame);
  void finish(client_error error, query_result qr = {}, execute_result er = {});
  void finish_connect(client_error error);
  void finish_end(client_error error);
  void send(const protocol::message& m);
  void start_settle();
  void on_settle_timer();
  void end_settle();

  asio::io_context& io_;
  std::shared_ptr<transport> transport_;
  state state_ = state::connecting;
  std::string url_; // redacted, for messages
  std::function<void(client_error)> connect_done_;
  std::optional<asio::steady_timer> connect_timer_;
  std::unique_ptr<request> request_;
  std::uint64_t next_request_id_ = 1;

  // After a request ended with an error_message the next request waits until the connection
  // has been quiet for a moment: runtimeuse follows a handler's error_message with a second,
  // terminal one, which would otherwise be taken for the next request's answer.
  bool settling_ = false;
  clock_point last_frame_at_{};
  clock_point settle_deadline_{};
  std::optional<asio::steady_timer> settle_timer_;
  std::unique_ptr<request> deferred_; // the request waiting for the settle, and its frame
  std::optional<protocol::message> deferred_wire_;

  // Session-wide, set by the latest request that had them: the runtime keeps watching
  // artifact directories for the rest of the session.
  std::function<void(const protocol::artifact_upload_request_message&, upload_reply)>
      upload_handler_;
  std::function<void(const protocol::artifact_upload_result_message&)> upload_result_handler_;
  std::chrono::milliseconds callback_timeout_{30000};
  std::map<std::uint64_t, std::unique_ptr<asio::steady_timer>> pending_uploads_;
  std::uint64_t next_upload_id_ = 1;

  async_session::end_handler end_done_;
  std::optional<asio::steady_timer> end_timer_;
  client_error end_error_; // reported with the confirm (e.g. an upload callback timed out)
  bool ended_ = false;
  int close_code_ = 0;
  std::string close_reason_;
};

} // namespace agentrt::client::detail

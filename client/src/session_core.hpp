// The state machine behind async_session: one session, at most one request in flight, the
// end-session handshake; on a durable session (docs/durable-sessions.md) also the connection's
// replacement after a drop, exactly-once delivery, acknowledgements, detach and attach. It
// lives on its io_loop's thread: the public members post there, and every handler, timer and
// user callback runs there, so the state needs no locks.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "agentrt/client/async_session.hpp"
#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/messages.hpp"
#include "process_state.hpp"
#include "transport.hpp"
#include "upload_answers.hpp"

namespace agentrt::client::detail {

// A "?token=..." in the URL is a credential; keep it out of error messages.
std::string url_for_messages(const std::string& url);
client_error make_error(errc e, std::string message, std::string metadata_json = "{}");
std::string ms(std::chrono::milliseconds d); // "250 ms"

class session_core : public std::enable_shared_from_this<session_core> {
public:
  explicit session_core(asio::io_context& io) : io_(io) {}

  void connect(const connect_options& options, std::function<void(client_error)> done);
  // connect() for an existing durable session; the request in flight there is adopted with
  // callbacks, and done gets its outcome.
  void attach(const connect_options& options, const session_handle& handle,
              attach_options callbacks, std::function<void(client_error)> attached,
              async_session::attach_handler done);
  void query(std::string prompt, query_options options, async_session::query_handler handler);
  void execute(std::vector<protocol::command> commands, execute_options options,
               async_session::execute_handler handler);
  void abort();
  void end(async_session::end_handler handler);
  void detach(async_session::detach_handler handler);
  void release(); // the user's handle is gone: close the connection

  // ---- processes.cpp: session processes (docs/processes.md) ---------------------------------
  void start_process(process_options options, process_callbacks callbacks,
                     async_session::process_handler handler);
  void list_processes(async_session::list_handler handler);
  process_handle adopt_process(std::string process_id, process_callbacks callbacks);
  // Whether the runtime answered the "processes" extension on the current connection.
  bool processes_supported() const noexcept { return runtime_has_processes_.load(); }
  // From process_handle; each posts to the I/O thread.
  void process_stdin(std::shared_ptr<process_state> p, std::string bytes, bool eof,
                     process_handle::done_handler done);
  void process_control(std::shared_ptr<process_state> p, protocol::message m,
                       process_handle::done_handler done); // signal or resize
  void process_wait_ready(std::shared_ptr<process_state> p, process_handle::ready_handler h);
  void process_wait(std::shared_ptr<process_state> p, process_handle::exit_handler h);

  // Set before connect/attach completes, constant afterwards.
  bool durable() const noexcept { return durable_flag_.load(); }
  std::string session_id() const;

private:
  enum class state { connecting, open, ending, detaching, closed };
  using clock_point = std::chrono::steady_clock::time_point;

  struct request {
    enum class kind { execute, query, adopted } type = kind::execute;
    std::uint64_t id = 0;
    request_options options;
    std::function<void(const protocol::assistant_message&)> on_assistant_message;
    std::function<void(const protocol::agent_event_message&)> on_agent_event;
    async_session::query_handler on_query_done;
    async_session::execute_handler on_execute_done;
    async_session::attach_handler on_attach_done;
    std::string wire;                  // the encoded request, kept for a resend after a resume
    std::uint64_t number = 0;          // its position among the session's requests; 0: not yet sent
    std::optional<errc> cancel_reason; // set once the request is being cancelled
    std::string cancel_text;           // why, for the error message
    std::string cancel_metadata = "{}";
    std::chrono::steady_clock::time_point last_frame;
    asio::steady_timer overall_timer;
    asio::steady_timer idle_timer;
    asio::steady_timer grace_timer;
    explicit request(asio::io_context& io) : overall_timer(io), idle_timer(io), grace_timer(io) {}
  };

  // ---- session_core.cpp: requests, frames, uploads, end -------------------------------------
  void begin(std::unique_ptr<request> r);
  void start_request_timers();
  void send_request();
  void on_open();
  void on_fail(const std::string& error, int http_status);
  void on_close(int code, const std::string& reason);
  void on_frame(std::string frame);
  void dispatch(protocol::message& msg, const std::string& frame);
  void on_terminal(protocol::message& m, const std::string& frame);
  void on_upload_request(const protocol::artifact_upload_request_message& m);
  void on_upload_reply(std::uint64_t id, const protocol::artifact_upload_request_message& m,
                       const std::optional<upload_target>& target);
  void on_upload_timeout(std::uint64_t id, const protocol::artifact_upload_request_message& m);
  void send_upload_answer(const protocol::artifact_upload_response_message& answer);
  // No answer will be sent for m; tells a runtime that supports it (extension upload-decline).
  void decline_upload(const protocol::artifact_upload_request_message& m, std::string reason);
  void arm_idle_timer();
  void start_cancel(errc reason, std::string text, std::string metadata);
  void violation(const std::string& what, const std::string& frame);
  void finish(client_error error, query_result qr = {}, execute_result er = {},
              attach_result::kind got = attach_result::kind::none);
  void close_now(); // closes the connection on purpose, stops reconnecting
  void finish_connect(client_error error);
  void finish_end(client_error error);
  void fail_all(const client_error& error); // the session is over: every pending call fails
  void send(const protocol::message& m);
  void start_settle();
  void on_settle_timer();
  void end_settle();

  // ---- processes.cpp ----------------------------------------------------------------------------
  // A question to the runtime awaiting its answer, by the ref the runtime echoes.
  struct process_op {
    enum class kind { start, list, wait, confirm, barrier } type = kind::list;
    std::string wire;
    bool sent = false;      // on the current connection
    bool uncertain = false; // sent on a connection that dropped before the answer
    process_callbacks callbacks{};
    bool ready_asked = false; // start
    async_session::process_handler on_started{};
    async_session::list_handler on_list{};
    process_handle::exit_handler on_exit{};
    process_handle::done_handler on_done{};
    std::string confirms; // barrier: the confirm op it settles; after a resume: "" (resend)
  };
  static void fail_op(process_op& op, const client_error& error); // its handler, if any
  std::optional<client_error> process_refusal() const;
  std::string new_process_ref();
  // Sends (or keeps for the resume) a question whose answer carries ref.
  void submit(std::string ref, process_op op);
  void on_process_message(protocol::message& msg); // one of the process messages below
  void on_process_output(const protocol::process_output_message& m);
  void on_process_started(const protocol::process_started_message& m);
  void on_process_stdin_ack(const protocol::process_stdin_ack_message& m);
  void on_process_ready(const protocol::process_ready_message& m);
  void on_process_exit(const protocol::process_exit_message& m);
  void on_process_list_result(protocol::process_list_result_message& m);
  void on_process_error(protocol::process_error_message& m);
  void on_barrier(const std::string& confirms, std::vector<process_info> processes);
  void pump_stdin(process_state& p);
  // After a resume: sends again what of p's stdin the runtime did not receive (info: the
  // runtime's view from the resume's barrier; null when it no longer lists the process).
  void resend_stdin(process_state& p, const process_info* info);
  void fail_stdin(process_state& p, const client_error& error);
  void fail_processes(const client_error& error); // the session is over
  void resume_processes();                        // a durable session resumed

  // ---- session_durable.cpp: the durable-sessions extension ----------------------------------
  transport_handlers handlers_for(std::uint64_t generation);
  // A new transport for the current generation; fails when the URL is unusable.
  protocol::result<void> open_connection();
  // true: handle the frame as any other (not durable after all)
  bool on_first_frame(protocol::decode_result& decoded, const std::string& frame);
  bool accept_numbered(const protocol::decode_result& decoded); // false: a duplicate
  bool accept_gap(const protocol::gap_message& gap);
  void after_numbered();
  void on_session_info(const protocol::session_info_message& info);
  void on_resumed(const protocol::session_info_message& info);
  void on_resume_refused(const protocol::error_message& e);
  void on_detach_confirm(const protocol::detach_confirm_message& m);
  void begin_reconnect(std::string reason);
  void schedule_attempt();
  void start_attempt();
  void attempt_failed(std::string error);   // try again (if the policy allows)
  void attempt_refused(client_error error); // the session cannot be resumed: give up now
  void give_up();
  void arm_ack_timer();
  void send_ack();
  void finish_detach(session_handle handle, client_error error);
  void emit_event(connection_event::kind type);
  bool link_up() const noexcept;

  asio::io_context& io_;
  std::shared_ptr<transport> transport_;
  state state_ = state::connecting;
  connect_options options_;
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
  std::unique_ptr<request> deferred_; // the request waiting for the settle

  // Session-wide, set by the latest request that had them: the runtime keeps watching
  // artifact directories for the rest of the session.
  std::function<void(const protocol::artifact_upload_request_message&, upload_reply)>
      upload_handler_;
  std::function<void(const protocol::artifact_upload_result_message&)> upload_result_handler_;
  std::chrono::milliseconds callback_timeout_{30000};
  std::map<std::uint64_t, std::unique_ptr<asio::steady_timer>> pending_uploads_;
  std::uint64_t next_upload_id_ = 1;
  upload_answers answers_;

  async_session::end_handler end_done_;
  std::optional<asio::steady_timer> end_timer_;
  client_error end_error_; // reported with the confirm (e.g. an upload callback timed out)
  bool ended_ = false;

  // ---- durable sessions -----------------------------------------------------------------------
  // Every transport gets a generation; events of an older one (an attempt given up on, the
  // connection that dropped) are ignored.
  std::uint64_t generation_ = 0;
  bool closing_ = false;                // we closed on purpose: a close is not a drop
  bool runtime_takes_declines_ = false; // its 101 listed upload-decline in Agentrt-Extensions
  bool awaiting_info_ = false; // opened with the extension: session_info_message comes first
  bool resuming_ = false;      // the current transport is a resume attempt
  bool durable_ = false;
  std::atomic<bool> durable_flag_{false}; // durable_, for other threads
  mutable std::mutex id_mutex_;
  std::string session_id_;
  std::string resume_token_;
  std::string attach_url_;      // the URL as given (credentials and all), for handles
  std::uint64_t last_seq_ = 0;  // the highest seq delivered
  std::uint64_t acked_seq_ = 0; // the highest seq acknowledged
  std::uint64_t unacked_ = 0;
  std::uint64_t unacked_bytes_ = 0; // frame bytes of the unacknowledged numbered messages
  std::optional<asio::steady_timer> ack_timer_;
  bool ack_timer_armed_ = false;
  std::uint64_t requests_sent_ = 0;
  // The end of the replay after a resume (the runtime's last_seq then): what has not arrived
  // by then must be asked for again (a cancel lost in transit).
  std::optional<std::uint64_t> replay_end_;
  bool resend_cancel_after_replay_ = false;
  bool adopted_may_be_idle_ = false; // attach: no request in flight at the runtime
  // Reconnecting: the outage's start, its attempts, the last failure.
  bool reconnecting_ = false;
  clock_point outage_start_{};
  int attempts_ = 0;
  std::string last_attempt_error_;
  std::string drop_reason_;
  std::optional<asio::steady_timer> attempt_timer_;
  std::minstd_rand jitter_{std::random_device{}()};
  async_session::detach_handler detach_done_;
  std::optional<asio::steady_timer> detach_timer_;

  // ---- session processes ------------------------------------------------------------------------
  std::atomic<bool> runtime_has_processes_{false};
  // Refs are "c" + a counter: shorter first, then alphabetical, is the order they were made in,
  // which is the order questions kept for a resume must go out in (a signal before its barrier).
  struct ref_order {
    bool operator()(const std::string& a, const std::string& b) const {
      return a.size() != b.size() ? a.size() < b.size() : a < b;
    }
  };
  std::map<std::string, process_op, ref_order> process_ops_;
  std::map<std::string, std::shared_ptr<process_state>> processes_;
  std::uint64_t next_process_ref_ = 1;
};

} // namespace agentrt::client::detail

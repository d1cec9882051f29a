// Protocol session: which message goes where, one request at a time, the send bound, the idle
// timeout and the end of the session (see session.hpp).
#include "server/session.hpp"

#include <algorithm>
#include <utility>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/input_quote.hpp"
#include "agentrt/protocol/json_builder.hpp"
#include "log/logger.hpp"
#include "metrics/runtime_metrics.hpp"
#include "server/command_request.hpp"
#include "server/extensions.hpp"
#include "server/invocation_request.hpp"
#include "server/session_registry.hpp"
#include "util/weak_bind.hpp"

namespace agentrt::runtime::server {
namespace {

// runtimeuse's words, so that logs read the same.
const char* const deprecated_artifacts_dir =
    "artifacts_dir is deprecated; use artifacts_dirs (string[]) instead.";

// On runtime shutdown children get less time than on cancel: the runtime must exit promptly.
constexpr std::chrono::milliseconds shutdown_grace{2000};
// How long a request's processes may live on after the shutdown close, for the close frame
// to be written first.
constexpr std::chrono::milliseconds shutdown_kill_delay{2000};

// The close code of a durable session's connection that another connection took over
// (docs/durable-sessions.md).
constexpr websocketpp::close::status::value superseded_close = 4001;

double seconds(std::chrono::milliseconds d) {
  return static_cast<double>(d.count()) / 1000.0;
}

// What a gap notice needs to know of a numbered message: output can be dropped past the journal's
// budget and is then counted by (type, command, stream); everything else is kept.
journal_entry_info entry_info(const protocol::message& m) {
  journal_entry_info info;
  info.message_type = protocol::message_type_name(m);
  if (auto* out = std::get_if<protocol::command_output_message>(&m)) {
    info.droppable = true;
    info.command = out->command;
    info.stream = out->stream;
    info.bytes = out->text.size();
  } else if (auto* a = std::get_if<protocol::assistant_message>(&m)) {
    info.droppable = true;
    for (const auto& block : a->text_blocks)
      info.bytes += block.size();
  } else if (auto* e = std::get_if<protocol::agent_event_message>(&m)) {
    info.droppable = true;
    info.command = e->event;
    info.bytes = e->data.json.size();
  } else if (auto* p = std::get_if<protocol::process_output_message>(&m)) {
    info.droppable = true;
    info.command = p->process_id;
    info.stream = p->stream;
    info.bytes = p->data.size();
  }
  return info;
}

protocol::gap_message gap_notice(const journal_gap& gap) {
  protocol::gap_message m;
  m.from_seq = gap.from_seq;
  m.to_seq = gap.to_seq;
  for (const auto& l : gap.lost)
    m.lost.push_back({l.message_type, l.command, l.stream, l.messages, l.bytes});
  return m;
}

} // namespace

session::session(server_state& state, connection_ptr con)
    : state_(state), conn_(std::make_unique<connection>(std::move(con))),
      id_(state.next_session_id++), idle_timer_(state.io), kill_timer_(state.io) {}

session::~session() {
  // Only reached with a request in flight when the runtime exits past its shutdown deadline:
  // what the request still runs must not outlive the runtime.
  if (request_)
    request_->kill_now();
  if (processes_)
    processes_->kill_now();
}

void session::make_durable(session_credentials credentials) {
  durable_ =
      std::make_unique<durable_state>(state_.io, std::move(credentials), state_.journal_budget());
}

void session::watch_connection() {
  conn_->set_write_done_handler(util::weak_bind(weak_from_this(), &session::on_write_done));
  last_activity_ = std::chrono::steady_clock::now();
  if (state_.options.session_idle_timeout.count() > 0)
    arm_idle_timer(state_.options.session_idle_timeout);
}

void session::on_open() {
  ++state_.open_sessions;
  processes_enabled_ = lists_extension(conn_->request_header("Agentrt-Extensions"), "processes");
  metrics::get().sessions_started.add();
  log::info({}, "session " + std::to_string(id_) + " opened from " + conn_->peer() +
                    (durable_ ? " (durable, id " + durable_->credentials.session_id + ")" : ""));
  if (durable_)
    send_session_info(false);
  watch_connection();
}

bool session::on_ping() {
  last_activity_ = std::chrono::steady_clock::now();
  // The pong joins websocketpp's queue: a client pinging without reading is paused like one
  // sending frames.
  if (conn_->over_high_water())
    conn_->pause_reads();
  return !closed_;
}

void session::on_message(ws_server::message_ptr msg) {
  if (closed_)
    return;
  last_activity_ = std::chrono::steady_clock::now();
  handle_frame(std::move(msg));
  // Every frame may be answered. While the client's answers are over the bound the socket is
  // not read any further (the client's sends block), so a client that sends and never reads
  // cannot queue replies without end. A frame already read is still handled (a cancel from a
  // slow client that stopped reading works), and so is the rest of the read buffer.
  if (conn_->over_high_water())
    conn_->pause_reads();
}

void session::handle_frame(ws_server::message_ptr msg) {
  if (msg->get_opcode() != websocketpp::frame::opcode::text) {
    send_error("binary frames are not supported: send one JSON object per text frame",
               protocol::json_builder().add("code", "unsupported_frame").str());
    return;
  }
  protocol::decode_result decoded = protocol::decode_text_frame(msg->get_payload());
  if (!decoded.msg) {
    log_warn("bad frame: " + decoded.error);
    protocol::json_builder meta;
    meta.add("code", decoded.ec ? decoded.ec.message() : std::string("invalid"));
    if (!decoded.message_type.empty())
      meta.add("message_type", protocol::quote_prefix(decoded.message_type));
    send_error("invalid message: " + decoded.error, meta.str());
    return;
  }
  std::visit(
      [this](auto&& m) {
        using t = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<t, protocol::command_execution_message> ||
                      std::is_same_v<t, protocol::invocation_message> ||
                      std::is_same_v<t, protocol::cancel_message> ||
                      std::is_same_v<t, protocol::end_session_message> ||
                      std::is_same_v<t, protocol::artifact_upload_response_message> ||
                      std::is_same_v<t, protocol::artifact_upload_declined_message>) {
          handle(std::move(m));
        } else if constexpr (std::is_same_v<t, protocol::process_start_message> ||
                             std::is_same_v<t, protocol::process_stdin_message> ||
                             std::is_same_v<t, protocol::process_signal_message> ||
                             std::is_same_v<t, protocol::process_resize_message> ||
                             std::is_same_v<t, protocol::process_list_message> ||
                             std::is_same_v<t, protocol::process_wait_message>) {
          if (processes_enabled_) {
            handle_process_message(std::move(m));
          } else {
            refuse_unexpected(protocol::message(m),
                              "the connection did not ask for the \"processes\" extension "
                              "(see docs/processes.md)");
          }
        } else if constexpr (std::is_same_v<t, protocol::ack_message> ||
                             std::is_same_v<t, protocol::detach_message>) {
          if (durable_) {
            handle(std::move(m));
          } else {
            refuse_unexpected(protocol::message(m),
                              "this session is not durable (see docs/durable-sessions.md)");
          }
        } else {
          refuse_unexpected(protocol::message(m), "it is sent by a runtime, not a client");
        }
      },
      std::move(*decoded.msg));
}

void session::refuse_unexpected(const protocol::message& m, const char* why) {
  const std::string type = protocol::message_type_name(m);
  log_warn("unexpected " + type + " from the client");
  send_error(
      "unexpected message_type \"" + type + "\": " + why,
      protocol::json_builder().add("code", "unexpected_message").add("message_type", type).str());
}

bool session::refuse_if_busy(const char* message_type) {
  if (!request_ && !end_pending_)
    return false;
  const char* why = end_pending_ ? "the session is ending" : "another request is in flight";
  log_warn(std::string("refused ") + message_type + ": " + why);
  send_error(why,
             protocol::json_builder().add("code", "busy").add("message_type", message_type).str());
  return true;
}

void session::handle(protocol::command_execution_message&& m) {
  if (refuse_if_busy("command_execution_message"))
    return;
  request::params p;
  p.id = next_request_id_++;
  p.source_id = std::move(m.source_id);
  p.secrets = std::move(m.secrets_to_redact);
  p.client_capabilities = std::move(m.client_capabilities);
  p.artifacts_dirs = std::move(m.artifacts_dirs);
  p.artifacts_ignore_content = std::move(m.artifacts_ignore_content);
  p.announce_existing_artifacts = m.announce_existing_artifacts.value_or(true);
  p.downloadables = std::move(m.pre_execution_downloadables);
  const std::size_t n = m.commands.size();
  auto r = std::make_shared<command_request>(state_, host(), std::move(p), std::move(m.commands));
  r->log_info("command_execution_message: " + std::to_string(n) + " command(s)");
  if (m.used_artifacts_dir)
    r->log_warn(deprecated_artifacts_dir);
  start_request(std::move(r));
}

void session::handle(protocol::invocation_message&& m) {
  if (refuse_if_busy("invocation_message"))
    return;
  request::params p;
  p.id = next_request_id_++;
  p.source_id = m.source_id;
  p.secrets = m.secrets_to_redact;
  p.client_capabilities = m.client_capabilities;
  p.artifacts_dirs = std::move(m.artifacts_dirs);
  p.artifacts_ignore_content = std::move(m.artifacts_ignore_content);
  p.announce_existing_artifacts = m.announce_existing_artifacts.value_or(true);
  p.downloadables = std::move(m.pre_agent_downloadables);
  const std::string line =
      "invocation_message: harness " + state_.harness.name() + ", model \"" + m.model + "\"";
  const bool used_artifacts_dir = m.used_artifacts_dir;
  auto r = std::make_shared<invocation_request>(state_, host(), std::move(p), std::move(m));
  r->log_info(line);
  if (used_artifacts_dir)
    r->log_warn(deprecated_artifacts_dir);
  start_request(std::move(r));
}

void session::start_request(std::shared_ptr<request> r) {
  request_ = r;
  last_redactor_ = r->redactor();
  ++state_.requests_in_flight;
  // Still over the send bound from the previous request: its producers start paused.
  if (throttled_)
    r->pause_output();
  // r, not request_: the request may end (and be dropped) inside start().
  r->start();
}

void session::handle(protocol::cancel_message&&) {
  if (request_)
    request_->cancel(); // idle, finishing or already cancelling: a no-op
}

void session::handle(protocol::end_session_message&&) {
  if (end_pending_)
    return;
  end_pending_ = true;
  if (processes_enabled_)
    processes().stop_accepting();
  if (!request_)
    end_session(); // otherwise once the request in flight has its terminal
}

void session::handle(protocol::artifact_upload_response_message&& m) {
  if (durable_)
    durable_->unanswered_uploads.erase(m.filepath);
  if (artifacts_) {
    artifacts_->on_upload_response(m);
    return;
  }
  log_warn("refused artifact_upload_response_message for \"" + protocol::quote_prefix(m.filepath) +
           "\": this session announced no such file");
}

void session::handle(protocol::artifact_upload_declined_message&& m) {
  if (durable_)
    durable_->unanswered_uploads.erase(m.filepath);
  if (artifacts_) {
    artifacts_->on_upload_declined(m);
    return;
  }
  log_warn("refused artifact_upload_declined_message for \"" + protocol::quote_prefix(m.filepath) +
           "\": this session announced no such file");
}

void session::handle(protocol::ack_message&& m) {
  // Only what was handed to a connection can have arrived.
  durable_->log->ack(std::min(m.seq, durable_->next_send - 1));
}

void session::handle(protocol::detach_message&&) {
  if (durable_->detach_requested || ended_)
    return;
  durable_->detach_requested = true;
  if (processes_)
    processes_->withdraw_waits();
  log::info({}, "session " + std::to_string(id_) + ": the client detaches; the session waits " +
                    std::to_string(state_.options.detached_window.count() / 1000) +
                    " s for a resume");
  send(protocol::detach_confirm_message{durable_->credentials.session_id,
                                        seconds(state_.options.detached_window)});
  close_when_flushed(websocketpp::close::status::normal, "detached");
}

template <class M> void session::handle_process_message(M&& m) {
  if constexpr (std::is_same_v<std::decay_t<M>, protocol::process_start_message>) {
    log::info({}, "session " + std::to_string(id_) + ": process_start_message" +
                      (m.pty ? " (pty)" : "") + (m.ready ? " (readiness)" : ""));
  }
  processes().handle(std::forward<M>(m));
}

sessionproc::process_table& session::processes() {
  if (!processes_) {
    sessionproc::table_limits limits;
    limits.max_processes = state_.options.max_session_processes;
    limits.process.kill_grace = state_.options.kill_grace;
    limits.process.drain_idle = state_.options.drain_idle;
    processes_ = std::make_shared<sessionproc::process_table>(
        state_.io, state_.reaper, limits, util::weak_bind(weak_from_this(), &session::send));
    if (throttled_)
      processes_->pause_output();
  }
  return *processes_;
}

void session::end_processes(std::chrono::milliseconds grace, std::function<void()> on_done) {
  if (!processes_) {
    on_done();
    return;
  }
  processes_->terminate_all(grace, std::move(on_done));
}

protocol::result<void> session::add_artifact_dirs(const std::vector<std::string>& dirs,
                                                  const std::optional<std::string>& ignore_content,
                                                  bool announce_existing, bool upload_results) {
  if (upload_results)
    upload_results_ = true;
  if (dirs.empty())
    return {};
  if (!artifacts_) {
    artifacts_ = std::make_shared<artifacts::artifact_manager>(
        state_.io, state_.transfers, state_.transfer_options(),
        util::weak_bind(weak_from_this(), &session::send_artifact_message),
        util::weak_bind(weak_from_this(), &session::log_at));
  }
  artifacts_->set_upload_results(upload_results_);
  return artifacts_->add_directories(dirs, ignore_content, announce_existing);
}

void session::send_for_request(protocol::message m) {
  send(std::move(m));
}

void session::request_done(std::uint64_t request_id, std::optional<protocol::message> terminal) {
  if (!request_ || request_->id() != request_id)
    return;
  // Sent while request_ is still set: redacted with the request's secrets.
  if (terminal)
    send(std::move(*terminal));
  request_.reset();
  --state_.requests_in_flight;
  if (end_pending_ && !closed_)
    end_session();
  release_if_done();
}

void session::end_session() {
  if (draining_)
    return;
  draining_ = true;
  // Weak: the artifact manager keeps this until its drain ends, and the session owns it.
  auto confirm = [weak = weak_from_this()] {
    auto self = weak.lock();
    // A detached durable session journals the confirm: the client resumes to collect it.
    if (!self || self->closed_ || (self->closing_ && !self->durable_))
      return;
    // Announcements held back by the send bound go before the confirm, as they would have.
    self->release_deferred_announcements(true);
    self->ended_ = true;
    self->send(protocol::end_session_confirm_message{});
    log::info({}, "session " + std::to_string(self->id_) + " ended by the client");
    self->close_when_flushed(websocketpp::close::status::normal, "session ended");
  };
  // The session's processes are gone before the confirm: a client that saw it can count on
  // nothing of the session running any more.
  end_processes(state_.options.kill_grace, [weak = weak_from_this(), confirm] {
    auto self = weak.lock();
    if (!self || self->closed_)
      return;
    if (!self->artifacts_) {
      confirm();
      return;
    }
    // Files closed just before the end message still get announced, and the client keeps
    // answering until the confirm, so both waits happen before it.
    self->artifacts_->drain(self->state_.options.artifact_settle,
                            self->state_.options.drain_timeout, confirm);
  });
}

void session::on_close(std::function<void()> on_released) {
  if (closed_)
    return;
  on_released_ = std::move(on_released);
  if (durable_ && conn_ && !ended_ && !state_.shutting_down) {
    detach();
    return;
  }
  close_session();
}

void session::detach() {
  auto& d = *durable_;
  --state_.open_sessions;
  ++state_.detached_sessions;
  conn_->set_write_done_handler(nullptr);
  conn_.reset();
  closing_ = false;
  close_after_flush_.reset();
  d.close_after_seq.reset();
  idle_timer_.cancel();
  d.detached = true;
  // Nobody reads now: output flows into the journal, whose budget bounds it.
  if (throttled_) {
    throttled_ = false;
    if (request_)
      request_->resume_output();
    if (processes_)
      processes_->resume_output();
  }
  const auto window =
      d.detach_requested ? state_.options.detached_window : state_.options.resume_window;
  log::info({}, "session " + std::to_string(id_) + " detached" +
                    (request_ ? " with a request in flight" : "") + "; waiting " +
                    std::to_string(window.count() / 1000) + " s for a resume");
  d.window_timer.expires_after(window);
  d.window_timer.async_wait(util::weak_bind(weak_from_this(), &session::on_window_expired));
}

void session::on_window_expired(const std::error_code& ec) {
  if (ec || closed_ || conn_)
    return;
  metrics::get().durable_sessions_expired.add();
  log::info({}, "session " + std::to_string(id_) + ": nobody resumed it within its window" +
                    (request_ ? ": killing the request's processes" : ""));
  close_session();
}

void session::close_session() {
  // The registry may hold the last reference but one.
  auto keep = shared_from_this();
  closed_ = true;
  if (conn_) {
    --state_.open_sessions;
    conn_->set_write_done_handler(nullptr);
    conn_->drop_queued();
    conn_.reset();
  } else if (durable_ && durable_->detached) {
    --state_.detached_sessions;
  }
  idle_timer_.cancel();
  kill_after_close_ = false;
  kill_timer_.cancel();
  deferred_.clear();
  deferred_order_.clear();
  if (durable_) {
    durable_->window_timer.cancel();
    durable_->detached = false;
    durable_->log.reset();
    durable_->unanswered_uploads.clear();
    state_.durable_sessions.retire(durable_->credentials.session_id);
  }
  log::info({}, "session " + std::to_string(id_) + " closed");
  if (artifacts_) {
    // Detached uploads outlive the connection; their outcome must still reach the log.
    artifacts_->set_log_handler(
        [redactor = last_redactor_, id = id_](log::level level, const std::string& text) {
          if (!log::enabled(level))
            return;
          log::write(level, {},
                     "session " + std::to_string(id) + ": " +
                         (redactor ? redactor->redact(text) : text));
        });
    if (state_.shutting_down || (durable_ && !ended_))
      artifacts_->cancel_uploads();
    artifacts_->detach(state_.options.drain_timeout,
                       util::weak_bind(weak_from_this(), &session::release_if_done));
  }
  if (request_ && request_->current_state() != request::state::cancelling) {
    request_->log_info("client went away with a request in flight: killing its processes");
    abandon_request(state_.shutting_down ? std::min(state_.options.kill_grace, shutdown_grace)
                                         : state_.options.kill_grace);
  }
  if (processes_) {
    end_processes(state_.shutting_down ? std::min(state_.options.kill_grace, shutdown_grace)
                                       : state_.options.kill_grace,
                  util::weak_bind(weak_from_this(), &session::release_if_done));
  }
  release_if_done();
}

void session::abandon_request(std::chrono::milliseconds grace) {
  // The request reports back through request_done (without a terminal) once its processes
  // are gone; that may happen inside this call.
  request_->abandon(grace);
}

void session::release_if_done() {
  if (!closed_ || !on_released_ || request_ || (artifacts_ && !artifacts_->idle()) ||
      (processes_ && !processes_->idle()))
    return;
  auto released = std::move(on_released_);
  on_released_ = nullptr;
  released();
}

void session::shutdown() {
  if (artifacts_)
    artifacts_->cancel_uploads();
  if (!closed_ && !conn_)
    close_session(); // a detached durable session: over now
  if (closed_) {
    // Still killing what the request left: with the shutdown's shorter grace from now on.
    if (request_)
      abandon_request(std::min(state_.options.kill_grace, shutdown_grace));
    if (processes_ && !processes_->idle())
      end_processes(std::min(state_.options.kill_grace, shutdown_grace),
                    util::weak_bind(weak_from_this(), &session::release_if_done));
    return;
  }
  // The close goes first: a client must not have to read megabytes of output (or wait for the
  // request's processes to die) to learn that the runtime is going away. Killing waits until
  // the close frame has been written to the socket (at most shutdown_kill_delay): finding and
  // signalling a request's processes scans /proc, and with many requests that keeps the
  // io_context thread busy for seconds, during which the close frames would not be written.
  close_now(websocketpp::close::status::going_away, "runtime shutting down");
  if (!request_ && !processes_)
    return;
  kill_after_close_ = true;
  kill_timer_.expires_after(shutdown_kill_delay);
  kill_timer_.async_wait([weak = weak_from_this()](const std::error_code& ec) {
    auto self = weak.lock();
    if (!ec && self)
      self->kill_for_shutdown();
  });
}

void session::kill_for_shutdown() {
  if (!kill_after_close_)
    return;
  kill_after_close_ = false;
  kill_timer_.cancel();
  // Also a request being cancelled: with the shutdown's shorter grace from now on.
  if (request_)
    abandon_request(std::min(state_.options.kill_grace, shutdown_grace));
  if (processes_)
    end_processes(std::min(state_.options.kill_grace, shutdown_grace),
                  util::weak_bind(weak_from_this(), &session::release_if_done));
}

void session::close_now(websocketpp::close::status::value code, const std::string& reason) {
  if (closed_ || closing_ || !conn_)
    return;
  closing_ = true;
  idle_timer_.cancel();
  close_after_flush_.reset();
  // Nothing produced from here on can be sent: producers stay paused (a request that is
  // killed resumes its own output to drain it).
  throttle();
  const std::size_t dropped = conn_->drop_queued();
  deferred_.clear();
  deferred_order_.clear();
  if (dropped > 0) {
    log::info({}, "session " + std::to_string(id_) + ": dropped " + std::to_string(dropped) +
                      " bytes of output the client had not read");
  }
  conn_->close(code, reason);
}

void session::close_when_flushed(websocketpp::close::status::value code, std::string reason) {
  if (closed_ || closing_ || !conn_)
    return;
  if (durable_ && !caught_up()) {
    // What is journaled up to here goes first; what comes later waits for a resume.
    if (!durable_->close_after_seq)
      durable_->close_after_seq = durable_->log->last_seq();
    close_after_flush_.emplace(code, std::move(reason));
    return;
  }
  if (!conn_->queue_empty()) {
    close_after_flush_.emplace(code, std::move(reason));
    return;
  }
  closing_ = true;
  conn_->close(code, reason);
}

void session::throttle() {
  throttled_ = true;
  if (request_)
    request_->pause_output();
  if (processes_)
    processes_->pause_output();
}

void session::on_write_done() {
  if (closed_)
    return;
  if (closing_) {
    // Everything queued before the close frame, and the close frame, has been written.
    if (kill_after_close_ && conn_->buffered_amount() == 0)
      kill_for_shutdown();
    return;
  }
  last_activity_ = std::chrono::steady_clock::now();
  conn_->refill();
  if (durable_)
    pump();
  if ((throttled_ || conn_->reads_paused()) && conn_->under_low_water() &&
      (!durable_ || caught_up()))
    unthrottle();
  if (close_after_flush_ && conn_ && conn_->queue_empty() &&
      (!durable_ || !durable_->close_after_seq ||
       durable_->next_send > *durable_->close_after_seq)) {
    if (durable_)
      durable_->close_after_seq.reset();
    auto [code, reason] = std::move(*close_after_flush_);
    close_after_flush_.reset();
    closing_ = true;
    conn_->close(code, reason);
  }
}

void session::unthrottle() {
  throttled_ = false;
  if (request_)
    request_->resume_output(); // a no-op once its output is no longer wanted
  if (processes_)
    processes_->resume_output();
  if (conn_)
    conn_->resume_reads();
  release_deferred_announcements(false);
}

void session::send_artifact_message(protocol::message m) {
  auto* announce = std::get_if<protocol::artifact_upload_request_message>(&m);
  // A durable session's journal keeps announcements (they are never dropped) whatever the
  // send bound.
  if (announce == nullptr || durable_ || (!throttled_ && deferred_order_.empty())) {
    send(std::move(m));
    return;
  }
  if (closed_ || closing_)
    return;
  auto [it, added] = deferred_.try_emplace(announce->filepath);
  if (added) {
    it->second.message = std::move(*announce);
    deferred_order_.push_back(it->first);
  }
  ++it->second.count;
}

void session::release_deferred_announcements(bool all) {
  while (!deferred_order_.empty() && (all || !throttled_)) {
    auto it = deferred_.find(deferred_order_.front());
    // The file was announced once per event, and the artifact manager expects an answer to
    // each: the count keeps them all, in one entry.
    if (--it->second.count == 0) {
      protocol::artifact_upload_request_message m = std::move(it->second.message);
      deferred_.erase(it);
      deferred_order_.pop_front();
      send(std::move(m));
    } else {
      send(it->second.message);
    }
  }
}

bool session::busy() const {
  // A running session process keeps its session: a service the client started is in use.
  return request_ || end_pending_ || draining_ || !deferred_order_.empty() ||
         (artifacts_ && !artifacts_->idle()) || (processes_ && processes_->running() > 0);
}

void session::arm_idle_timer(std::chrono::steady_clock::duration after) {
  idle_timer_.expires_after(after);
  idle_timer_.async_wait(util::weak_bind(weak_from_this(), &session::on_idle_timer));
}

void session::on_idle_timer(const std::error_code& ec) {
  if (ec || closed_ || closing_ || !conn_)
    return;
  const auto timeout = state_.options.session_idle_timeout;
  const auto now = std::chrono::steady_clock::now();
  if (busy()) {
    // Something in flight counts as activity: the full timeout starts once it is over.
    last_activity_ = now;
    arm_idle_timer(timeout);
    return;
  }
  const auto idle_for = now - last_activity_;
  if (idle_for < timeout) {
    arm_idle_timer(timeout - idle_for);
    return;
  }
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
  log::info({}, "session " + std::to_string(id_) + ": idle for " + std::to_string(secs) +
                    " s with nothing in flight: closing (--session-idle-timeout)");
  close_now(websocketpp::close::status::going_away, "session idle timeout");
}

void session::send(protocol::message m) {
  if (closed_ || (closing_ && !durable_))
    return;
  const protocol::redactor* r = request_ ? request_->redactor().get() : last_redactor_.get();
  if (r && !r->empty())
    protocol::redact_message(m, *r);
  if (durable_) {
    journal& log = *durable_->log;
    const std::uint64_t seq = log.next_seq();
    if (auto* announce = std::get_if<protocol::artifact_upload_request_message>(&m))
      durable_->unanswered_uploads.insert_or_assign(announce->filepath, std::pair{seq, *announce});
    journal_entry_info info = entry_info(m);
    log.append(protocol::encode(m, seq), std::move(info));
    pump();
    return;
  }
  const std::error_code ec = conn_->send(protocol::encode(m));
  if (ec) {
    log::debug({}, "session " + std::to_string(id_) + ": send failed: " + ec.message());
    return;
  }
  if (!throttled_ && conn_->over_high_water())
    throttle();
}

bool session::caught_up() const {
  return durable_->next_send > durable_->log->last_seq();
}

void session::pump() {
  if (!conn_ || closing_)
    return;
  auto& d = *durable_;
  const std::uint64_t last = d.close_after_seq.value_or(d.log->last_seq());
  while (d.next_send <= last && !conn_->over_high_water()) {
    std::optional<journal_item> item = d.log->read(d.next_send);
    if (!item)
      break;
    if (item->read_error) {
      log::warn({}, "session " + std::to_string(id_) + ": journal read failed (" +
                        item->read_error.message() + "): the client is told what is missing");
    }
    std::string frame =
        item->gap ? protocol::encode(gap_notice(*item->gap)) : std::move(item->frame);
    if (const std::error_code send_ec = conn_->send(std::move(frame))) {
      log::debug({}, "session " + std::to_string(id_) + ": send failed: " + send_ec.message());
      return;
    }
    d.next_send = item->last_seq + 1;
  }
  // The connection has no room for what is waiting: the producers wait too (the journal holds
  // what they already made).
  if (!throttled_ && !caught_up())
    throttle();
}

void session::send_session_info(bool resumed) {
  const auto& d = *durable_;
  protocol::session_info_message info;
  info.session_id = d.credentials.session_id;
  info.resume_token = d.credentials.resume_token;
  info.resumed = resumed;
  info.resume_window_s = seconds(state_.options.resume_window);
  info.detached_window_s = seconds(state_.options.detached_window);
  info.last_seq = d.log->last_seq();
  info.requests_received = next_request_id_ - 1;
  info.request_in_flight = request_ != nullptr;
  // Not numbered, not journaled: it describes the connection it opens.
  if (const std::error_code ec = conn_->send(protocol::encode(info)))
    log::debug({}, "session " + std::to_string(id_) + ": send failed: " + ec.message());
}

void session::resume(connection_ptr con, std::uint64_t last_seq) {
  metrics::get().durable_resumes.add();
  auto& d = *durable_;
  if (conn_) {
    log::info({}, "session " + std::to_string(id_) + ": resumed from " +
                      con->get_remote_endpoint() + " while attached to " + conn_->peer() +
                      ": closing that connection with 4001");
    conn_->set_write_done_handler(nullptr);
    conn_->drop_queued();
    conn_->close(superseded_close, "superseded by another connection");
    conn_.reset();
  } else {
    --state_.detached_sessions;
    ++state_.open_sessions;
    d.window_timer.cancel();
    d.detached = false;
    log::info({}, "session " + std::to_string(id_) + " resumed from " + con->get_remote_endpoint());
  }
  conn_ = std::make_unique<connection>(std::move(con));
  processes_enabled_ = processes_enabled_ ||
                       lists_extension(conn_->request_header("Agentrt-Extensions"), "processes");
  closing_ = false;
  close_after_flush_.reset();
  d.close_after_seq.reset();
  d.detach_requested = false;
  watch_connection();
  // The client has everything up to last_seq (a claim beyond what was sent is clamped).
  last_seq = std::min(last_seq, d.log->last_seq());
  d.log->ack(last_seq);
  send_session_info(true);
  d.next_send = last_seq + 1;
  reannounce_unanswered(last_seq);
  if (ended_) {
    // The confirm is in the replay; the session ends once it has been handed over.
    close_when_flushed(websocketpp::close::status::normal, "session ended");
  }
  pump();
}

void session::reannounce_unanswered(std::uint64_t last_seq) {
  // The client saw these (seq <= last_seq) and its answer may have been lost with the
  // connection: announced again, as new messages. An answer that arrives twice is refused.
  std::vector<protocol::artifact_upload_request_message> again;
  for (const auto& [path, entry] : durable_->unanswered_uploads) {
    if (entry.first <= last_seq)
      again.push_back(entry.second);
  }
  for (auto& m : again) {
    log_info("announcing \"" + protocol::quote_prefix(m.filepath) +
             "\" again: no answer arrived before the connection dropped");
    send(std::move(m));
  }
}

void session::send_error(std::string text, std::string metadata_json) {
  send(protocol::error_message{std::move(text), protocol::json_text{std::move(metadata_json)}});
}

void session::log_info(const std::string& text) const {
  if (request_) {
    request_->log_info(text);
  } else if (log::enabled(log::level::info)) {
    log::info({}, text);
  }
}

void session::log_at(log::level level, const std::string& text) const {
  if (level >= log::level::warn)
    log_warn(text);
  else
    log_info(text);
}

void session::log_warn(const std::string& text) const {
  if (request_) {
    request_->log_warn(text);
  } else {
    log::warn({}, text);
  }
}

} // namespace agentrt::runtime::server

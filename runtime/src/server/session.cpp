// Protocol session: which message goes where, one request at a time, backpressure, and the end of
// the session (see session.hpp).
#include "server/session.hpp"

#include <algorithm>
#include <utility>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/errc.hpp"
#include "log/logger.hpp"
#include "server/command_request.hpp"
#include "server/invocation_request.hpp"
#include "util/json_object.hpp"

namespace agentrt::runtime::server {
namespace {

// Output is read from a producer only while less than this is queued for the socket: a slow
// client stalls the child (its pipe fills) instead of growing our memory.
constexpr std::size_t backpressure_high_water = 4 * 1024 * 1024;
constexpr std::size_t backpressure_low_water = 1024 * 1024;
// On runtime shutdown children get less time than on cancel: the runtime must exit promptly.
constexpr std::chrono::milliseconds shutdown_grace{2000};

} // namespace

session::session(server_state& state, connection_ptr con)
    : state_(state), conn_(std::make_shared<connection>(state.io, std::move(con))),
      id_(state.next_session_id++) {}

session::~session() {
  if (request_)
    request_->kill_now();
}

void session::on_open() {
  ++state_.open_sessions;
  log::info({}, "session " + std::to_string(id_) + " opened from " + conn_->peer());
}

void session::on_message(ws_server::message_ptr msg) {
  if (closed_)
    return;
  if (msg->get_opcode() != websocketpp::frame::opcode::text) {
    send_error("binary frames are not supported: send one JSON object per text frame",
               util::json_object().add("code", "unsupported_frame").str());
    return;
  }
  protocol::decode_result decoded = protocol::decode_text_frame(msg->get_payload());
  if (!decoded.msg) {
    log_warn("bad frame: " + decoded.error);
    util::json_object meta;
    meta.add("code", decoded.ec ? decoded.ec.message() : std::string("invalid"));
    if (!decoded.message_type.empty())
      meta.add("message_type", decoded.message_type);
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
                      std::is_same_v<t, protocol::artifact_upload_response_message>) {
          handle(std::move(m));
        } else {
          const std::string type = protocol::message_type_name(protocol::message(m));
          log_warn("unexpected " + type + " from the client");
          send_error("unexpected message_type \"" + type +
                         "\": it is sent by a runtime, not a client",
                     util::json_object()
                         .add("code", "unexpected_message")
                         .add("message_type", type)
                         .str());
        }
      },
      std::move(*decoded.msg));
}

bool session::refuse_if_busy(const char* message_type) {
  if (!request_ && !end_pending_)
    return false;
  const char* why = end_pending_ ? "the session is ending" : "another request is in flight";
  log_warn(std::string("refused ") + message_type + ": " + why);
  send_error(why, util::json_object().add("code", "busy").add("message_type", message_type).str());
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
  p.downloadables = std::move(m.pre_execution_downloadables);
  const std::size_t n = m.commands.size();
  auto r = std::make_shared<command_request>(state_, host(), std::move(p), std::move(m.commands));
  r->log_info("command_execution_message: " + std::to_string(n) + " command(s)");
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
  p.downloadables = std::move(m.pre_agent_downloadables);
  const std::string line =
      "invocation_message: harness " + state_.harness.name() + ", model \"" + m.model + "\"";
  auto r = std::make_shared<invocation_request>(state_, host(), std::move(p), std::move(m));
  r->log_info(line);
  start_request(std::move(r));
}

void session::start_request(std::shared_ptr<request> r) {
  request_ = r;
  last_redactor_ = r->redactor();
  ++state_.requests_in_flight;
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
  if (!request_)
    end_session(); // otherwise once the request in flight has its terminal
}

void session::handle(protocol::artifact_upload_response_message&& m) {
  if (artifacts_) {
    artifacts_->on_upload_response(m);
    return;
  }
  log_warn("refused artifact_upload_response_message for \"" + m.filepath +
           "\": this session announced no such file");
}

bool session::add_artifact_dirs(const std::vector<std::string>& dirs,
                                const std::optional<std::string>& ignore_content,
                                bool upload_results, std::string& error) {
  if (upload_results)
    upload_results_ = true;
  if (dirs.empty())
    return true;
  if (!artifacts_) {
    std::weak_ptr<session> weak = shared_from_this();
    artifacts_ = std::make_shared<artifacts::artifact_manager>(
        state_.io, state_.pool, state_.transfer_options(),
        [weak](protocol::message m) {
          if (auto self = weak.lock())
            self->send(std::move(m));
        },
        [weak](bool warning, const std::string& text) {
          if (auto self = weak.lock())
            warning ? self->log_warn(text) : self->log_info(text);
        });
  }
  artifacts_->set_upload_results(upload_results_);
  return artifacts_->add_directories(dirs, ignore_content, error);
}

void session::send_for_request(protocol::message m) {
  send(std::move(m));
}

void session::output_sent() {
  if (output_paused_ || !request_ || closed_)
    return;
  if (conn_->buffered_amount() < backpressure_high_water)
    return;
  output_paused_ = true;
  request_->pause_output();
  conn_->when_drained(backpressure_low_water, [weak = weak_from_this()] {
    if (auto self = weak.lock())
      self->on_drained();
  });
}

void session::on_drained() {
  output_paused_ = false;
  if (request_)
    request_->resume_output();
}

void session::request_done(std::uint64_t request_id, std::optional<protocol::message> terminal) {
  if (!request_ || request_->id() != request_id)
    return;
  // Sent while request_ is still set: redacted with the request's secrets.
  if (terminal)
    send(std::move(*terminal));
  request_.reset();
  --state_.requests_in_flight;
  if (output_paused_) {
    output_paused_ = false;
    conn_->cancel_wait();
  }
  if (close_when_request_done_ && !closed_) {
    conn_->close(websocketpp::close::status::going_away, "runtime shutting down");
  } else if (end_pending_ && !closed_) {
    end_session();
  }
  release_if_done();
}

void session::end_session() {
  if (draining_)
    return;
  draining_ = true;
  // Weak: the artifact manager keeps this until its drain ends, and the session owns it.
  auto confirm = [weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self || self->closed_)
      return;
    self->send(protocol::end_session_confirm_message{});
    log::info({}, "session " + std::to_string(self->id_) + " ended by the client");
    self->conn_->close(websocketpp::close::status::normal, "session ended");
  };
  if (!artifacts_) {
    confirm();
    return;
  }
  // Files closed just before the end message still get announced, and the client keeps
  // answering until the confirm, so both waits happen before it.
  artifacts_->drain(state_.options.artifact_settle, state_.options.drain_timeout, confirm);
}

void session::on_close(std::function<void()> on_released) {
  if (closed_)
    return;
  closed_ = true;
  on_released_ = std::move(on_released);
  --state_.open_sessions;
  conn_->cancel_wait();
  log::info({}, "session " + std::to_string(id_) + " closed");
  if (artifacts_) {
    // Detached uploads outlive the connection; their outcome must still reach the log.
    artifacts_->set_log_handler(
        [redactor = last_redactor_, id = id_](bool warning, const std::string& text) {
          const std::string line =
              "session " + std::to_string(id) + ": " + (redactor ? redactor->redact(text) : text);
          warning ? log::warn({}, line) : log::info({}, line);
        });
    if (state_.shutting_down)
      artifacts_->cancel_uploads();
    artifacts_->detach(state_.options.drain_timeout, [weak = weak_from_this()] {
      if (auto self = weak.lock())
        self->release_if_done();
    });
  }
  if (request_ && request_->current_state() != request::state::cancelling) {
    request_->log_info("client went away with a request in flight: killing its processes");
    request_->abandon(state_.shutting_down ? std::min(state_.options.kill_grace, shutdown_grace)
                                           : state_.options.kill_grace);
  }
  release_if_done();
}

void session::release_if_done() {
  if (!closed_ || !on_released_ || request_ || (artifacts_ && !artifacts_->idle()))
    return;
  auto released = std::move(on_released_);
  on_released_ = nullptr;
  released();
}

void session::shutdown() {
  if (artifacts_)
    artifacts_->cancel_uploads();
  if (closed_) {
    // Still killing what the request left: with the shutdown's shorter grace from now on.
    if (request_)
      request_->abandon(std::min(state_.options.kill_grace, shutdown_grace));
    return;
  }
  if (!request_) {
    conn_->close(websocketpp::close::status::going_away, "runtime shutting down");
    return;
  }
  close_when_request_done_ = true;
  request_->abandon(std::min(state_.options.kill_grace, shutdown_grace));
}

void session::send(protocol::message m) {
  if (closed_)
    return;
  const protocol::redactor* r = request_ ? request_->redactor().get() : last_redactor_.get();
  if (r && !r->empty())
    protocol::redact_message(m, *r);
  const std::error_code ec = conn_->send(protocol::encode(m));
  if (ec)
    log::debug({}, "session " + std::to_string(id_) + ": send failed: " + ec.message());
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

void session::log_warn(const std::string& text) const {
  if (request_) {
    request_->log_warn(text);
  } else {
    log::warn({}, text);
  }
}

} // namespace agentrt::runtime::server

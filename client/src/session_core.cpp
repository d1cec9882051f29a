// The session state machine (see session_core.hpp): requests, frames, artifact uploads and the
// end of the session; the durable-sessions extension is in session_durable.cpp. Handlers follow
// one pattern: check that the event still belongs to the current request/state, then act;
// everything else is dropped.
#include "session_core.hpp"

#include <asio/post.hpp>

#include <algorithm>
#include <type_traits>
#include <variant>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/json_builder.hpp"

namespace agentrt::client::detail {

namespace {

using clock = std::chrono::steady_clock;

// The runtime drains for at most its --drain-timeout (30 s by default) before confirming.
constexpr auto end_session_limit = std::chrono::seconds(90);
constexpr std::size_t frame_excerpt_bytes = 512;
// The settle after an error_message: runtimeuse sends its second error_message in the same
// event-loop turn as the first, so a short quiet period is enough; it never delays longer.
constexpr auto settle_quiet = std::chrono::milliseconds(100);
constexpr auto settle_max = std::chrono::milliseconds(1000);

std::string timeout_metadata(const char* kind, std::chrono::milliseconds d) {
  protocol::json_builder m;
  m.add("timeout", kind);
  m.add("timeout_ms", static_cast<long long>(d.count()));
  return m.str();
}

// Client-side validation: the runtime would accept these, but the artifacts would go nowhere
// (or the callback would never be called), which is always a caller's mistake.
std::optional<client_error> validate(const request_options& o) {
  if (!o.artifacts_dirs.empty() && !o.on_artifact_upload_request)
    return make_error(errc::invalid_options,
                      "artifacts_dirs requires an on_artifact_upload_request callback");
  if (o.artifacts_dirs.empty() && o.on_artifact_upload_request)
    return make_error(errc::invalid_options,
                      "on_artifact_upload_request is set but artifacts_dirs is empty");
  if (o.timeout && o.timeout->count() <= 0)
    return make_error(errc::invalid_options, "timeout must be positive");
  if (o.idle_timeout && o.idle_timeout->count() <= 0)
    return make_error(errc::invalid_options, "idle_timeout must be positive");
  return std::nullopt;
}

} // namespace

client_error make_error(errc e, std::string message, std::string metadata_json) {
  return client_error{make_error_code(e), std::move(message), std::move(metadata_json)};
}

std::string ms(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

std::string url_for_messages(const std::string& url) {
  std::string out = url;
  for (std::size_t pos = 0; (pos = out.find("token=", pos)) != std::string::npos;) {
    if (pos != 0 && out[pos - 1] != '?' && out[pos - 1] != '&') {
      pos += 6;
      continue;
    }
    std::size_t begin = pos + 6;
    std::size_t end = out.find_first_of("&#", begin);
    out.replace(begin, (end == std::string::npos ? out.size() : end) - begin, "[REDACTED]");
    pos = begin;
  }
  return out;
}

// ---- connecting -----------------------------------------------------------------------------

void session_core::connect(const connect_options& options, std::function<void(client_error)> done) {
  asio::post(io_, [self = shared_from_this(), options, done = std::move(done)]() mutable {
    self->options_ = options;
    self->url_ = url_for_messages(options.url);
    self->attach_url_ = options.url;
    self->connect_done_ = std::move(done);
    if (auto opened = self->open_connection(); !opened.ok()) {
      self->state_ = state::closed;
      self->on_fail("invalid URL: " + opened.error().message(), 0);
      return;
    }
    self->connect_timer_.emplace(self->io_, options.connect_timeout);
    self->connect_timer_->async_wait([self, timeout = options.connect_timeout](std::error_code ec) {
      if (ec || self->state_ != state::connecting)
        return;
      protocol::json_builder m;
      m.add("url", self->url_);
      m.add("timeout_ms", static_cast<long long>(timeout.count()));
      self->fail_all(make_error(
          errc::connection_failed,
          "cannot connect to " + self->url_ + ": timed out after " + ms(timeout), m.str()));
    });
  });
}

void session_core::on_open() {
  runtime_takes_declines_ =
      transport_->response_header("Agentrt-Extensions").find("upload-decline") != std::string::npos;
  runtime_has_processes_ =
      transport_->response_header("Agentrt-Extensions").find("processes") != std::string::npos;
  if (resuming_ || (state_ == state::connecting && options_.durable)) {
    // The extension's answer decides; the connect completes with session_info_message.
    const std::string extensions = transport_->response_header("Agentrt-Extensions");
    if (extensions.find("durable-sessions") != std::string::npos) {
      awaiting_info_ = true;
      return;
    }
    if (resuming_) {
      attempt_refused(
          make_error(errc::resume_refused, "resume refused: the runtime at " + url_ +
                                               " does not support durable sessions (no " +
                                               "Agentrt-Extensions: durable-sessions)"));
      return;
    }
  }
  if (state_ != state::connecting)
    return;
  state_ = state::open;
  if (connect_timer_)
    connect_timer_->cancel();
  finish_connect({});
}

void session_core::on_fail(const std::string& error, int http_status) {
  protocol::json_builder m;
  m.add("url", url_);
  if (http_status != 0)
    m.add("http_status", http_status);
  m.add("error", error);
  if (resuming_ && state_ != state::connecting) {
    // A refused token will be refused again; anything else may be the network.
    if (http_status == 401 || http_status == 403)
      attempt_refused(make_error(errc::connection_failed,
                                 "cannot reconnect to " + url_ + ": " + error, m.str()));
    else
      attempt_failed(error);
    return;
  }
  fail_all(
      make_error(errc::connection_failed, "cannot connect to " + url_ + ": " + error, m.str()));
}

void session_core::finish_connect(client_error error) {
  if (auto done = std::move(connect_done_)) {
    connect_done_ = nullptr;
    done(std::move(error));
  }
}

void session_core::on_close(int code, const std::string& reason) {
  protocol::json_builder m;
  m.add("url", url_);
  m.add("close_code", code);
  m.add("close_reason", reason);
  std::string suffix;
  if (code != 0)
    suffix = " (close code " + std::to_string(code) + (reason.empty() ? "" : ": " + reason) + ")";
  if (state_ == state::connecting) {
    // Open, then closed before session_info_message (a new session or an attach).
    fail_all(make_error(errc::connection_failed,
                        "cannot connect to " + url_ + ": the connection closed" + suffix, m.str()));
    return;
  }
  if (durable_ && !closing_ && state_ != state::closed) {
    if (code == 4001) {
      fail_all(make_error(errc::superseded,
                          "another connection resumed this session; this one was closed" + suffix,
                          m.str()));
      return;
    }
    if (resuming_) {
      attempt_failed("the connection closed before session_info_message" + suffix);
      return;
    }
    begin_reconnect(code != 0 ? "close code " + std::to_string(code) +
                                    (reason.empty() ? "" : ": " + reason)
                              : "the connection dropped");
    return;
  }
  const bool was_ending = state_ == state::ending;
  state_ = state::closed;
  // A pending timer would keep the io_loop running (its destructor then waits its 5 s bound).
  for (auto* timer : {&ack_timer_, &detach_timer_, &end_timer_})
    if (*timer)
      (*timer)->cancel();
  for (auto& [id, timer] : pending_uploads_)
    timer->cancel();
  pending_uploads_.clear();
  end_settle(); // a deferred request is refused as closed
  if (request_)
    finish(make_error(errc::closed, "the connection closed while waiting for the answer" + suffix,
                      m.str()));
  if (was_ending || end_done_) {
    finish_end(make_error(errc::closed,
                          "the connection closed before end_session_confirm_message" + suffix,
                          m.str()));
  }
  finish_detach({}, make_error(errc::closed,
                               "the connection closed before detach_confirm_message" + suffix,
                               m.str()));
  fail_processes(make_error(errc::closed,
                            (ended_ ? "the session has ended" : "the connection closed") + suffix,
                            m.str()));
}

void session_core::release() {
  asio::post(io_, [self = shared_from_this()] {
    if (self->state_ == state::closed || !self->transport_)
      return;
    // A durable session outlives its connection: without the cancel, the runtime would keep
    // the request running for its resume window although nobody will come back for it.
    if (self->durable_ && self->request_ && self->request_->number != 0)
      self->send(protocol::cancel_message{});
    self->closing_ = true;
    if (self->reconnecting_) {
      self->fail_all(make_error(errc::closed, "the session was closed"));
      return;
    }
    self->transport_->close();
  });
}

void session_core::fail_all(const client_error& error) {
  ++generation_; // nothing more from the transport
  state_ = state::closed;
  closing_ = true;
  reconnecting_ = false;
  resuming_ = false;
  awaiting_info_ = false;
  for (auto* timer : {&connect_timer_, &attempt_timer_, &ack_timer_, &detach_timer_, &end_timer_})
    if (*timer)
      (*timer)->cancel();
  for (auto& [id, timer] : pending_uploads_)
    timer->cancel();
  pending_uploads_.clear();
  if (transport_)
    transport_->drop();
  finish_connect(error);
  end_settle(); // a deferred request is refused as closed
  if (request_)
    finish(error);
  finish_end(error);
  finish_detach({}, error);
  fail_processes(error);
}

// ---- requests -------------------------------------------------------------------------------

void session_core::query(std::string prompt, query_options options,
                         async_session::query_handler handler) {
  auto r = std::make_unique<request>(io_);
  r->type = request::kind::query;
  r->on_query_done = std::move(handler);
  if (auto bad = validate(options)) {
    asio::post(io_, [h = std::move(r->on_query_done), e = *bad] { h({}, e); });
    return;
  }
  protocol::invocation_message m;
  m.source_id = options.source_id;
  m.system_prompt = options.system_prompt;
  m.user_prompt = std::move(prompt);
  m.model = options.model;
  m.output_format_json_schema_str = options.output_format_json_schema_str;
  m.agent_env = options.agent_env;
  m.secrets_to_redact = options.secrets_to_redact;
  m.artifacts_dirs = options.artifacts_dirs;
  m.artifacts_ignore_content = options.artifacts_ignore_content;
  m.pre_agent_downloadables = options.downloadables;
  m.pre_agent_invocation_commands = options.pre_agent_invocation_commands;
  m.post_agent_invocation_commands = options.post_agent_invocation_commands;
  m.announce_existing_artifacts = options.announce_existing_artifacts;
  m.resume_session_id = options.resume_session_id;
  m.agent = options.agent;
  m.settings = options.harness_settings;
  // Declared only when asked for: a runtimeuse peer ignores the field, but agentrt then sends
  // messages an older caller would not expect.
  if (options.on_artifact_upload_result)
    m.client_capabilities.push_back("upload_results");
  if (options.on_agent_event)
    m.client_capabilities.push_back("agent_events");
  r->wire = protocol::encode(m);
  r->on_assistant_message = std::move(options.on_assistant_message);
  r->on_agent_event = std::move(options.on_agent_event);
  r->options = std::move(static_cast<request_options&>(options));
  asio::post(
      io_, [self = shared_from_this(), r = std::move(r)]() mutable { self->begin(std::move(r)); });
}

void session_core::execute(std::vector<protocol::command> commands, execute_options options,
                           async_session::execute_handler handler) {
  auto r = std::make_unique<request>(io_);
  r->on_execute_done = std::move(handler);
  if (auto bad = validate(options)) {
    asio::post(io_, [h = std::move(r->on_execute_done), e = *bad] { h({}, e); });
    return;
  }
  protocol::command_execution_message m;
  m.source_id = options.source_id;
  m.secrets_to_redact = options.secrets_to_redact;
  m.artifacts_dirs = options.artifacts_dirs;
  m.artifacts_ignore_content = options.artifacts_ignore_content;
  m.commands = std::move(commands);
  m.pre_execution_downloadables = options.downloadables;
  m.announce_existing_artifacts = options.announce_existing_artifacts;
  if (options.on_artifact_upload_result)
    m.client_capabilities.push_back("upload_results");
  r->wire = protocol::encode(m);
  r->options = std::move(static_cast<request_options&>(options));
  asio::post(
      io_, [self = shared_from_this(), r = std::move(r)]() mutable { self->begin(std::move(r)); });
}

void session_core::begin(std::unique_ptr<request> r) {
  std::optional<client_error> refused;
  if (state_ == state::closed)
    refused = make_error(errc::closed, ended_ ? "the session has ended"
                                              : "the connection to " + url_ + " is closed");
  else if (state_ == state::ending)
    refused = make_error(errc::closed, "the session is ending");
  else if (state_ == state::detaching)
    refused = make_error(errc::closed, "the session is being detached");
  else if (request_ || deferred_)
    refused = make_error(errc::busy, "another request is in flight on this session");
  if (refused) {
    if (r->type == request::kind::query)
      r->on_query_done({}, *refused);
    else
      r->on_execute_done({}, *refused);
    return;
  }
  if (settling_) {
    deferred_ = std::move(r);
    return;
  }

  request_ = std::move(r);
  // While a durable session reconnects the request waits; the resume sends it.
  if (link_up())
    send_request();
  start_request_timers();
}

void session_core::start_request_timers() {
  request_->id = next_request_id_++;
  request_->last_frame = clock::now();
  if (request_->options.on_artifact_upload_request) {
    upload_handler_ = request_->options.on_artifact_upload_request;
    callback_timeout_ = request_->options.callback_timeout;
  }
  if (request_->options.on_artifact_upload_result)
    upload_result_handler_ = request_->options.on_artifact_upload_result;

  std::weak_ptr<session_core> weak = shared_from_this();
  const auto id = request_->id;
  if (auto timeout = request_->options.timeout) {
    request_->overall_timer.expires_after(*timeout);
    request_->overall_timer.async_wait([weak, id, timeout = *timeout](std::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || !self->request_ || self->request_->id != id)
        return;
      self->start_cancel(errc::timed_out,
                         "request timed out after " + ms(timeout) + " (overall timeout)",
                         timeout_metadata("overall", timeout));
    });
  }
  if (request_->options.idle_timeout)
    arm_idle_timer();
}

void session_core::send_request() {
  request_->number = ++requests_sent_;
  if (transport_)
    transport_->send(request_->wire);
}

// One timer per request, re-armed lazily from the last frame's time instead of on every frame.
void session_core::arm_idle_timer() {
  const auto idle = *request_->options.idle_timeout;
  request_->idle_timer.expires_at(request_->last_frame + idle);
  std::weak_ptr<session_core> weak = shared_from_this();
  request_->idle_timer.async_wait([weak, id = request_->id, idle](std::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || !self->request_ || self->request_->id != id || self->request_->cancel_reason)
      return;
    // Silence while a durable session reconnects is the network's, not the runtime's: the
    // resume restarts the count.
    if (self->reconnecting_)
      self->request_->last_frame = clock::now();
    if (clock::now() - self->request_->last_frame < idle) {
      self->arm_idle_timer();
      return;
    }
    self->start_cancel(errc::idle_timed_out,
                       "request timed out: nothing arrived from the runtime for " + ms(idle) +
                           " (idle timeout)",
                       timeout_metadata("idle", idle));
  });
}

void session_core::abort() {
  asio::post(io_, [self = shared_from_this()] {
    if (self->request_) {
      self->start_cancel(errc::cancelled, "request cancelled", "{}");
    } else if (auto r = std::move(self->deferred_)) {
      // Never sent: nothing to cancel on the runtime's side.
      const auto error = make_error(errc::cancelled, "request cancelled");
      if (r->type == request::kind::query)
        r->on_query_done({}, error);
      else
        r->on_execute_done({}, error);
    }
  });
}

void session_core::start_settle() {
  settling_ = true;
  settle_deadline_ = clock::now() + settle_max;
  if (!settle_timer_)
    settle_timer_.emplace(io_);
  on_settle_timer();
}

void session_core::on_settle_timer() {
  if (!settling_)
    return;
  const auto now = clock::now();
  if (now >= settle_deadline_ || now - last_frame_at_ >= settle_quiet)
    return end_settle();
  settle_timer_->expires_at(std::min(last_frame_at_ + settle_quiet, settle_deadline_));
  std::weak_ptr<session_core> weak = shared_from_this();
  settle_timer_->async_wait([weak](std::error_code ec) {
    if (auto self = weak.lock(); self && !ec)
      self->on_settle_timer();
  });
}

void session_core::end_settle() {
  if (!settling_)
    return;
  settling_ = false;
  if (settle_timer_)
    settle_timer_->cancel();
  if (auto r = std::move(deferred_))
    begin(std::move(r));
}

void session_core::start_cancel(errc reason, std::string text, std::string metadata) {
  if (!request_ || request_->cancel_reason)
    return;
  if (request_->number == 0) {
    // Waiting for a durable session's resume, never sent: nothing to cancel at the runtime.
    finish(make_error(reason, std::move(text), std::move(metadata)));
    return;
  }
  request_->cancel_reason = reason;
  request_->cancel_text = std::move(text);
  request_->cancel_metadata = std::move(metadata);
  request_->overall_timer.cancel();
  request_->idle_timer.cancel();
  send(protocol::cancel_message{}); // lost in a drop: the resume sends it again
  const auto grace = request_->options.cancel_grace;
  request_->grace_timer.expires_after(grace);
  std::weak_ptr<session_core> weak = shared_from_this();
  request_->grace_timer.async_wait([weak, id = request_->id, grace](std::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || !self->request_ || self->request_->id != id)
      return;
    // The runtime's late terminal could be mistaken for a later request's: give up on the
    // connection rather than risk that.
    auto& r = *self->request_;
    self->finish(make_error(*r.cancel_reason,
                            r.cancel_text + "; the runtime did not answer the cancel within " +
                                ms(grace) + ", connection closed",
                            r.cancel_metadata));
    self->close_now();
  });
}

void session_core::close_now() {
  state_ = state::closed;
  closing_ = true;
  if (reconnecting_ || resuming_) {
    fail_all(make_error(errc::closed, "the session was closed"));
    return;
  }
  if (transport_)
    transport_->close();
}

void session_core::finish(client_error error, query_result qr, execute_result er,
                          attach_result::kind got) {
  auto r = std::move(request_);
  r->overall_timer.cancel();
  r->idle_timer.cancel();
  r->grace_timer.cancel();
  switch (r->type) {
  case request::kind::query:
    r->on_query_done(std::move(qr), std::move(error));
    break;
  case request::kind::execute:
    r->on_execute_done(std::move(er), std::move(error));
    break;
  case request::kind::adopted:
    r->on_attach_done(
        attach_result{error ? attach_result::kind::none : got, std::move(er), std::move(qr)},
        std::move(error));
    break;
  }
}

void session_core::send(const protocol::message& m) {
  // Without a connection (a durable session reconnecting) the resume re-creates what matters.
  if (link_up())
    transport_->send(protocol::encode(m));
}

void session_core::violation(const std::string& what, const std::string& frame) {
  protocol::json_builder m;
  m.add("url", url_);
  m.add("error", what);
  m.add("frame", std::string_view(frame).substr(0, frame_excerpt_bytes));
  // The two sides disagree about the session's state: nothing later can be trusted.
  send(protocol::cancel_message{});
  finish(
      make_error(errc::protocol_violation, "the runtime violated the protocol: " + what, m.str()));
  close_now();
}

// ---- frames ---------------------------------------------------------------------------------

void session_core::on_frame(std::string frame) {
  last_frame_at_ = clock::now();
  if (request_)
    request_->last_frame = last_frame_at_;
  auto decoded = protocol::decode_text_frame(frame);
  if (awaiting_info_ && !on_first_frame(decoded, frame))
    return;
  if (!decoded.msg) {
    // Newer runtimes may send message types this client does not know; they are not errors.
    if (decoded.ec == protocol::errc::unknown_message_type)
      return;
    // Outside a request there is nothing to attribute a bad frame to.
    if (request_)
      violation(decoded.error, frame);
    return;
  }
  // Exactly once: a resume may replay what already arrived.
  if (durable_ && decoded.seq && !accept_numbered(decoded))
    return;
  if (durable_ && decoded.seq)
    unacked_bytes_ += frame.size();
  if (auto* gap = std::get_if<protocol::gap_message>(&*decoded.msg); gap && !accept_gap(*gap))
    return;
  dispatch(*decoded.msg, frame);
  if (durable_ && (decoded.seq || std::holds_alternative<protocol::gap_message>(*decoded.msg)))
    after_numbered();
}

void session_core::dispatch(protocol::message& msg, const std::string& frame) {
  std::visit(
      [&](auto& m) {
        using type = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<type, protocol::assistant_message>) {
          if (request_ && request_->on_assistant_message)
            request_->on_assistant_message(m);
        } else if constexpr (std::is_same_v<type, protocol::command_output_message>) {
          if (request_ && request_->options.on_command_output)
            request_->options.on_command_output(m);
        } else if constexpr (std::is_same_v<type, protocol::heartbeat_message>) {
          if (request_ && request_->options.on_heartbeat)
            request_->options.on_heartbeat(m);
        } else if constexpr (std::is_same_v<type, protocol::agent_event_message>) {
          if (request_ && request_->on_agent_event)
            request_->on_agent_event(m);
        } else if constexpr (std::is_same_v<type, protocol::gap_message>) {
          if (request_ && request_->options.on_gap)
            request_->options.on_gap(m);
          for (const auto& loss : m.lost)
            if (loss.message_type == "process_output_message")
              if (auto it = processes_.find(loss.command);
                  it != processes_.end() && it->second->callbacks.on_gap)
                it->second->callbacks.on_gap(m);
        } else if constexpr (std::is_same_v<type, protocol::process_started_message> ||
                             std::is_same_v<type, protocol::process_output_message> ||
                             std::is_same_v<type, protocol::process_stdin_ack_message> ||
                             std::is_same_v<type, protocol::process_ready_message> ||
                             std::is_same_v<type, protocol::process_exit_message> ||
                             std::is_same_v<type, protocol::process_list_result_message> ||
                             std::is_same_v<type, protocol::process_error_message>) {
          on_process_message(msg);
        } else if constexpr (std::is_same_v<type, protocol::artifact_upload_request_message>) {
          on_upload_request(m);
        } else if constexpr (std::is_same_v<type, protocol::artifact_upload_result_message>) {
          if (upload_result_handler_)
            upload_result_handler_(m);
        } else if constexpr (std::is_same_v<type, protocol::result_message> ||
                             std::is_same_v<type, protocol::command_execution_result_message> ||
                             std::is_same_v<type, protocol::error_message>) {
          // Outside a request: e.g. the terminal of a request abandoned with its connection,
          // or an error_message that preceded its request's terminal.
          if (request_)
            on_terminal(msg, frame);
        } else if constexpr (std::is_same_v<type, protocol::end_session_confirm_message>) {
          if (state_ == state::ending) {
            ended_ = true;
            if (end_timer_)
              end_timer_->cancel();
            finish_end(end_error_);
            close_now();
          } else if (request_) {
            violation("end_session_confirm_message during a request", frame);
          }
        } else if constexpr (std::is_same_v<type, protocol::detach_confirm_message>) {
          on_detach_confirm(m);
        } else if constexpr (std::is_same_v<type, protocol::session_info_message>) {
          // Only ever the first frame of a connection (see on_first_frame).
        } else {
          // A client-to-runtime message: the peer is not a runtime.
          if (request_)
            violation(std::string("unexpected ") + protocol::message_type_name(msg), frame);
        }
      },
      msg);
}

void session_core::on_terminal(protocol::message& msg, const std::string& frame) {
  request& r = *request_;
  const auto cancel_error = [&](std::string runtime_text, std::string metadata) {
    std::string text = r.cancel_text;
    if (!runtime_text.empty() && r.cancel_reason != errc::cancelled)
      text += "; the runtime answered the cancel with: " + runtime_text;
    return make_error(*r.cancel_reason, std::move(text),
                      r.cancel_reason == errc::cancelled ? std::move(metadata) : r.cancel_metadata);
  };

  if (auto* e = std::get_if<protocol::error_message>(&msg)) {
    if (r.cancel_reason)
      finish(cancel_error(e->error, std::move(e->metadata.json)));
    else
      finish(make_error(errc::runtime_error, std::move(e->error), std::move(e->metadata.json)));
    start_settle();
    return;
  }
  if (auto* res = std::get_if<protocol::result_message>(&msg)) {
    if (r.type == request::kind::execute)
      return violation("result_message answering a command execution", frame);
    query_result qr;
    qr.type = res->data.type == protocol::result_data::kind::structured_output
                  ? query_result::kind::structured_output
                  : query_result::kind::text;
    qr.text = std::move(res->data.text);
    qr.structured_output_json = std::move(res->data.structured_output.json);
    qr.metadata_json = std::move(res->metadata.json);
    // Finished before the cancel reached the runtime: keep the result, report the cut.
    finish(r.cancel_reason ? cancel_error("", "{}") : client_error{}, std::move(qr), {},
           attach_result::kind::query);
    return;
  }
  auto& cer = std::get<protocol::command_execution_result_message>(msg);
  if (r.type == request::kind::query)
    return violation("command_execution_result_message answering an invocation", frame);
  execute_result er;
  er.results = std::move(cer.results);
  finish(r.cancel_reason ? cancel_error("", "{}") : client_error{}, {}, std::move(er),
         attach_result::kind::execute);
}

// ---- artifact uploads -----------------------------------------------------------------------

void session_core::on_upload_request(const protocol::artifact_upload_request_message& m) {
  if (!upload_handler_)
    return; // no callback: the runtime times the round trip out and logs it
  protocol::artifact_upload_response_message again;
  switch (answers_.on_announcement(m.filepath, again)) {
  case upload_answers::verdict::answer_again:
    return send_upload_answer(again);
  case upload_answers::verdict::answer_pending:
    return;
  case upload_answers::verdict::new_announcement:
    break;
  }
  answers_.pending(m.filepath);
  const auto id = next_upload_id_++;
  auto timer = std::make_unique<asio::steady_timer>(io_, callback_timeout_);
  std::weak_ptr<session_core> weak = shared_from_this();
  timer->async_wait([weak, id, m](std::error_code ec) {
    if (auto self = weak.lock(); self && !ec)
      self->on_upload_timeout(id, m);
  });
  pending_uploads_[id] = std::move(timer);
  auto answered = std::make_shared<std::atomic<bool>>(false);
  upload_reply reply = [weak, id, m, answered](std::optional<upload_target> target) {
    if (answered->exchange(true))
      return;
    if (auto self = weak.lock())
      asio::post(self->io_, [self, id, m, target = std::move(target)] {
        self->on_upload_reply(id, m, target);
      });
  };
  upload_handler_(m, std::move(reply));
}

void session_core::on_upload_reply(std::uint64_t id,
                                   const protocol::artifact_upload_request_message& m,
                                   const std::optional<upload_target>& target) {
  auto it = pending_uploads_.find(id);
  if (it == pending_uploads_.end())
    return; // too late: already reported as a callback timeout
  it->second->cancel();
  pending_uploads_.erase(it);
  if (!target || state_ == state::closed) {
    decline_upload(m, "the client's upload callback declined it");
    return;
  }
  protocol::artifact_upload_response_message response;
  response.filename = m.filename;
  response.filepath = m.filepath;
  response.presigned_url = target->presigned_url;
  response.content_type = target->content_type;
  answers_.answered(response);
  send_upload_answer(response);
}

void session_core::decline_upload(const protocol::artifact_upload_request_message& m,
                                  std::string reason) {
  answers_.declined(m.filepath);
  // Only to a runtime that said it understands: runtimeuse would answer an unknown message
  // type with an error. Without it the runtime waits for the answer until its drain timeout.
  if (!runtime_takes_declines_ || state_ == state::closed || !link_up())
    return;
  protocol::artifact_upload_declined_message declined;
  declined.filename = m.filename;
  declined.filepath = m.filepath;
  declined.reason = std::move(reason);
  send(declined);
}

void session_core::send_upload_answer(const protocol::artifact_upload_response_message& answer) {
  if (link_up())
    send(answer);
  else
    answers_.queue(answer); // a durable session reconnecting: sent after the resume
}

void session_core::on_upload_timeout(std::uint64_t id,
                                     const protocol::artifact_upload_request_message& m) {
  if (pending_uploads_.erase(id) == 0)
    return;
  decline_upload(m, "the client's upload callback did not answer within " + ms(callback_timeout_));
  protocol::json_builder meta;
  meta.add("timeout", "callback");
  meta.add("timeout_ms", static_cast<long long>(callback_timeout_.count()));
  meta.add("callback", "on_artifact_upload_request");
  meta.add("filepath", m.filepath);
  std::string text = "the artifact upload callback for " + m.filepath + " did not answer within " +
                     ms(callback_timeout_) + " (callback timeout)";
  if (request_)
    start_cancel(errc::callback_timed_out, std::move(text), meta.str());
  else if (state_ == state::ending && !end_error_)
    end_error_ = make_error(errc::callback_timed_out, std::move(text), meta.str());
}

// ---- end of session -------------------------------------------------------------------------

void session_core::end(async_session::end_handler handler) {
  asio::post(io_, [self = shared_from_this(), handler = std::move(handler)]() mutable {
    if (self->ended_) {
      handler({});
      return;
    }
    if (self->state_ != state::open) {
      handler(make_error(errc::closed, self->state_ == state::ending
                                           ? "the session is already ending"
                                       : self->state_ == state::detaching
                                           ? "the session is being detached"
                                           : "the connection to " + self->url_ + " is closed"));
      return;
    }
    if (self->request_ || self->deferred_) {
      handler(make_error(errc::busy, "a request is in flight on this session"));
      return;
    }
    self->state_ = state::ending;
    self->end_done_ = std::move(handler);
    self->send(protocol::end_session_message{});
    self->end_timer_.emplace(self->io_, end_session_limit);
    self->end_timer_->async_wait([self](std::error_code ec) {
      if (ec || self->state_ != state::ending)
        return;
      self->finish_end(
          make_error(errc::timed_out,
                     "end_session_confirm_message did not arrive within " + ms(end_session_limit),
                     timeout_metadata("end_session", end_session_limit)));
      self->close_now();
    });
  });
}

void session_core::finish_end(client_error error) {
  if (auto done = std::move(end_done_)) {
    end_done_ = nullptr;
    done(std::move(error));
  }
}

} // namespace agentrt::client::detail

// session_core's part of the durable-sessions extension (docs/durable-sessions.md): opting in on
// the upgrade, session_info_message, exactly-once delivery by seq, acknowledgements, replacing a
// dropped connection (backoff with jitter, resume, resending what the runtime never received),
// detach and attach. A runtime that does not answer the opt-in (runtimeuse) never gets here
// past open_connection: the session then behaves exactly as without durable.
#include <asio/post.hpp>

#include <algorithm>
#include <cmath>

#include <rapidjson/document.h>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/json_builder.hpp"
#include "metadata_code.hpp"
#include "session_core.hpp"

namespace agentrt::client::detail {

namespace {

using clock = std::chrono::steady_clock;

// The C++ client acknowledges every 256 messages, every 2 MiB or after 1 s, whichever comes
// first (docs/durable-sessions.md): the runtime's journal stays small on a healthy connection.
// By bytes too: 256 output messages of ~62 KB are ~16 MB, twice the runtime's default memory
// budget, and a fast stream then spilled to disk with a client attached and reading.
constexpr std::uint64_t ack_every_messages = 256;
constexpr std::uint64_t ack_every_bytes = 2u << 20;
constexpr auto ack_every = std::chrono::seconds(1);
// The runtime answers detach_message at once; this bounds a runtime that does not.
constexpr auto detach_limit = std::chrono::seconds(30);

std::chrono::milliseconds since(clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t);
}

} // namespace

// ---- connections ------------------------------------------------------------------------------

bool session_core::link_up() const noexcept {
  return transport_ && !reconnecting_ && !awaiting_info_ && state_ != state::connecting &&
         state_ != state::closed;
}

transport_handlers session_core::handlers_for(std::uint64_t generation) {
  // Events of a transport that has been replaced or given up on are stale.
  std::weak_ptr<session_core> weak = shared_from_this();
  auto current = [weak, generation]() -> std::shared_ptr<session_core> {
    auto self = weak.lock();
    return self && self->generation_ == generation ? self : nullptr;
  };
  transport_handlers h;
  h.on_open = [current] {
    if (auto self = current())
      self->on_open();
  };
  h.on_fail = [current](std::string error, int status) {
    if (auto self = current())
      self->on_fail(error, status);
  };
  h.on_close = [current](int code, std::string reason) {
    if (auto self = current())
      self->on_close(code, reason);
  };
  h.on_frame = [current](std::string frame) {
    if (auto self = current())
      self->on_frame(std::move(frame));
  };
  return h;
}

protocol::result<void> session_core::open_connection() {
  ++generation_;
  awaiting_info_ = false;
  transport_options topts;
  if (options_.token)
    topts.headers["Authorization"] = "Bearer " + *options_.token;
  topts.ca_file = options_.ca_file;
  topts.verify_tls = options_.verify_tls;
  // Ignored by a runtimeuse runtime; an agentrt runtime answers with the ones it supports.
  topts.headers["Agentrt-Extensions"] = "upload-decline, processes";
  if (options_.durable) {
    if (resuming_) {
      topts.headers["Agentrt-Session"] = session_id_;
      topts.headers["Agentrt-Resume-Token"] = resume_token_;
      topts.headers["Agentrt-Last-Seq"] = std::to_string(last_seq_);
    } else {
      topts.headers["Agentrt-Session"] = "new";
    }
  }
  auto opened = open_transport(io_, options_.url, topts, handlers_for(generation_));
  if (!opened.ok()) {
    transport_ = nullptr;
    return std::move(opened).error();
  }
  transport_ = std::move(opened).value();
  return {};
}

std::string session_core::session_id() const {
  std::lock_guard lock(id_mutex_);
  return session_id_;
}

// The first frame on a connection that answered the opt-in. Returns true when the frame is to
// be handled as any other (a runtime that sent the header but no session_info_message is not
// durable after all).
bool session_core::on_first_frame(protocol::decode_result& decoded, const std::string& frame) {
  awaiting_info_ = false;
  if (decoded.msg) {
    if (auto* info = std::get_if<protocol::session_info_message>(&*decoded.msg)) {
      if (resuming_)
        on_resumed(*info);
      else
        on_session_info(*info);
      return false;
    }
  }
  if (resuming_) {
    if (decoded.msg)
      if (auto* e = std::get_if<protocol::error_message>(&*decoded.msg)) {
        on_resume_refused(*e);
        return false;
      }
    protocol::json_builder m;
    m.add("url", url_);
    m.add("frame", std::string_view(frame).substr(0, 512));
    attempt_refused(make_error(errc::protocol_violation,
                               "the runtime violated the protocol: a resumed connection did not "
                               "start with session_info_message",
                               m.str()));
    return false;
  }
  // Not durable after all: today's behaviour, starting with this frame.
  state_ = state::open;
  if (connect_timer_)
    connect_timer_->cancel();
  finish_connect({});
  return state_ != state::closed;
}

void session_core::on_session_info(const protocol::session_info_message& info) {
  {
    std::lock_guard lock(id_mutex_);
    session_id_ = info.session_id;
  }
  resume_token_ = info.resume_token;
  durable_ = true;
  durable_flag_ = true;
  last_seq_ = acked_seq_ = info.last_seq;
  requests_sent_ = info.requests_received;
  state_ = state::open;
  if (connect_timer_)
    connect_timer_->cancel();
  finish_connect({});
}

void session_core::on_resumed(const protocol::session_info_message& info) {
  if (!info.resumed || info.session_id != session_id_) {
    protocol::json_builder m;
    m.add("url", url_);
    m.add("session_id", session_id_);
    m.add("got_session_id", info.session_id);
    return attempt_refused(make_error(
        errc::protocol_violation,
        "the runtime violated the protocol: the resume answered with another session", m.str()));
  }
  resuming_ = false;
  answers_.new_connection();
  // A last_seq beyond what the runtime sent counts as its last message (an attach that skips
  // the replay): later messages are numbered from there.
  if (last_seq_ > info.last_seq)
    last_seq_ = acked_seq_ = info.last_seq;
  const bool attaching = state_ == state::connecting;
  if (attaching) {
    durable_ = true;
    durable_flag_ = true;
    state_ = state::open;
    requests_sent_ = info.requests_received;
    if (request_) {
      // The adopted request was sent by someone else; it is never sent again from here.
      request_->number = info.requests_received;
      adopted_may_be_idle_ = info.requests_received == 0 || !info.request_in_flight.value_or(true);
    }
    if (connect_timer_)
      connect_timer_->cancel();
  } else {
    reconnecting_ = false;
    if (attempt_timer_)
      attempt_timer_->cancel();
    emit_event(connection_event::kind::resumed);
  }

  // What the runtime may not have: the request (requests_received tells), upload answers made
  // while nobody was connected, an end or a detach sent into the drop. Acknowledge first: no
  // acknowledgement follows a detach.
  if (request_ && !attaching) {
    if (request_->number == 0)
      send_request(); // begun while reconnecting
    else if (info.requests_received < request_->number)
      transport_->send(request_->wire); // lost in transit
  }
  if (request_)
    request_->last_frame = clock::now();
  for (auto& answer : answers_.take_queued())
    send(answer);
  resume_processes();
  if (last_seq_ > acked_seq_)
    send_ack();
  if (state_ == state::ending)
    send(protocol::end_session_message{});
  else if (state_ == state::detaching)
    send(protocol::detach_message{});
  // A cancel lost in the drop is sent again — unless the replay brings the terminal.
  replay_end_ = info.last_seq;
  resend_cancel_after_replay_ = request_ && request_->cancel_reason.has_value();
  if (attaching)
    finish_connect({});
  after_numbered();
}

void session_core::on_resume_refused(const protocol::error_message& e) {
  const std::string code = metadata_code(e.metadata.json);
  attempt_refused(
      make_error(code == "session_expired" ? errc::session_expired : errc::resume_refused, e.error,
                 e.metadata.json));
}

// ---- exactly once -----------------------------------------------------------------------------

bool session_core::accept_numbered(const protocol::decode_result& decoded) {
  if (*decoded.seq <= last_seq_)
    return false; // already delivered (a replay overlapping what arrived before the drop)
  last_seq_ = *decoded.seq;
  ++unacked_;
  return true;
}

bool session_core::accept_gap(const protocol::gap_message& gap) {
  if (!durable_)
    return true;
  if (gap.to_seq <= last_seq_)
    return false;
  // The gap stands for the messages it names: nothing before to_seq is to be asked for again.
  unacked_ += gap.to_seq - std::max(last_seq_, gap.from_seq - 1);
  last_seq_ = gap.to_seq;
  return true;
}

void session_core::after_numbered() {
  if (state_ == state::closed)
    return;
  if (replay_end_ && last_seq_ >= *replay_end_) {
    replay_end_.reset();
    if (resend_cancel_after_replay_ && request_ && request_->cancel_reason)
      send(protocol::cancel_message{});
    resend_cancel_after_replay_ = false;
    // Attached where nothing was in flight, and the replay held no terminal: nothing to collect.
    if (adopted_may_be_idle_ && request_ && request_->type == request::kind::adopted)
      finish({});
    adopted_may_be_idle_ = false;
  }
  if (unacked_ >= ack_every_messages || unacked_bytes_ >= ack_every_bytes)
    send_ack();
  else if (unacked_ > 0)
    arm_ack_timer();
}

void session_core::arm_ack_timer() {
  if (ack_timer_armed_)
    return;
  if (!ack_timer_)
    ack_timer_.emplace(io_);
  ack_timer_armed_ = true;
  ack_timer_->expires_after(ack_every);
  std::weak_ptr<session_core> weak = shared_from_this();
  ack_timer_->async_wait([weak](std::error_code ec) {
    auto self = weak.lock();
    if (!self)
      return;
    self->ack_timer_armed_ = false;
    if (!ec)
      self->send_ack();
  });
}

void session_core::send_ack() {
  // After detach_message the handle's last_seq is what counts; a reconnecting session acks on
  // the resume.
  if (!link_up() || state_ == state::detaching || last_seq_ <= acked_seq_)
    return;
  send(protocol::ack_message{last_seq_});
  acked_seq_ = last_seq_;
  unacked_ = 0;
  unacked_bytes_ = 0;
}

// ---- reconnecting -----------------------------------------------------------------------------

void session_core::begin_reconnect(std::string reason) {
  reconnecting_ = true;
  outage_start_ = clock::now();
  attempts_ = 0;
  drop_reason_ = std::move(reason);
  last_attempt_error_.clear();
  if (ack_timer_)
    ack_timer_->cancel();
  emit_event(connection_event::kind::lost);
  schedule_attempt();
}

void session_core::schedule_attempt() {
  if (state_ == state::closed)
    return;
  const auto& policy = options_.reconnect;
  const auto elapsed = since(outage_start_);
  if (attempts_ >= policy.max_attempts || elapsed >= policy.deadline)
    return give_up();
  // Exponential backoff, less up to half at random, never past the deadline.
  const double factor = std::ldexp(1.0, std::min(attempts_, 30));
  const auto base = std::chrono::milliseconds(static_cast<long long>(
      std::min(static_cast<double>(policy.max_backoff.count()),
               static_cast<double>(policy.initial_backoff.count()) * factor)));
  std::uniform_int_distribution<long long> jitter(0, std::max<long long>(0, base.count() / 2));
  auto delay = base - std::chrono::milliseconds(jitter(jitter_));
  delay = std::min(delay, policy.deadline - elapsed);
  if (!attempt_timer_)
    attempt_timer_.emplace(io_);
  attempt_timer_->expires_after(delay);
  std::weak_ptr<session_core> weak = shared_from_this();
  attempt_timer_->async_wait([weak, generation = generation_](std::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->generation_ != generation || !self->reconnecting_)
      return;
    self->start_attempt();
  });
}

void session_core::start_attempt() {
  ++attempts_;
  resuming_ = true;
  if (auto opened = open_connection(); !opened.ok())
    return attempt_refused(
        make_error(errc::connection_failed, "cannot reconnect: " + opened.error().message()));
  // One attempt may take the connect timeout, but not past the deadline.
  const auto& policy = options_.reconnect;
  const auto left = policy.deadline - since(outage_start_);
  const auto limit =
      std::max(std::chrono::milliseconds(1), std::min(options_.connect_timeout, left));
  attempt_timer_->expires_after(limit);
  std::weak_ptr<session_core> weak = shared_from_this();
  attempt_timer_->async_wait([weak, generation = generation_, limit](std::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->generation_ != generation || !self->resuming_)
      return;
    self->attempt_failed("timed out after " + ms(limit));
  });
}

void session_core::attempt_failed(std::string error) {
  if (state_ == state::connecting) {
    // attach(): the first connection is not retried, like connect().
    protocol::json_builder m;
    m.add("url", url_);
    m.add("error", error);
    return fail_all(
        make_error(errc::connection_failed, "cannot connect to " + url_ + ": " + error, m.str()));
  }
  ++generation_; // this transport's later events are stale
  if (transport_)
    transport_->drop();
  resuming_ = false;
  awaiting_info_ = false;
  last_attempt_error_ = std::move(error);
  schedule_attempt();
}

void session_core::attempt_refused(client_error error) {
  fail_all(error);
}

void session_core::give_up() {
  protocol::json_builder m;
  m.add("url", url_);
  m.add("session_id", session_id_);
  m.add("reconnect_attempts", attempts_);
  m.add("outage_ms", static_cast<long long>(since(outage_start_).count()));
  m.add("drop", drop_reason_);
  if (!last_attempt_error_.empty())
    m.add("last_error", last_attempt_error_);
  std::string text = "the connection to " + url_ + " dropped (" + drop_reason_ + ")";
  if (attempts_ == 0)
    text += " and reconnecting is off";
  else
    text += " and could not be re-established: " + std::to_string(attempts_) + " attempt(s) in " +
            ms(since(outage_start_)) +
            (last_attempt_error_.empty() ? "" : ", last: " + last_attempt_error_);
  fail_all(make_error(errc::closed, std::move(text), m.str()));
}

void session_core::emit_event(connection_event::kind type) {
  if (!options_.on_connection_event)
    return;
  connection_event e;
  e.type = type;
  e.reason = drop_reason_;
  e.attempts = attempts_;
  e.outage = since(outage_start_);
  e.last_seq = last_seq_;
  options_.on_connection_event(e);
}

// ---- detach and attach ------------------------------------------------------------------------

void session_core::detach(async_session::detach_handler handler) {
  asio::post(io_, [self = shared_from_this(), handler = std::move(handler)]() mutable {
    if (!self->durable_) {
      handler({}, make_error(errc::not_durable, "the runtime at " + self->url_ +
                                                    " did not make this session durable"));
      return;
    }
    if (self->state_ != state::open) {
      handler({}, make_error(errc::closed, self->state_ == state::closed
                                               ? "the connection to " + self->url_ + " is closed"
                                               : "the session is ending or being detached"));
      return;
    }
    self->state_ = state::detaching;
    self->detach_done_ = std::move(handler);
    if (self->ack_timer_)
      self->ack_timer_->cancel();
    self->send(protocol::detach_message{}); // or on the resume, when reconnecting
    self->detach_timer_.emplace(self->io_, detach_limit);
    self->detach_timer_->async_wait([self](std::error_code ec) {
      if (ec || self->state_ != state::detaching)
        return;
      self->fail_all(
          make_error(errc::timed_out,
                     "detach_confirm_message did not arrive within " +
                         ms(std::chrono::duration_cast<std::chrono::milliseconds>(detach_limit))));
    });
  });
}

void session_core::on_detach_confirm(const protocol::detach_confirm_message& m) {
  if (state_ != state::detaching)
    return;
  session_handle handle;
  handle.url = attach_url_;
  handle.session_id = session_id_;
  handle.resume_token = resume_token_;
  handle.last_seq = last_seq_;
  handle.expires_in_s = m.expires_in_s;
  if (detach_timer_)
    detach_timer_->cancel();
  for (auto& [id, timer] : pending_uploads_)
    timer->cancel();
  pending_uploads_.clear();
  close_now();
  if (request_)
    finish(make_error(errc::detached,
                      "the session was detached; the request keeps running on the runtime "
                      "(attach to the session to collect it)"));
  finish_detach(std::move(handle), {});
}

void session_core::finish_detach(session_handle handle, client_error error) {
  if (auto done = std::move(detach_done_)) {
    detach_done_ = nullptr;
    done(std::move(handle), std::move(error));
  }
}

void session_core::attach(const connect_options& options, const session_handle& handle,
                          attach_options callbacks, std::function<void(client_error)> attached,
                          async_session::attach_handler done) {
  auto r = std::make_unique<request>(io_);
  r->type = request::kind::adopted;
  r->on_attach_done = std::move(done);
  r->on_assistant_message = std::move(callbacks.on_assistant_message);
  r->on_agent_event = std::move(callbacks.on_agent_event);
  static_cast<request_limits&>(r->options) = callbacks;
  static_cast<request_callbacks&>(r->options) = std::move(callbacks);
  asio::post(io_, [self = shared_from_this(), options, handle, r = std::move(r),
                   attached = std::move(attached)]() mutable {
    self->options_ = options;
    if (self->options_.url.empty())
      self->options_.url = handle.url;
    self->url_ = url_for_messages(self->options_.url);
    self->attach_url_ = self->options_.url;
    self->connect_done_ = std::move(attached);
    self->request_ = std::move(r);
    self->start_request_timers();
    if (!options.durable || handle.session_id.empty() || handle.resume_token.empty())
      return self->fail_all(make_error(errc::invalid_options,
                                       options.durable ? "the handle needs a session id and a token"
                                                       : "attach needs connect_options::durable"));
    {
      std::lock_guard lock(self->id_mutex_);
      self->session_id_ = handle.session_id;
    }
    self->resume_token_ = handle.resume_token;
    self->last_seq_ = self->acked_seq_ = handle.last_seq;
    self->resuming_ = true;
    if (auto opened = self->open_connection(); !opened.ok())
      return self->fail_all(
          make_error(errc::connection_failed, "invalid URL: " + opened.error().message()));
    self->connect_timer_.emplace(self->io_, options.connect_timeout);
    self->connect_timer_->async_wait([self, timeout = options.connect_timeout](std::error_code ec) {
      if (ec || self->state_ != state::connecting)
        return;
      self->attempt_failed("timed out after " + ms(timeout));
    });
  });
}

} // namespace agentrt::client::detail

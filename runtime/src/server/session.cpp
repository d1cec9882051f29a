// Protocol session: request lifecycle, cancel, heartbeats, the send bound, idle timeout and
// end-of-session.
#include "server/session.hpp"

#include <string.h> // sigabbrev_np

#include <algorithm>
#include <string_view>
#include <utility>

#include <asio/post.hpp>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/input_quote.hpp"
#include "log/logger.hpp"
#include "util/json_object.hpp"

namespace agentrt::runtime::server {
namespace {

// On runtime shutdown children get less time than on cancel: the runtime must exit promptly.
constexpr std::chrono::milliseconds shutdown_grace{2000};
// How long a request's processes may live on after the shutdown close, for the close frame
// to be written first.
constexpr std::chrono::milliseconds shutdown_kill_delay{2000};

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// A ready-to-write text frame around payload, built here rather than by
// connection::send(string), which would copy the payload twice and check it for UTF-8 byte by
// byte. encode() already guarantees UTF-8 (every string goes through its sanitizing escaper),
// so the encoded string becomes the payload as it is. Server frames are unmasked and this
// config has no compression, so the header is all that websocketpp's prepare_data_frame adds.
// Made without the connection's message manager, which reports the data messages it creates
// while a read is handled as frames being received (frame_budget.hpp).
ws_server::message_ptr prepared_text_frame(std::string payload) {
  namespace frame = websocketpp::frame;
  const frame::basic_header header(frame::opcode::text, payload.size(), true, false);
  const frame::extended_header extended(payload.size());
  auto msg = std::make_shared<ws_config::message_type>(ws_config::message_type::con_msg_man_ptr(),
                                                       frame::opcode::text, 0);
  msg->set_header(frame::prepare_header(header, extended));
  msg->get_raw_payload() = std::move(payload);
  msg->set_prepared(true);
  return msg;
}

} // namespace

session::session(server_state& state, connection_ptr con)
    : state_(state), con_(std::move(con)), id_(state.next_session_id++), heartbeat_timer_(state.io),
      flow_(con_), idle_timer_(state.io), kill_timer_(state.io) {
  peer_ = con_->get_remote_endpoint();
}

session::~session() {
  // Only reached with a request in flight when the runtime exits past its shutdown deadline:
  // what the request still runs must not outlive the runtime.
  if (request_)
    request_->scope->kill_now();
}

void session::on_open() {
  ++state_.open_sessions;
  log::info({}, "session " + std::to_string(id_) + " opened from " + peer_);
  con_->set_write_done_handler([weak = weak_from_this()] {
    if (auto self = weak.lock())
      self->on_write_done();
  });
  last_activity_ = std::chrono::steady_clock::now();
  if (state_.options.session_idle_timeout.count() > 0) {
    arm_idle_timer(state_.options.session_idle_timeout);
  }
}

bool session::on_ping() {
  last_activity_ = std::chrono::steady_clock::now();
  // The pong joins websocketpp's queue: a client pinging without reading is paused like one
  // sending frames.
  if (flow_.over_high_water())
    con_->pause_reads();
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
  if (flow_.over_high_water())
    con_->pause_reads();
}

void session::handle_frame(ws_server::message_ptr msg) {
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
    if (!decoded.message_type.empty()) {
      meta.add("message_type", protocol::quote_prefix(decoded.message_type));
    }
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

std::shared_ptr<session::request>
session::begin_request(const std::optional<std::string>& source_id,
                       const std::vector<std::string>& secrets) {
  auto r = std::make_shared<request>();
  r->id = next_request_id_++;
  r->source_id = source_id.value_or("");
  r->redactor = std::make_shared<const protocol::redactor>(secrets);
  r->scope = std::make_shared<process::process_scope>(state_.io, state_.reaper);
  r->started = std::chrono::steady_clock::now();
  request_ = r;
  last_redactor_ = r->redactor;
  ++state_.requests_in_flight;
  arm_heartbeat();
  return r;
}

void session::handle(protocol::command_execution_message&& m) {
  if (refuse_if_busy("command_execution_message"))
    return;
  auto r = begin_request(m.source_id, m.secrets_to_redact);
  r->client_capabilities = std::move(m.client_capabilities);
  log_info("command_execution_message: " + std::to_string(m.commands.size()) + " command(s)");
  prepare(m.artifacts_dirs, m.artifacts_ignore_content, std::move(m.pre_execution_downloadables),
          r->client_capabilities, [this, commands = std::move(m.commands)]() mutable {
            run_commands(std::move(commands), {}, nullptr);
          });
}

void session::run_commands(std::vector<protocol::command> commands, std::string phase,
                           std::function<void()> then) {
  auto r = request_;
  r->commands = std::move(commands);
  r->next_command = 0;
  r->phase = std::move(phase);
  r->after_commands = std::move(then);
  run_next_command();
}

void session::prepare(const std::vector<std::string>& artifacts_dirs,
                      const std::optional<std::string>& ignore_content,
                      std::vector<protocol::downloadable> downloadables,
                      const std::vector<std::string>& capabilities, std::function<void()> next) {
  auto r = request_;
  for (const auto& c : capabilities) {
    if (c == "upload_results")
      upload_results_ = true;
  }
  if (!artifacts_dirs.empty()) {
    if (!artifacts_) {
      std::weak_ptr<session> weak = shared_from_this();
      artifacts_ = std::make_shared<artifact_manager>(
          state_.io, state_.transfers, state_.transfer_options(),
          [weak](protocol::message m) {
            if (auto self = weak.lock())
              self->send_artifact_message(std::move(m));
          },
          [weak](bool warning, const std::string& text) {
            if (auto self = weak.lock())
              warning ? self->log_warn(text) : self->log_info(text);
          });
    }
    artifacts_->set_upload_results(upload_results_);
    std::string error;
    if (!artifacts_->add_directories(artifacts_dirs, ignore_content, error)) {
      finish(protocol::error_message{
          error, {util::json_object().add("code", "artifacts_dir_failed").str()}});
      return;
    }
  }
  if (downloadables.empty()) {
    next();
    return;
  }
  archive::extract_limits limits;
  limits.max_total_bytes = state_.options.extract_max_bytes;
  limits.max_entries = state_.options.extract_max_entries;
  limits.max_ratio = state_.options.extract_max_ratio;
  std::weak_ptr<session> weak = shared_from_this();
  const std::uint64_t id = r->id;
  r->downloads = execution::downloadables_runner::start(
      state_.io, state_.transfers, state_.pool, std::move(downloadables),
      state_.transfer_options(), limits,
      [weak](const std::string& line) {
        if (auto self = weak.lock())
          self->log_info(line);
      },
      [weak, id, next = std::move(next)](std::optional<execution::downloadables_failure> f) {
        auto self = weak.lock();
        if (!self || !self->request_ || self->request_->id != id || self->request_->cancelling) {
          return;
        }
        self->request_->downloads.reset();
        if (f) {
          self->log_warn(f->error);
          self->finish(protocol::error_message{std::move(f->error),
                                               protocol::json_text{std::move(f->metadata_json)}});
          return;
        }
        next();
      });
}

void session::handle(protocol::invocation_message&& m) {
  if (refuse_if_busy("invocation_message"))
    return;
  auto r = begin_request(m.source_id, m.secrets_to_redact);
  r->client_capabilities = m.client_capabilities;
  log_info("invocation_message: harness " + state_.harness.name() + ", model \"" + m.model + "\"");
  auto downloadables = std::move(m.pre_agent_downloadables);
  const auto dirs = m.artifacts_dirs;
  const auto ignore = m.artifacts_ignore_content;
  // downloadables -> pre-commands -> harness -> post-commands -> result_message
  prepare(dirs, ignore, std::move(downloadables), r->client_capabilities,
          [this, m = std::move(m)]() mutable {
            auto pre = std::move(m.pre_agent_invocation_commands);
            run_commands(std::move(pre), "pre_agent_invocation_commands",
                         [this, m = std::move(m)]() mutable { run_harness(std::move(m)); });
          });
}

bool session::has_capability(const char* name) const {
  if (!request_)
    return false;
  const auto& caps = request_->client_capabilities;
  return std::find(caps.begin(), caps.end(), name) != caps.end();
}

void session::run_harness(protocol::invocation_message m) {
  auto r = request_;
  harness::invocation inv;
  inv.system_prompt = std::move(m.system_prompt);
  inv.user_prompt = std::move(m.user_prompt);
  inv.model = std::move(m.model);
  inv.output_schema_json = std::move(m.output_format_json_schema_str);
  if (m.agent_env)
    inv.agent_env.insert(m.agent_env->begin(), m.agent_env->end());
  inv.secrets = r->redactor->secrets();
  inv.source_id = r->source_id;
  inv.resume_session_id = std::move(m.resume_session_id);
  inv.agent_events = has_capability("agent_events");

  std::weak_ptr<session> weak = shared_from_this();
  const std::uint64_t id = r->id;
  auto live = [weak, id]() -> std::shared_ptr<session> {
    auto self = weak.lock();
    if (!self || !self->request_ || self->request_->id != id || self->request_->cancelling) {
      return nullptr;
    }
    return self;
  };
  harness::harness_callbacks cb;
  cb.on_assistant = [live](std::vector<std::string> blocks) {
    if (auto self = live())
      self->send(protocol::assistant_message{std::move(blocks)});
  };
  cb.on_agent_event = [live](std::string event, std::string data_json) {
    if (auto self = live()) {
      self->send(protocol::agent_event_message{std::move(event),
                                               protocol::json_text{std::move(data_json)}});
    }
  };
  cb.on_log = [live](std::string line) {
    if (auto self = live())
      self->log_info("harness: " + line);
  };
  r->harness_run =
      state_.harness.start(state_.io, state_.reaper, *r->scope, inv, std::move(cb),
                           [live, id, post = std::move(m.post_agent_invocation_commands)](
                               harness::harness_outcome outcome) mutable {
                             if (auto self = live())
                               self->on_harness_done(id, std::move(outcome), std::move(post));
                           });
  if (throttled_)
    r->harness_run->pause_output();
}

void session::on_harness_done(std::uint64_t request_id, harness::harness_outcome&& outcome,
                              std::vector<protocol::command> post_commands) {
  if (!request_ || request_->id != request_id || request_->finishing)
    return;
  auto r = request_;
  r->harness_run.reset();
  if (!outcome.ok) {
    log_warn("harness failed: " + outcome.error);
    finish(protocol::error_message{std::move(outcome.error),
                                   protocol::json_text{std::move(outcome.error_metadata_json)}});
    return;
  }
  log_info("harness finished");
  protocol::result_message result{std::move(outcome.data),
                                  protocol::json_text{std::move(outcome.metadata_json)}};
  run_commands(std::move(post_commands), "post_agent_invocation_commands",
               [this, result = std::move(result)]() mutable { finish(std::move(result)); });
}

void session::handle(protocol::cancel_message&&) {
  if (!request_ || request_->cancelling || request_->finishing)
    return; // idle: a no-op
  log_info("cancel requested");
  request_->cancelling = true;
  const std::uint64_t id = request_->id;
  abort_request(state_.options.kill_grace, [weak = weak_from_this(), id] {
    if (auto self = weak.lock()) {
      self->complete(id,
                     protocol::error_message{"Request cancelled",
                                             {util::json_object().add("code", "cancelled").str()}});
    }
  });
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
  log_warn("refused artifact_upload_response_message for \"" + protocol::quote_prefix(m.filepath) +
           "\": this session announced no such file");
}

void session::run_next_command() {
  auto r = request_;
  if (r->next_command >= r->commands.size()) {
    if (r->after_commands) {
      auto then = std::move(r->after_commands);
      r->after_commands = nullptr;
      then();
      return;
    }
    finish(protocol::command_execution_result_message{std::move(r->results)});
    return;
  }
  const protocol::command& cmd = r->commands[r->next_command];
  execution::command_limits limits;
  limits.stdout_cap_bytes = state_.options.stdout_cap_bytes;
  limits.kill_grace = state_.options.kill_grace;
  limits.drain_idle = state_.options.drain_idle;
  std::weak_ptr<session> weak = shared_from_this();
  const std::uint64_t id = r->id;
  std::error_code ec;
  std::string error_text;
  r->runner = execution::command_runner::start(
      state_.io, state_.reaper, *r->scope, cmd, r->redactor, limits,
      [weak, id](protocol::command_output_message&& out) {
        if (auto self = weak.lock())
          self->on_command_output(id, std::move(out));
      },
      [weak, id](execution::command_outcome&& outcome) {
        if (auto self = weak.lock())
          self->on_command_done(id, std::move(outcome));
      },
      ec, error_text);
  if (!r->runner) {
    log_warn("command " + std::to_string(r->next_command) + ": " + error_text);
    util::json_object meta;
    meta.add("code", "spawn_failed")
        .add("command", protocol::quote_prefix(cmd.command))
        .add("reason", ec.message());
    if (cmd.cwd)
      meta.add("cwd", protocol::quote_prefix(*cmd.cwd));
    finish(protocol::error_message{error_text, {meta.str()}});
    return;
  }
  if (throttled_)
    r->runner->pause_output();
}

void session::on_command_output(std::uint64_t request_id, protocol::command_output_message&& m) {
  if (!request_ || request_->id != request_id || request_->cancelling || closed_)
    return;
  send(std::move(m));
}

void session::on_command_done(std::uint64_t request_id, execution::command_outcome&& outcome) {
  if (!request_ || request_->id != request_id || request_->cancelling || request_->finishing)
    return;
  auto r = request_;
  r->runner.reset();
  const int code = outcome.result.exit_code;
  std::string summary =
      "command " + std::to_string(r->next_command) + " exited " + std::to_string(code);
  if (outcome.status.term_signal)
    summary += " (" + signal_name(outcome.status.term_signal) + ")";
  if (outcome.timed_out)
    summary += " after its timeout_s";
  log_info(summary);
  if (code != 0 && !r->phase.empty()) {
    // An invocation's pre/post command failed: the request fails, naming which and how.
    util::json_object meta;
    meta.add("code", "command_failed")
        .add("phase", r->phase)
        .add("index", r->next_command)
        .add("command", outcome.result.command)
        .add("exit_code", code);
    if (outcome.status.term_signal)
      meta.add("signal", signal_name(outcome.status.term_signal));
    if (outcome.timed_out)
      meta.add("timed_out", true);
    if (outcome.result.stdout_text) {
      // Enough to see why it failed without turning the error into a second output stream.
      const std::string& out = *outcome.result.stdout_text;
      meta.add("stdout_tail", out.size() > 4096 ? out.substr(out.size() - 4096) : out);
    }
    finish(protocol::error_message{r->phase + "[" + std::to_string(r->next_command) + "] \"" +
                                       outcome.result.command + "\" failed with exit code " +
                                       std::to_string(code),
                                   protocol::json_text{meta.str()}});
    return;
  }
  r->results.push_back(std::move(outcome.result));
  if (code != 0) {
    // The first failure stops the rest; its result is still reported.
    finish(protocol::command_execution_result_message{std::move(r->results)});
    return;
  }
  ++r->next_command;
  run_next_command();
}

void session::finish(protocol::message terminal) {
  auto r = request_;
  r->finishing = true;
  heartbeat_timer_.cancel();
  const std::uint64_t id = r->id;
  if (r->scope->empty()) {
    complete(id, std::move(terminal));
    return;
  }
  // Background processes the request started must not outlive it.
  log_info("killing processes the request left running");
  r->scope->terminate(state_.options.kill_grace,
                      [weak = weak_from_this(), id, t = std::move(terminal)]() mutable {
                        if (auto self = weak.lock())
                          self->complete(id, std::move(t));
                      });
}

void session::complete(std::uint64_t request_id, protocol::message terminal) {
  if (!request_ || request_->id != request_id)
    return;
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - request_->started);
  send(std::move(terminal));
  log_info(std::string("request finished in ") + std::to_string(elapsed.count()) + " ms");
  request_.reset();
  --state_.requests_in_flight;
  heartbeat_timer_.cancel();
  if (end_pending_ && !closed_)
    end_session();
  release_if_done();
}

void session::abort_request(std::chrono::milliseconds grace, std::function<void()> then) {
  auto r = request_;
  heartbeat_timer_.cancel();
  if (r->downloads)
    r->downloads->cancel();
  if (r->harness_run)
    r->harness_run->cancel(); // resumes its output itself
  if (r->runner) {
    // A runner paused for backpressure reads nothing more, so it would never see EOF on its
    // pipes: it would never finish, and its pipes would leak with it. Its output is dropped
    // from here on (on_command_output ignores a cancelling request), so reading is harmless.
    r->runner->discard_output();
    r->runner->resume_output();
    r->runner->terminate();
  }
  r->scope->terminate(grace, std::move(then));
}

void session::arm_heartbeat() {
  heartbeat_timer_.expires_after(state_.options.heartbeat_interval);
  heartbeat_timer_.async_wait(
      [weak = std::weak_ptr<session>(shared_from_this())](const std::error_code& ec) {
        if (auto self = weak.lock())
          self->on_heartbeat(ec);
      });
}

void session::on_heartbeat(const std::error_code& ec) {
  if (ec || closed_ || !request_ || request_->finishing || request_->cancelling)
    return;
  protocol::heartbeat_message hb;
  hb.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - request_->started)
                      .count();
  send(std::move(hb));
  arm_heartbeat();
}

void session::end_session() {
  if (draining_)
    return;
  draining_ = true;
  // Weak: the artifact manager keeps this until its drain ends, and the session owns it.
  auto confirm = [weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self || self->closed_ || self->closing_)
      return;
    // Announcements held back by the send bound go before the confirm, as they would have.
    self->release_deferred_announcements(true);
    self->send(protocol::end_session_confirm_message{});
    log::info({}, "session " + std::to_string(self->id_) + " ended by the client");
    self->close_when_flushed(websocketpp::close::status::normal, "session ended");
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
  heartbeat_timer_.cancel();
  idle_timer_.cancel();
  kill_after_close_ = false;
  kill_timer_.cancel();
  con_->set_write_done_handler(nullptr);
  flow_.clear();
  deferred_.clear();
  deferred_order_.clear();
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
  if (request_ && !request_->cancelling) {
    log_info("client went away with a request in flight: killing its processes");
    drop_request(state_.shutting_down ? std::min(state_.options.kill_grace, shutdown_grace)
                                      : state_.options.kill_grace,
                 nullptr);
  }
  release_if_done();
}

void session::drop_request(std::chrono::milliseconds grace, std::function<void()> then) {
  request_->cancelling = true;
  const std::uint64_t id = request_->id;
  abort_request(grace, [weak = weak_from_this(), id, then = std::move(then)] {
    auto self = weak.lock();
    if (!self)
      return;
    if (self->request_ && self->request_->id == id) {
      self->request_.reset();
      --self->state_.requests_in_flight;
    }
    if (then)
      then();
    self->release_if_done();
  });
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
      drop_request(std::min(state_.options.kill_grace, shutdown_grace), nullptr);
    return;
  }
  // The close goes first: a client must not have to read megabytes of output (or wait for the
  // request's processes to die) to learn that the runtime is going away. Killing waits until
  // the close frame has been written to the socket (at most shutdown_kill_delay): finding and
  // signalling a request's processes scans /proc, and with many requests that keeps the
  // io_context thread busy for seconds, during which the close frames would not be written.
  close_now(websocketpp::close::status::going_away, "runtime shutting down");
  if (!request_)
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
    drop_request(std::min(state_.options.kill_grace, shutdown_grace), nullptr);
}

void session::close_now(websocketpp::close::status::value code, const std::string& reason) {
  if (closed_ || closing_)
    return;
  closing_ = true;
  idle_timer_.cancel();
  close_after_flush_.reset();
  // Nothing produced from here on can be sent: producers stay paused (a request that is
  // killed resumes its own output to drain it).
  throttle();
  const std::size_t dropped = flow_.clear();
  deferred_.clear();
  deferred_order_.clear();
  if (dropped > 0) {
    log::info({}, "session " + std::to_string(id_) + ": dropped " + std::to_string(dropped) +
                      " bytes of output the client had not read");
  }
  // The socket is read again so that the client's answering close frame arrives; websocketpp
  // ends the connection when it does, or after its close handshake timeout.
  con_->resume_reads();
  std::error_code ec;
  con_->close(code, reason, ec);
  if (ec)
    log::debug({}, "session " + std::to_string(id_) + ": close failed: " + ec.message());
}

void session::close_when_flushed(websocketpp::close::status::value code, std::string reason) {
  if (closed_ || closing_)
    return;
  if (!flow_.empty()) {
    close_after_flush_.emplace(code, std::move(reason));
    return;
  }
  closing_ = true;
  con_->resume_reads(); // for the client's answering close frame
  std::error_code ec;
  con_->close(code, reason, ec);
  if (ec)
    log::debug({}, "session " + std::to_string(id_) + ": close failed: " + ec.message());
}

void session::throttle() {
  throttled_ = true;
  if (!request_)
    return;
  if (request_->runner)
    request_->runner->pause_output();
  if (request_->harness_run)
    request_->harness_run->pause_output();
}

void session::on_write_done() {
  if (closed_)
    return;
  if (closing_) {
    // Everything queued before the close frame, and the close frame, has been written.
    if (kill_after_close_ && con_->get_buffered_amount() == 0)
      kill_for_shutdown();
    return;
  }
  last_activity_ = std::chrono::steady_clock::now();
  flow_.refill();
  if ((throttled_ || con_->reads_paused()) && flow_.under_low_water())
    unthrottle();
  if (close_after_flush_ && flow_.empty()) {
    auto [code, reason] = std::move(*close_after_flush_);
    close_after_flush_.reset();
    close_when_flushed(code, std::move(reason));
  }
}

void session::unthrottle() {
  throttled_ = false;
  if (request_ && !request_->cancelling) {
    if (request_->runner)
      request_->runner->resume_output();
    if (request_->harness_run)
      request_->harness_run->resume_output();
  }
  con_->resume_reads();
  release_deferred_announcements(false);
}

void session::send_artifact_message(protocol::message m) {
  auto* announce = std::get_if<protocol::artifact_upload_request_message>(&m);
  if (announce == nullptr || (!throttled_ && deferred_order_.empty())) {
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
  return request_ || end_pending_ || draining_ || !deferred_order_.empty() ||
         (artifacts_ && !artifacts_->idle());
}

void session::arm_idle_timer(std::chrono::steady_clock::duration after) {
  idle_timer_.expires_after(after);
  idle_timer_.async_wait([weak = weak_from_this()](const std::error_code& ec) {
    if (auto self = weak.lock())
      self->on_idle_timer(ec);
  });
}

void session::on_idle_timer(const std::error_code& ec) {
  if (ec || closed_ || closing_)
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
  if (closed_ || closing_)
    return;
  const protocol::redactor* r = request_ ? request_->redactor.get() : last_redactor_.get();
  if (r && !r->empty())
    protocol::redact_message(m, *r);
  const std::error_code ec = flow_.push(prepared_text_frame(protocol::encode(m)));
  if (ec) {
    log::debug({}, "session " + std::to_string(id_) + ": send failed: " + ec.message());
    return;
  }
  if (!throttled_ && flow_.over_high_water())
    throttle();
}

void session::send_error(std::string text, std::string metadata_json) {
  send(protocol::error_message{std::move(text), protocol::json_text{std::move(metadata_json)}});
}

void session::log_info(const std::string& text) const {
  if (!log::enabled(log::level::info)) return;
  const std::string sid = request_ ? request_->redactor->redact(request_->source_id) : std::string();
  log::info(sid, request_ ? request_->redactor->redact(text) : text);
}

void session::log_warn(const std::string& text) const {
  const std::string sid = request_ ? request_->redactor->redact(request_->source_id) : std::string();
  log::warn(sid, request_ ? request_->redactor->redact(text) : text);
}

} // namespace agentrt::runtime::server

// The part of a request both kinds share: downloadables, artifact dirs, commands, heartbeats,
// and the two ways a request ends (see request.hpp).
#include "server/request.hpp"

#include <string.h> // sigabbrev_np

#include <algorithm>
#include <utility>

#include "agentrt/protocol/input_quote.hpp"
#include "agentrt/protocol/json_builder.hpp"
#include "log/logger.hpp"
#include "util/weak_bind.hpp"

namespace agentrt::runtime::server {
namespace {

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

} // namespace

request::request(server_state& state, request_host& host, params p)
    : server_(state), host_(host), id_(p.id), source_id_(p.source_id.value_or("")),
      redactor_(std::make_shared<const protocol::redactor>(p.secrets)),
      capabilities_(std::move(p.client_capabilities)), artifacts_dirs_(std::move(p.artifacts_dirs)),
      artifacts_ignore_content_(std::move(p.artifacts_ignore_content)),
      announce_existing_artifacts_(p.announce_existing_artifacts),
      downloadables_(std::move(p.downloadables)),
      scope_(std::make_shared<process::process_scope>(state.io, state.reaper)),
      started_(std::chrono::steady_clock::now()), heartbeat_timer_(state.io) {}

request::~request() {
  // Only reached with processes alive when the runtime exits past its shutdown deadline: what
  // the request still runs must not outlive the runtime.
  if (state_ != state::done)
    scope_->kill_now();
}

bool request::has_capability(const char* name) const {
  return std::find(capabilities_.begin(), capabilities_.end(), name) != capabilities_.end();
}

std::function<std::shared_ptr<request>()> request::live_guard() {
  return [weak = weak_from_this()]() -> std::shared_ptr<request> {
    auto self = weak.lock();
    return self && self->live() ? self : nullptr;
  };
}

void request::start() {
  arm_heartbeat();
  if (auto added =
          host_.add_artifact_dirs(artifacts_dirs_, artifacts_ignore_content_,
                                  announce_existing_artifacts_, has_capability("upload_results"));
      !added.ok()) {
    finish(protocol::error_message{
        std::move(added).error().text,
        {protocol::json_builder().add("code", "artifacts_dir_failed").str()}});
    return;
  }
  if (downloadables_.empty()) {
    state_ = state::running;
    run();
    return;
  }
  archive::extract_limits limits;
  limits.max_total_bytes = server_.options.extract_max_bytes;
  limits.max_entries = server_.options.extract_max_entries;
  limits.max_ratio = server_.options.extract_max_ratio;
  auto live = live_guard();
  downloads_ = execution::downloadables_runner::start(
      server_.io, server_.transfers, server_.pool, std::move(downloadables_),
      server_.transfer_options(), limits,
      [live](const std::string& line) {
        if (auto self = live())
          self->log_info(line);
      },
      [live](std::optional<execution::downloadables_failure> f) {
        if (auto self = live())
          self->on_downloads_done(std::move(f));
      });
}

void request::on_downloads_done(std::optional<execution::downloadables_failure> failure) {
  downloads_.reset();
  if (failure) {
    log_warn(failure->error);
    finish(protocol::error_message{std::move(failure->error),
                                   protocol::json_text{std::move(failure->metadata_json)}});
    return;
  }
  state_ = state::running;
  run();
}

void request::run_commands(std::vector<protocol::command> commands, std::string phase,
                           std::function<void(std::vector<protocol::command_result>)> then) {
  commands_ = command_list{std::move(commands), 0, std::move(phase), {}, std::move(then)};
  run_next_command();
}

void request::run_next_command() {
  if (commands_.next >= commands_.commands.size()) {
    auto then = std::move(commands_.then);
    auto results = std::move(commands_.results);
    commands_ = {};
    then(std::move(results));
    return;
  }
  const protocol::command& cmd = commands_.commands[commands_.next];
  execution::command_limits limits;
  limits.stdout_cap_bytes = server_.options.stdout_cap_bytes;
  limits.kill_grace = server_.options.kill_grace;
  limits.drain_idle = server_.options.drain_idle;
  auto live = live_guard();
  auto started = execution::command_runner::start(
      server_.io, server_.reaper, *scope_, cmd, redactor_, limits,
      [live](protocol::command_output_message&& out) {
        if (auto self = live())
          self->on_command_output(std::move(out));
      },
      [live](execution::command_outcome&& outcome) {
        if (auto self = live())
          self->on_command_done(std::move(outcome));
      });
  if (!started.ok()) {
    const protocol::error& e = started.error();
    log_warn("command " + std::to_string(commands_.next) + ": " + e.text);
    protocol::json_builder meta;
    meta.add("code", "spawn_failed")
        .add("command", protocol::quote_prefix(cmd.command))
        .add("reason", e.code.message());
    if (cmd.cwd)
      meta.add("cwd", protocol::quote_prefix(*cmd.cwd));
    finish(protocol::error_message{e.text, {meta.str()}});
    return;
  }
  runner_ = std::move(started).value();
  metrics::get().commands_started.add();
  if (output_paused_)
    runner_->pause_output();
}

void request::on_command_output(protocol::command_output_message&& m) {
  metrics::count_output(m.stream == "stderr" ? metrics::output_stream::stderr_stream
                                             : metrics::output_stream::stdout_stream,
                        m.text.size());
  send(std::move(m));
}

void request::on_command_done(execution::command_outcome&& outcome) {
  runner_.reset();
  const std::size_t index = commands_.next;
  const int code = outcome.result.exit_code;
  std::string summary = "command " + std::to_string(index) + " exited " + std::to_string(code);
  if (outcome.status.term_signal)
    summary += " (" + signal_name(outcome.status.term_signal) + ")";
  if (outcome.timed_out)
    summary += " after its timeout_s";
  log_info(summary);
  if (code != 0 && !commands_.phase.empty()) {
    // An invocation's pre/post command failed: the request fails, naming which and how.
    protocol::json_builder meta;
    meta.add("code", "command_failed")
        .add("phase", commands_.phase)
        .add("index", index)
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
    finish(protocol::error_message{commands_.phase + "[" + std::to_string(index) + "] \"" +
                                       outcome.result.command + "\" failed with exit code " +
                                       std::to_string(code),
                                   protocol::json_text{meta.str()}});
    return;
  }
  commands_.results.push_back(std::move(outcome.result));
  if (code != 0) {
    // The first failure stops the rest; its result is still reported.
    commands_.next = commands_.commands.size();
  } else {
    ++commands_.next;
  }
  run_next_command();
}

void request::finish(protocol::message terminal) {
  state_ = state::finishing;
  heartbeat_timer_.cancel();
  if (scope_->empty()) {
    end(std::move(terminal));
    return;
  }
  // Background processes the request started must not outlive it.
  log_info("killing processes the request left running");
  scope_->terminate(server_.options.kill_grace,
                    [weak = weak_from_this(), t = std::move(terminal)]() mutable {
                      if (auto self = weak.lock())
                        self->end(std::move(t));
                    });
}

void request::cancel() {
  if (!live())
    return;
  log_info("cancel requested");
  state_ = state::cancelling;
  stop_producers();
  scope_->terminate(server_.options.kill_grace, [weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      self->end(protocol::error_message{"Request cancelled",
                                        {protocol::json_builder().add("code", "cancelled").str()}});
    }
  });
}

void request::abandon(std::chrono::milliseconds grace) {
  if (state_ == state::done)
    return;
  state_ = state::cancelling;
  stop_producers();
  // A later call (runtime shutdown after a lost connection) replaces the earlier completion
  // and brings the SIGKILL forward.
  scope_->terminate(grace, [weak = weak_from_this()] {
    if (auto self = weak.lock())
      self->end(std::nullopt);
  });
}

void request::kill_now() {
  scope_->kill_now();
}

void request::stop_producers() {
  heartbeat_timer_.cancel();
  if (downloads_)
    downloads_->cancel();
  on_abort();
  if (runner_) {
    // A runner paused for backpressure reads nothing more, so it would never see EOF on its
    // pipes: it would never finish, and its pipes would leak with it. Its output is dropped
    // from here on (the request is no longer live), so reading is harmless.
    runner_->discard_output();
    runner_->resume_output();
    runner_->terminate();
  }
}

void request::end(std::optional<protocol::message> terminal) {
  if (state_ == state::done)
    return;
  metrics::request_outcome outcome = metrics::request_outcome::completed;
  if (!terminal)
    outcome = metrics::request_outcome::abandoned;
  else if (state_ == state::cancelling)
    outcome = metrics::request_outcome::cancelled;
  else if (std::holds_alternative<protocol::error_message>(*terminal))
    outcome = metrics::request_outcome::failed;
  metrics::count_request(kind(), outcome);
  state_ = state::done;
  heartbeat_timer_.cancel();
  if (terminal) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started_);
    log_info("request finished in " + std::to_string(elapsed.count()) + " ms");
  }
  host_.request_done(id_, std::move(terminal));
}

void request::pause_output() {
  if (!live())
    return;
  output_paused_ = true;
  if (runner_)
    runner_->pause_output();
  on_pause_output();
}

void request::resume_output() {
  if (!live())
    return;
  output_paused_ = false;
  if (runner_)
    runner_->resume_output();
  on_resume_output();
}

void request::arm_heartbeat() {
  heartbeat_timer_.expires_after(server_.options.heartbeat_interval);
  heartbeat_timer_.async_wait(util::weak_bind(weak_from_this(), &request::on_heartbeat));
}

void request::on_heartbeat(const std::error_code& ec) {
  if (ec || !live())
    return;
  protocol::heartbeat_message hb;
  hb.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started_)
                      .count();
  send(std::move(hb));
  arm_heartbeat();
}

void request::log_info(const std::string& text) const {
  if (!log::enabled(log::level::info))
    return;
  log::info(redactor_->redact(source_id_), redactor_->redact(text));
}

void request::log_warn(const std::string& text) const {
  log::warn(redactor_->redact(source_id_), redactor_->redact(text));
}

} // namespace agentrt::runtime::server

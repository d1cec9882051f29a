// invocation_message (see invocation_request.hpp).
#include "server/invocation_request.hpp"

#include <utility>

#include "metrics/runtime_metrics.hpp"

namespace agentrt::runtime::server {

invocation_request::invocation_request(server_state& state, request_host& host, params p,
                                       protocol::invocation_message m)
    : request(state, host, std::move(p)), message_(std::move(m)) {}

void invocation_request::run() {
  run_commands(std::move(message_.pre_agent_invocation_commands), "pre_agent_invocation_commands",
               [this](std::vector<protocol::command_result>) { run_harness(); });
}

void invocation_request::on_abort() {
  if (harness_run_)
    harness_run_->cancel();
}

void invocation_request::on_pause_output() {
  if (harness_run_)
    harness_run_->pause_output();
}

void invocation_request::on_resume_output() {
  if (harness_run_)
    harness_run_->resume_output();
}

void invocation_request::run_harness() {
  harness::invocation inv;
  inv.system_prompt = std::move(message_.system_prompt);
  inv.user_prompt = std::move(message_.user_prompt);
  inv.model = std::move(message_.model);
  inv.output_schema_json = std::move(message_.output_format_json_schema_str);
  if (message_.agent_env)
    inv.agent_env.insert(message_.agent_env->begin(), message_.agent_env->end());
  inv.secrets = redactor()->secrets();
  inv.source_id = source_id();
  inv.resume_session_id = std::move(message_.resume_session_id);
  inv.agent_events = has_capability("agent_events");
  inv.agent = message_.agent.value_or("");
  if (!inv.agent.empty())
    log_info("agent for this invocation: " + inv.agent);
  if (message_.settings)
    inv.settings = std::move(*message_.settings);

  // Callbacks reach this class's members through the derived type (protected access).
  auto live = [guard = live_guard()] {
    return std::static_pointer_cast<invocation_request>(guard());
  };
  harness::harness_callbacks cb;
  cb.on_assistant = [live](std::vector<std::string> blocks) {
    if (auto self = live()) {
      self->send(protocol::assistant_message{std::move(blocks)});
    }
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
  harness_run_ = server_.harness.start(server_.io, server_.reaper, scope(), inv, std::move(cb),
                                       [live](harness::harness_outcome outcome) {
                                         if (auto self = live())
                                           self->on_harness_done(std::move(outcome));
                                       });
  if (harness_run_ && output_paused())
    harness_run_->pause_output();
}

void invocation_request::on_harness_done(harness::harness_outcome&& outcome) {
  harness_run_.reset();
  // The invocation's own agent, else the runtime's default.
  metrics::count_harness_run(message_.agent ? *message_.agent : server_.harness.name(),
                             outcome.ok() ? metrics::harness_outcome::success
                                          : metrics::harness_outcome::failure);
  if (!outcome.ok()) {
    log_warn("harness failed: " + outcome.error.text);
    finish(protocol::error_message{std::move(outcome.error.text),
                                   protocol::json_text{std::move(outcome.error_metadata_json)}});
    return;
  }
  log_info("harness finished");
  protocol::result_message result{std::move(outcome.data),
                                  protocol::json_text{std::move(outcome.metadata_json)}};
  run_commands(std::move(message_.post_agent_invocation_commands), "post_agent_invocation_commands",
               [this, result = std::move(result)](std::vector<protocol::command_result>) mutable {
                 finish(std::move(result));
               });
}

} // namespace agentrt::runtime::server

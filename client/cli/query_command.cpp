// agentrt-client query: one query request; the result goes to stdout, the agent's assistant
// messages to stderr as they arrive.
#include <chrono>

#include "session_run.hpp"
#include "subcommands.hpp"

namespace agentrt::cli {

namespace ac = agentrt::client;

namespace {

ac::query_options request_fields(const cli_options& o) {
  ac::query_options q;
  q.secrets_to_redact = o.secrets;
  q.downloadables = o.downloads;
  q.artifacts_dirs = o.artifacts;
  q.system_prompt = o.system.value_or("");
  q.model = o.model.value_or("");
  q.output_format_json_schema_str = o.schema;
  q.announce_existing_artifacts = o.announce_existing_artifacts;
  q.agent = o.agent;
  q.resume_session_id = o.resume_session_id;
  // Sent only when a flag set something: a runtimeuse runtime then sees today's message.
  const auto& h = o.harness;
  if (h.max_turns || h.timeout_s || h.permission_mode || h.allowed_tools || h.disallowed_tools ||
      h.max_budget_usd || h.token_budget || h.mcp_servers || h.extra_args)
    q.harness_settings = h;
  return q;
}

} // namespace

void set_agent_callbacks(std::function<void(const protocol::assistant_message&)>& on_assistant,
                         std::function<void(const protocol::agent_event_message&)>& on_event,
                         const cli_options& o, run_control& control) {
  on_assistant = [&o, &control](const protocol::assistant_message& m) {
    control.output_arrived();
    if (o.json)
      return emit(m);
    std::string text;
    for (const auto& block : m.text_blocks)
      text += block + "\n";
    print(stderr, text);
  };
  if (o.json)
    on_event = [](const protocol::agent_event_message& m) { emit(m); };
}

void print_query_result(const ac::query_result& result, bool json) {
  if (json) {
    protocol::result_message m;
    m.data.type = result.type == ac::query_result::kind::structured_output
                      ? protocol::result_data::kind::structured_output
                      : protocol::result_data::kind::text;
    m.data.text = result.text;
    m.data.structured_output.json = result.structured_output_json;
    m.metadata.json = result.metadata_json;
    return emit(m);
  }
  print(stdout,
        (result.type == ac::query_result::kind::structured_output ? result.structured_output_json
                                                                  : result.text) +
            "\n");
}

int run_query(const cli_options& o) {
  if (o.detach)
    return run_detached(o, [&](ac::async_session& s) {
      ac::query_options q = request_fields(o);
      if (!o.artifacts.empty()) // answered by attach
        q.on_artifact_upload_request = [](const protocol::artifact_upload_request_message&,
                                          ac::upload_reply reply) { reply(std::nullopt); };
      return std::async(std::launch::deferred,
                        [f = s.query(*o.prompt, q)]() mutable { return f.get().second; });
    });

  cli_run run(o, "query");
  if (auto rc = run.open())
    return *rc;
  auto& control = run.control;
  ac::query_options q = request_fields(o);
  set_output_callbacks(q, o, control);
  set_agent_callbacks(q.on_assistant_message, q.on_agent_event, o, control);
  run.arts->attach(q);
  if (o.timeout_s)
    q.timeout = to_ms(*o.timeout_s);
  set_dead_after(q, o);
  control.begin_request();
  auto [result, e] = run.session->query(*o.prompt, q).get();
  control.end_request();
  if (e)
    return run.finish(e.code == ac::errc::runtime_error, run.fail(e));
  print_query_result(result, o.json);
  return run.finish(true, 0);
}

} // namespace agentrt::cli

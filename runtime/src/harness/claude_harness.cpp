// The Claude Code adapter and its stream-json parser.
#include "harness/claude_harness.hpp"

#include <unistd.h>

#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/json_builder.hpp"
#include "harness/adapter_support.hpp"
#include "harness/harness_errc.hpp"
#include "harness/immediate_run.hpp"
#include "harness/json_support.hpp"
#include "harness/run_dir.hpp"

namespace agentrt::runtime::harness {

namespace {

const char* const harness_name = "claude";

// Tool results carry either a string or a list of content blocks; the text is what matters.
std::string tool_result_text(const rapidjson::Value& content) {
  if (!content.IsArray())
    return json::text_of(content);
  std::string out;
  for (const auto& block : content.GetArray()) {
    if (json::string_or_empty(block, "type") == "text") {
      if (!out.empty())
        out += '\n';
      out += json::string_or_empty(block, "text");
    }
  }
  return out;
}

} // namespace

claude_parser::claude_parser(event_sink sink, std::shared_ptr<const output_schema> schema)
    : sink_(std::move(sink)), schema_(std::move(schema)) {}

bool claude_parser::on_line(std::string_view line) {
  rapidjson::Document doc;
  if (!json::parse(line, doc) || !doc.IsObject())
    return false;
  const auto type = json::string_member(doc, "type");
  if (!type)
    return false;
  if (auto sid = json::string_member(doc, "session_id"); sid && !sid->empty()) {
    if (session_id_.empty() && sink_.wants_events()) {
      protocol::json_builder w;
      w.add("session_id", *sid).add("harness", harness_name);
      if (auto model = json::string_member(doc, "model"))
        w.add("model", *model);
      sink_.event("session", w.str());
    }
    session_id_ = *sid;
  }
  if (*type == "assistant") {
    if (const auto* m = json::member(doc, "message"))
      on_assistant(*m);
  } else if (*type == "user") {
    if (const auto* m = json::member(doc, "message"))
      on_user(*m);
  } else if (*type == "result") {
    result_.Swap(doc);
    have_result_ = true;
  }
  // system (init, hooks, status) and stream_event lines are understood and not forwarded.
  return true;
}

void claude_parser::on_assistant(const rapidjson::Value& message) {
  const auto* content = json::member(message, "content");
  if (!content || !content->IsArray())
    return;
  std::vector<std::string> texts;
  for (const auto& block : content->GetArray()) {
    const auto kind = json::string_or_empty(block, "type");
    if (kind == "text") {
      auto text = json::string_or_empty(block, "text");
      if (!text.empty())
        texts.push_back(std::move(text));
    } else if (kind == "tool_use" && sink_.wants_events()) {
      protocol::json_builder w;
      w.add("id", json::string_or_empty(block, "id"))
          .add("name", json::string_or_empty(block, "name"));
      if (const auto* input = json::member(block, "input"))
        w.add_raw("input", json::dump(*input));
      sink_.event("tool_use", w.str());
    } else if (kind == "thinking" && sink_.wants_events()) {
      sink_.event(
          "reasoning",
          protocol::json_builder().add("text", json::string_or_empty(block, "thinking")).str());
    }
  }
  sink_.assistant(std::move(texts));
}

void claude_parser::on_user(const rapidjson::Value& message) {
  const auto* content = json::member(message, "content");
  if (!content || !content->IsArray() || !sink_.wants_events())
    return;
  for (const auto& block : content->GetArray()) {
    if (json::string_or_empty(block, "type") != "tool_result")
      continue;
    const auto* c = json::member(block, "content");
    sink_.event("tool_result", protocol::json_builder()
                                   .add("id", json::string_or_empty(block, "tool_use_id"))
                                   .add("output", c ? tool_result_text(*c) : std::string())
                                   .add("is_error", json::bool_member(block, "is_error"))
                                   .str());
  }
}

harness_outcome claude_parser::finish(const process_end& end) {
  if (!have_result_) {
    return process_failure(
        harness_name, end,
        {harness_errc::agent_exited, end.status.exit_code == 0 && end.status.term_signal == 0
                                         ? "claude exited without a result line"
                                         : std::string()});
  }
  const auto& r = result_;
  protocol::json_builder meta;
  meta.add("harness", harness_name).add("session_id", session_id_);
  for (const char* key : {"duration_ms", "duration_api_ms", "num_turns", "total_cost_usd"}) {
    if (const auto* v = json::member(r, key); v && v->IsNumber())
      meta.add_raw(key, json::dump(*v));
  }
  if (const auto* usage = json::member(r, "usage"); usage && usage->IsObject()) {
    meta.add_raw("usage", json::dump(*usage));
    if (sink_.wants_events())
      sink_.event("usage", json::dump(*usage));
  }
  const auto subtype = json::string_or_empty(r, "subtype");
  const bool is_error = json::bool_member(r, "is_error") || subtype != "success";
  if (is_error) {
    std::string detail = json::string_or_empty(r, "result");
    if (const auto* errors = json::member(r, "errors");
        errors && errors->IsArray() && !errors->Empty())
      detail += (detail.empty() ? "" : "; ") + json::text_of((*errors)[0]);
    std::string text = "claude failed (" + (subtype.empty() ? std::string("error") : subtype) + ")";
    if (!detail.empty())
      text += ": " + detail;
    meta.add("subtype", subtype).add("exit_code", end.status.exit_code);
    if (const auto* status = json::member(r, "api_error_status"); status && !status->IsNull())
      meta.add_raw("api_error_status", json::dump(*status));
    return harness_outcome::failure({harness_errc::agent_failed, std::move(text)}, meta.str());
  }
  if (schema_) {
    if (const auto* so = json::member(r, "structured_output"); so && so->IsObject())
      return structured_answer(harness_name, *so, *schema_, meta.str());
  }
  return final_answer(harness_name, json::string_or_empty(r, "result"), schema_.get(), meta.str());
}

std::vector<std::string> claude_argv(const std::string& program, const harness_config& config,
                                     const invocation& inv, const output_schema* schema,
                                     const std::string& mcp_config_path) {
  const auto& h = inv.settings;
  std::vector<std::string> argv = {program,           "-p",          inv.user_prompt,
                                   "--output-format", "stream-json", "--verbose"};
  // The tool lists are variadic options: each takes one value and the option after it ends
  // the list, so a tool pattern can never swallow the prompt or another flag's value.
  for (const auto& tool : h.allowed_tools.value_or(std::vector<std::string>{}))
    argv.insert(argv.end(), {"--allowedTools", tool});
  for (const auto& tool : h.disallowed_tools.value_or(std::vector<std::string>{}))
    argv.insert(argv.end(), {"--disallowedTools", tool});
  argv.insert(argv.end(), {"--permission-mode", h.permission_mode.value_or("bypassPermissions")});
  if (!inv.model.empty())
    argv.insert(argv.end(), {"--model", inv.model});
  if (!inv.system_prompt.empty())
    argv.insert(argv.end(), {"--system-prompt", inv.system_prompt});
  if (schema)
    argv.insert(argv.end(), {"--json-schema", schema->schema_json()});
  if (inv.resume_session_id)
    argv.insert(argv.end(), {"--resume", *inv.resume_session_id});
  if (config.max_turns > 0)
    argv.insert(argv.end(), {"--max-turns", std::to_string(config.max_turns)});
  if (h.max_budget_usd)
    argv.insert(argv.end(), {"--max-budget-usd", json::dump(rapidjson::Value(*h.max_budget_usd))});
  if (!mcp_config_path.empty())
    argv.insert(argv.end(), {"--mcp-config", mcp_config_path});
  if (h.extra_args)
    argv.insert(argv.end(), h.extra_args->begin(), h.extra_args->end());
  return argv;
}

claude_harness::claude_harness(harness_config config, std::string program)
    : process_harness(std::move(config)), program_(std::move(program)) {}

process_harness::prepared claude_harness::prepare(const invocation& inv,
                                                  std::shared_ptr<const output_schema> schema,
                                                  const event_sink& sink,
                                                  process_run_options& opts) {
  std::shared_ptr<run_dir> dir;
  std::string mcp_path;
  if (inv.settings.mcp_servers) {
    // --mcp-config takes a file of Claude's own shape, {"mcpServers": {...}}; it lives in a
    // directory of this run's own, removed after the run.
    auto created = run_dir::with_file("agentrt-claude", "mcp.json",
                                      "{\"mcpServers\":" + inv.settings.mcp_servers->json + "}");
    if (!created.ok())
      return prefixed("claude: cannot write the MCP config file: ", std::move(created).error());
    dir = std::move(created).value();
    mcp_path = (dir->path() / "mcp.json").string();
  }
  opts.spawn.argv =
      claude_argv(program_, effective_config(config(), inv), inv, schema.get(), mcp_path);
  opts.keep_alive = std::move(dir);
  // Bypass mode refuses to run as root unless told it is inside a sandbox, which it is.
  if (::geteuid() == 0)
    opts.spawn.env.emplace("IS_SANDBOX", "1");
  return std::make_unique<claude_parser>(sink, std::move(schema));
}

} // namespace agentrt::runtime::harness

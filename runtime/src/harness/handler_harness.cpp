// The custom handler protocol (docs/protocol.md, "The custom handler protocol").
#include "harness/handler_harness.hpp"

#include "agentrt/protocol/errc.hpp"
#include "harness/adapter_support.hpp"
#include "harness/harness_errc.hpp"
#include "harness/immediate_run.hpp"
#include "harness/json_support.hpp"

namespace agentrt::runtime::harness {

namespace {

const char* const handler_name = "handler";

bool known_event(std::string_view e) {
  return e == "tool_use" || e == "tool_result" || e == "reasoning" || e == "usage" ||
         e == "session";
}

} // namespace

handler_parser::handler_parser(event_sink sink, std::shared_ptr<const output_schema> schema)
    : sink_(std::move(sink)), schema_(std::move(schema)) {}

bool handler_parser::on_line(std::string_view line) {
  rapidjson::Document doc;
  if (!json::parse(line, doc) || !doc.IsObject())
    return false;
  const auto type = json::string_member(doc, "type");
  if (!type)
    return false;

  if (*type == "assistant") {
    const auto* blocks = json::member(doc, "text_blocks");
    if (!blocks || !blocks->IsArray())
      return false;
    std::vector<std::string> texts;
    for (const auto& b : blocks->GetArray()) {
      if (b.IsString())
        texts.emplace_back(b.GetString(), b.GetStringLength());
    }
    sink_.assistant(std::move(texts));
    return true;
  }
  if (*type == "error") {
    have_error_ = true;
    last_error_ = json::string_or_empty(doc, "error");
    const auto* meta = json::member(doc, "metadata");
    last_error_metadata_ = meta && meta->IsObject() ? json::dump(*meta) : "{}";
    sink_.log(std::string("handler reported an error: ") + last_error_);
    return true;
  }
  if (*type == "result") {
    const auto* data = json::member(doc, "data");
    const auto* meta = json::member(doc, "metadata");
    const std::string metadata = meta && meta->IsObject() ? json::dump(*meta) : "{}";
    if (!data || !data->IsObject())
      return false;
    const auto kind = json::string_or_empty(*data, "type");
    if (kind == "structured_output") {
      const auto* so = json::member(*data, "structured_output");
      if (!so || !so->IsObject())
        return false;
      if (schema_) {
        result_ = structured_answer(handler_name, *so, *schema_, metadata);
      } else {
        result_ = harness_outcome();
        result_.data.type = protocol::result_data::kind::structured_output;
        result_.data.structured_output.json = json::dump(*so);
        result_.metadata_json = metadata;
      }
    } else if (kind == "text") {
      const auto text = json::string_member(*data, "text");
      if (!text)
        return false;
      result_ = final_answer(handler_name, *text, schema_.get(), metadata);
    } else {
      return false;
    }
    have_result_ = true;
    return true;
  }
  if (*type == "agent_event") {
    const auto event = json::string_or_empty(doc, "event");
    const auto* data = json::member(doc, "data");
    if (!known_event(event) || !data || !data->IsObject())
      return false;
    sink_.event(event.c_str(), json::dump(*data));
    return true;
  }
  return false;
}

harness_outcome handler_parser::finish(const process_end& end) {
  const bool clean_exit = end.status.exit_code == 0 && end.status.term_signal == 0;
  if (clean_exit && have_result_)
    return std::move(result_);
  if (have_error_)
    return harness_outcome::failure({harness_errc::agent_failed, last_error_},
                                    last_error_metadata_);
  if (clean_exit)
    return process_failure(handler_name, end,
                           {harness_errc::agent_exited, "handler exited without a result line"});
  return process_failure(handler_name, end);
}

std::string handler_stdin_line(const invocation& inv) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  auto str = [&a](const std::string& s) {
    return rapidjson::Value(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), a);
  };
  doc.AddMember("system_prompt", str(inv.system_prompt), a);
  doc.AddMember("user_prompt", str(inv.user_prompt), a);
  doc.AddMember("model", str(inv.model), a);
  rapidjson::Document format(&a);
  if (inv.output_schema_json && json::parse(*inv.output_schema_json, format)) {
    rapidjson::Value v;
    v.CopyFrom(format, a);
    doc.AddMember("output_format", v, a);
  } else {
    doc.AddMember("output_format", rapidjson::Value(), a);
  }
  rapidjson::Value env(rapidjson::kObjectType);
  for (const auto& [k, v] : inv.agent_env)
    env.AddMember(str(k), str(v), a);
  doc.AddMember("env", env, a);
  rapidjson::Value secrets(rapidjson::kArrayType);
  for (const auto& s : inv.secrets)
    secrets.PushBack(str(s), a);
  doc.AddMember("secrets", secrets, a);
  doc.AddMember("source_id", str(inv.source_id), a);
  // Extension: only present when the client asked to resume.
  if (inv.resume_session_id)
    doc.AddMember("resume_session_id", str(*inv.resume_session_id), a);
  // Extension: the invocation's harness_settings, only when it sent some. The handler is the
  // agent, so applying them is its job (the runtime enforces timeout_s as well).
  const auto& h = inv.settings;
  rapidjson::Value settings(rapidjson::kObjectType);
  auto strings = [&](const char* key, const std::optional<std::vector<std::string>>& list) {
    if (!list)
      return;
    rapidjson::Value arr(rapidjson::kArrayType);
    for (const auto& s : *list)
      arr.PushBack(str(s), a);
    settings.AddMember(rapidjson::StringRef(key), arr, a);
  };
  if (h.max_turns)
    settings.AddMember("max_turns", *h.max_turns, a);
  if (h.timeout_s)
    settings.AddMember("timeout_s", *h.timeout_s, a);
  if (h.permission_mode)
    settings.AddMember("permission_mode", str(*h.permission_mode), a);
  strings("allowed_tools", h.allowed_tools);
  strings("disallowed_tools", h.disallowed_tools);
  if (h.max_budget_usd)
    settings.AddMember("max_budget_usd", *h.max_budget_usd, a);
  if (h.token_budget)
    settings.AddMember("token_budget", static_cast<int64_t>(*h.token_budget), a);
  rapidjson::Document servers(&a);
  if (h.mcp_servers && json::parse(h.mcp_servers->json, servers))
    settings.AddMember("mcp_servers", rapidjson::Value(servers, a), a);
  strings("extra_args", h.extra_args);
  if (!settings.ObjectEmpty())
    doc.AddMember("harness_settings", settings, a);
  return json::dump(doc) + "\n";
}

handler_harness::handler_harness(harness_config config, std::string path)
    : process_harness(std::move(config)), path_(std::move(path)) {}

process_harness::prepared handler_harness::prepare(const invocation& inv,
                                                   std::shared_ptr<const output_schema> schema,
                                                   const event_sink& sink,
                                                   process_run_options& opts) {
  opts.spawn.argv = {path_};
  opts.spawn.stdin_data = handler_stdin_line(inv);
  return std::make_unique<handler_parser>(sink, std::move(schema));
}

} // namespace agentrt::runtime::harness

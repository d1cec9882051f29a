// Shared start()/finish() helpers of the adapters.
#include "harness/adapter_support.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "agentrt/protocol/json_builder.hpp"
#include "harness/harness_errc.hpp"
#include "harness/json_support.hpp"

namespace agentrt::runtime::harness {

namespace {

const char* setting_name(setting s) {
  switch (s) {
  case setting::max_turns:
    return "max_turns";
  case setting::timeout_s:
    return "timeout_s";
  case setting::permission_mode:
    return "permission_mode";
  case setting::allowed_tools:
    return "allowed_tools";
  case setting::disallowed_tools:
    return "disallowed_tools";
  case setting::max_budget_usd:
    return "max_budget_usd";
  case setting::token_budget:
    return "token_budget";
  case setting::mcp_servers:
    return "mcp_servers";
  case setting::extra_args:
    return "extra_args";
  }
  return "";
}

bool is_present(const protocol::harness_settings& h, setting s) {
  switch (s) {
  case setting::max_turns:
    return h.max_turns.has_value();
  case setting::timeout_s:
    return h.timeout_s.has_value();
  case setting::permission_mode:
    return h.permission_mode.has_value();
  case setting::allowed_tools:
    return h.allowed_tools.has_value();
  case setting::disallowed_tools:
    return h.disallowed_tools.has_value();
  case setting::max_budget_usd:
    return h.max_budget_usd.has_value();
  case setting::token_budget:
    return h.token_budget.has_value();
  case setting::mcp_servers:
    return h.mcp_servers.has_value();
  case setting::extra_args:
    return h.extra_args.has_value();
  }
  return false;
}

constexpr setting all_settings[] = {
    setting::max_turns,     setting::timeout_s,        setting::permission_mode,
    setting::allowed_tools, setting::disallowed_tools, setting::max_budget_usd,
    setting::token_budget,  setting::mcp_servers,      setting::extra_args,
};

} // namespace

protocol::result<void> check_settings(const std::string& agent, const invocation& inv,
                                      const std::vector<setting>& supported) {
  for (const setting s : all_settings) {
    if (!is_present(inv.settings, s))
      continue;
    bool ok = false;
    for (const setting t : supported)
      ok |= t == s;
    if (ok)
      continue;
    std::string list;
    for (const setting t : supported)
      list += std::string(list.empty() ? "" : ", ") + setting_name(t);
    return {harness_errc::unsupported_setting,
            "agent \"" + agent + "\" cannot honour harness_settings." + setting_name(s) +
                " (it supports: " + (list.empty() ? std::string("none") : list) + ")"};
  }
  return {};
}

harness_config effective_config(const harness_config& config, const invocation& inv) {
  harness_config out = config;
  const auto& h = inv.settings;
  if (h.max_turns)
    out.max_turns = *h.max_turns;
  if (h.timeout_s) {
    // Clamped to a day so that the conversion to milliseconds cannot overflow.
    const double ms = std::min(*h.timeout_s, 86400.0) * 1000.0;
    out.timeout =
        std::chrono::milliseconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(ms)));
  }
  if (h.token_budget)
    out.openai_token_budget = *h.token_budget;
  return out;
}

protocol::result<std::shared_ptr<const output_schema>> requested_schema(const invocation& inv) {
  if (!inv.output_schema_json)
    return std::shared_ptr<const output_schema>();
  auto parsed = output_schema::parse(*inv.output_schema_json);
  if (!parsed.ok())
    return std::move(parsed).error();
  return std::shared_ptr<const output_schema>(std::move(parsed).value());
}

protocol::error prefixed(const std::string& prefix, protocol::error e) {
  e.text.insert(0, prefix);
  return e;
}

std::string workdir_of(const harness_config& config, const invocation& inv) {
  return inv.workdir.empty() ? config.workdir : inv.workdir;
}

std::optional<std::string> env_of(const invocation& inv, const std::string& name) {
  if (auto it = inv.agent_env.find(name); it != inv.agent_env.end())
    return it->second;
  const char* v = std::getenv(name.c_str());
  return v ? std::optional<std::string>(v) : std::nullopt;
}

std::string env_value(const invocation& inv, const std::string& name) {
  return env_of(inv, name).value_or(std::string());
}

namespace {

harness_outcome schema_mismatch(const std::string& harness_name, protocol::error error,
                                std::string_view answer) {
  constexpr std::size_t shown = 2000;
  return harness_outcome::failure(std::move(error), protocol::json_builder()
                                                        .add("harness", harness_name)
                                                        .add("answer", answer.substr(0, shown))
                                                        .str());
}

} // namespace

harness_outcome final_answer(const std::string& harness_name, std::string_view text,
                             const output_schema* schema, std::string metadata_json) {
  harness_outcome out;
  if (!schema) {
    out.data.type = protocol::result_data::kind::text;
    out.data.text = std::string(text);
    out.metadata_json = std::move(metadata_json);
    return out;
  }
  const auto object = extract_json_object(text);
  if (!object)
    return schema_mismatch(
        harness_name,
        {harness_errc::output_mismatch,
         "structured output requested but " + harness_name + "'s answer contains no JSON object"},
        text);
  rapidjson::Document doc;
  json::parse(*object, doc);
  return structured_answer(harness_name, doc, *schema, std::move(metadata_json));
}

harness_outcome structured_answer(const std::string& harness_name, const rapidjson::Value& value,
                                  const output_schema& schema, std::string metadata_json) {
  const std::string text = json::dump(value);
  if (!value.IsObject()) {
    return schema_mismatch(
        harness_name, {harness_errc::output_mismatch, "structured output is not a JSON object"},
        text);
  }
  if (auto valid = schema.validate(value); !valid.ok())
    return schema_mismatch(harness_name, std::move(valid).error(), text);
  harness_outcome out;
  out.data.type = protocol::result_data::kind::structured_output;
  out.data.structured_output.json = text;
  out.metadata_json = std::move(metadata_json);
  return out;
}

} // namespace agentrt::runtime::harness

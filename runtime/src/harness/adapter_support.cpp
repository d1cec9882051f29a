// Shared start()/finish() helpers of the adapters.
#include "harness/adapter_support.hpp"

#include <cstdlib>

#include "harness/json_support.hpp"

namespace agentrt::runtime::harness {

std::shared_ptr<const output_schema> requested_schema(const invocation& inv, std::string& error) {
  error.clear();
  if (!inv.output_schema_json) return nullptr;
  return output_schema::parse(*inv.output_schema_json, error);
}

std::string workdir_of(const harness_config& config, const invocation& inv) {
  return inv.workdir.empty() ? config.workdir : inv.workdir;
}

std::optional<std::string> env_of(const invocation& inv, const std::string& name) {
  if (auto it = inv.agent_env.find(name); it != inv.agent_env.end()) return it->second;
  const char* v = std::getenv(name.c_str());
  return v ? std::optional<std::string>(v) : std::nullopt;
}

std::string env_value(const invocation& inv, const std::string& name) {
  return env_of(inv, name).value_or(std::string());
}

namespace {

harness_outcome schema_mismatch(const std::string& harness_name, std::string error,
                         std::string_view answer) {
  harness_outcome out;
  out.ok = false;
  constexpr std::size_t shown = 2000;
  out.error = std::move(error);
  out.error_metadata_json = json::object_writer()
                                .add("harness", harness_name)
                                .add("answer", answer.substr(0, shown))
                                .str();
  return out;
}

}  // namespace

harness_outcome final_answer(const std::string& harness_name, std::string_view text,
                             const output_schema* schema, std::string metadata_json) {
  harness_outcome out;
  if (!schema) {
    out.ok = true;
    out.data.type = protocol::result_data::kind::text;
    out.data.text = std::string(text);
    out.metadata_json = std::move(metadata_json);
    return out;
  }
  const auto object = extract_json_object(text);
  if (!object)
    return schema_mismatch(harness_name, "structured output requested but " + harness_name +
                                      "'s answer contains no JSON object", text);
  rapidjson::Document doc;
  json::parse(*object, doc);
  return structured_answer(harness_name, doc, *schema, std::move(metadata_json));
}

harness_outcome structured_answer(const std::string& harness_name, const rapidjson::Value& value,
                                  const output_schema& schema, std::string metadata_json) {
  std::string error;
  const std::string text = json::dump(value);
  if (!value.IsObject())
    return schema_mismatch(harness_name, "structured output is not a JSON object", text);
  if (!schema.validate(value, error)) return schema_mismatch(harness_name, std::move(error), text);
  harness_outcome out;
  out.ok = true;
  out.data.type = protocol::result_data::kind::structured_output;
  out.data.structured_output.json = text;
  out.metadata_json = std::move(metadata_json);
  return out;
}

}  // namespace agentrt::runtime::harness

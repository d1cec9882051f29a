// JSON schema validation of structured output with rapidjson/schema.h, on the draft-04
// translation of the client's schema (schema_dialect.hpp).
#include "harness/schema_validator.hpp"

#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include "agentrt/protocol/errc.hpp"
#include "harness/harness_errc.hpp"
#include "harness/json_support.hpp"
#include "harness/schema_dialect.hpp"

namespace agentrt::runtime::harness {

struct output_schema::impl {
  explicit impl(const rapidjson::Document& d) : schema(d) {}
  rapidjson::SchemaDocument schema;
};

output_schema::output_schema() = default;
output_schema::~output_schema() = default;

protocol::result<std::unique_ptr<output_schema>>
output_schema::parse(std::string_view output_format_json) {
  rapidjson::Document format;
  if (!json::parse(output_format_json, format) || !format.IsObject())
    return {protocol::errc::invalid_value, "output_format_json_schema_str is not a JSON object"};
  const auto type = json::string_member(format, "type");
  const auto* schema = json::member(format, "schema");
  // runtimeuse passes the document to its handler unchecked, and the published Python client's
  // own tests send a bare JSON Schema ({"type":"object"}): without a "schema" member, a
  // document whose "type" is not "json_schema" is that schema itself.
  if (!schema && type && *type != "json_schema")
    schema = &format;
  if (type && *type != "json_schema" && schema != &format) {
    return {protocol::errc::invalid_value, "output_format_json_schema_str: unsupported type \"" +
                                               *type + "\" (expected \"json_schema\")"};
  }
  if (!schema || !schema->IsObject()) {
    return {protocol::errc::invalid_value,
            "output_format_json_schema_str: \"schema\" must be an object"};
  }
  rapidjson::Document draft4;
  if (auto translated = to_draft4(*schema, draft4); !translated.ok()) {
    protocol::error why = std::move(translated).error();
    why.text = "output_format_json_schema_str: " + why.text;
    return why;
  }
  std::unique_ptr<output_schema> out(new output_schema());
  // CLIs and the chat API get the schema as the client wrote it; only our check uses draft-04.
  out->schema_json_ = json::dump(*schema);
  out->impl_ = std::make_unique<impl>(draft4);
  return out;
}

protocol::result<void> output_schema::validate(const rapidjson::Value& instance) const {
  rapidjson::SchemaValidator validator(impl_->schema);
  if (instance.Accept(validator))
    return {};
  rapidjson::StringBuffer doc_ptr;
  validator.GetInvalidDocumentPointer().StringifyUriFragment(doc_ptr);
  rapidjson::StringBuffer schema_ptr;
  validator.GetInvalidSchemaPointer().StringifyUriFragment(schema_ptr);
  std::string where = doc_ptr.GetString();
  // "#" is the whole document; "#/a/0" reads better as "/a/0".
  if (where.size() > 1)
    where.erase(0, 1);
  return {harness_errc::output_mismatch, "structured output does not match the schema: " + where +
                                             " fails \"" + validator.GetInvalidSchemaKeyword() +
                                             "\" (schema " + schema_ptr.GetString() + ")"};
}

protocol::result<void> output_schema::validate(std::string_view instance_json) const {
  rapidjson::Document doc;
  if (!json::parse(instance_json, doc))
    return {harness_errc::output_mismatch, "structured output is not valid JSON"};
  if (!doc.IsObject())
    return {harness_errc::output_mismatch, "structured output is not a JSON object"};
  return validate(doc);
}

std::optional<std::string> extract_json_object(std::string_view text) {
  auto parses = [](std::string_view t) {
    rapidjson::Document d;
    return json::parse(t, d) && d.IsObject();
  };
  auto trim = [](std::string_view t) {
    const auto b = t.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos)
      return std::string_view();
    return t.substr(b, t.find_last_not_of(" \t\r\n") - b + 1);
  };
  const auto whole = trim(text);
  if (parses(whole))
    return std::string(whole);
  if (const auto fence = text.find("```"); fence != std::string_view::npos) {
    auto body = text.substr(fence + 3);
    if (body.substr(0, 4) == "json")
      body.remove_prefix(4);
    const auto end = body.find("```");
    if (end != std::string_view::npos) {
      const auto inner = trim(body.substr(0, end));
      if (parses(inner))
        return std::string(inner);
    }
  }
  const auto first = text.find('{');
  const auto last = text.rfind('}');
  if (first != std::string_view::npos && last != std::string_view::npos && last > first) {
    const auto span = text.substr(first, last - first + 1);
    if (parses(span))
      return std::string(span);
  }
  return std::nullopt;
}

} // namespace agentrt::runtime::harness

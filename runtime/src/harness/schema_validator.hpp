// Structured output: the requested JSON schema (output_format_json_schema_str) and the check of
// a harness's answer against it with RapidJSON's validator (after translating draft-07 to
// 2020-12 keywords into draft-04: schema_dialect.hpp). Every adapter validates, because
// some CLIs only get told "answer in JSON" and nothing stops a model from answering otherwise.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "agentrt/protocol/result.hpp"

namespace agentrt::runtime::harness {

class output_schema {
public:
  // Accepts {"type":"json_schema","schema":{...}} ("type" may be absent), and, as runtimeuse
  // does, a bare JSON Schema ({"type":"object",...}: no "schema" member, "type" other than
  // "json_schema"). A document that is not JSON, has no schema object, or whose schema uses a
  // keyword that cannot be checked (to_draft4 says which) is an error: protocol::errc's
  // invalid_value, or to_draft4's code.
  static protocol::result<std::unique_ptr<output_schema>>
  parse(std::string_view output_format_json);
  ~output_schema();

  // The "schema" member, serialized compactly (what CLIs and the chat API are given).
  const std::string& schema_json() const noexcept { return schema_json_; }

  // Ok when instance matches. Otherwise harness_errc::output_mismatch, the text quoting the
  // failure, e.g.
  // "structured output does not match the schema: /age fails \"type\" (schema #/properties/age)".
  protocol::result<void> validate(const rapidjson::Value& instance) const;
  // Same for JSON text; text that is not a JSON object is a mismatch too.
  protocol::result<void> validate(std::string_view instance_json) const;

private:
  output_schema();
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string schema_json_;
};

// The JSON object in a model's final answer: the whole text if it parses, else the body of a
// ```json fence, else the span from the first '{' to the last '}'. nullopt when none parses.
std::optional<std::string> extract_json_object(std::string_view text);

} // namespace agentrt::runtime::harness

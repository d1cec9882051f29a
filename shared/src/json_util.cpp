// RapidJSON helpers shared by the codec and redact_message.
#include "json_util.hpp"

#include "agentrt/protocol/json_depth.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace agentrt::protocol::detail {

const char* json_type_name(const rapidjson::Value& v) noexcept {
  switch (v.GetType()) {
  case rapidjson::kNullType:
    return "null";
  case rapidjson::kFalseType:
  case rapidjson::kTrueType:
    return "boolean";
  case rapidjson::kObjectType:
    return "object";
  case rapidjson::kArrayType:
    return "array";
  case rapidjson::kStringType:
    return "string";
  case rapidjson::kNumberType:
    return "number";
  }
  return "unknown";
}

std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

bool parse_json(std::string_view text, rapidjson::Document& doc) {
  if (json_nesting_exceeds(text)) {
    doc.SetNull();
    return false;
  }
  doc.Parse<parse_flags>(text.data(), text.size());
  return !doc.HasParseError();
}

} // namespace agentrt::protocol::detail

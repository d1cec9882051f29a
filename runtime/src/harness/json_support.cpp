// RapidJSON helpers for the harness adapters.
#include "harness/json_support.hpp"

#include <limits>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "agentrt/protocol/json_depth.hpp"
#include "agentrt/protocol/json_numbers.hpp"

namespace agentrt::runtime::harness::json {

bool parse(std::string_view text, rapidjson::Document& doc) {
  // A handler or CLI line of a million '[' would overflow the recursive parser's stack.
  if (protocol::json_nesting_exceeds(text)) {
    doc.SetNull();
    return false;
  }
  // See json_numbers.hpp: RapidJSON's number parser must not see some numbers.
  switch (protocol::check_json_numbers(text).verdict) {
  case protocol::json_number_verdict::refuse:
    doc.SetNull();
    return false;
  case protocol::json_number_verdict::normal_precision:
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
    break;
  case protocol::json_number_verdict::full_precision:
    doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseFullPrecisionFlag>(
        text.data(), text.size());
    break;
  }
  return !doc.HasParseError();
}

std::string dump(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

const rapidjson::Value* member(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject())
    return nullptr;
  auto it = obj.FindMember(key);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string string_or_empty(const rapidjson::Value& obj, const char* key) {
  return string_member(obj, key).value_or(std::string());
}

std::optional<std::string> string_member(const rapidjson::Value& obj, const char* key) {
  const auto* v = member(obj, key);
  if (!v || !v->IsString())
    return std::nullopt;
  return std::string(v->GetString(), v->GetStringLength());
}

std::optional<double> number_member(const rapidjson::Value& obj, const char* key) {
  const auto* v = member(obj, key);
  if (!v || !v->IsNumber())
    return std::nullopt;
  return v->GetDouble();
}

std::optional<std::int64_t> token_count(const rapidjson::Value& obj, const char* key) {
  const auto* v = member(obj, key);
  if (!v || !v->IsNumber())
    return std::nullopt;
  if (v->IsInt64()) {
    if (v->GetInt64() < 0)
      return std::nullopt;
    return v->GetInt64();
  }
  // Every double in [0, 2^63) converts; NaN fails the comparison.
  const double d = v->GetDouble();
  if (!(d >= 0 && d < 9223372036854775808.0))
    return std::nullopt;
  return static_cast<std::int64_t>(d);
}

void add_tokens(std::int64_t& total, std::int64_t n) noexcept {
  if (__builtin_add_overflow(total, n, &total))
    total = std::numeric_limits<std::int64_t>::max();
}

bool bool_member(const rapidjson::Value& obj, const char* key, bool fallback) {
  const auto* v = member(obj, key);
  return v && v->IsBool() ? v->GetBool() : fallback;
}

std::string text_of(const rapidjson::Value& v) {
  if (v.IsString())
    return std::string(v.GetString(), v.GetStringLength());
  if (v.IsNull())
    return std::string();
  return dump(v);
}

} // namespace agentrt::runtime::harness::json

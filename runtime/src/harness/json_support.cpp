// RapidJSON helpers for the harness adapters.
#include "harness/json_support.hpp"

#include <cmath>
#include <limits>

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

object_writer& object_writer::add(const char* key, std::string_view value) {
  writer_.Key(key);
  writer_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  return *this;
}

object_writer& object_writer::add(const char* key, std::int64_t value) {
  writer_.Key(key);
  writer_.Int64(value);
  return *this;
}

object_writer& object_writer::add(const char* key, double value) {
  writer_.Key(key);
  // RapidJSON's Writer writes nothing for NaN or an infinity (a cost summed past DBL_MAX),
  // which would leave a key without a value: invalid JSON.
  if (std::isfinite(value))
    writer_.Double(value);
  else
    writer_.Null();
  return *this;
}

object_writer& object_writer::add(const char* key, bool value) {
  writer_.Key(key);
  writer_.Bool(value);
  return *this;
}

object_writer& object_writer::add_raw(const char* key, std::string_view json) {
  writer_.Key(key);
  writer_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  return *this;
}

object_writer& object_writer::add_value(const char* key, const rapidjson::Value& value) {
  writer_.Key(key);
  value.Accept(writer_);
  return *this;
}

std::string object_writer::str() {
  if (!done_) {
    writer_.EndObject();
    done_ = true;
  }
  return std::string(buffer_.GetString(), buffer_.GetSize());
}

} // namespace agentrt::runtime::harness::json

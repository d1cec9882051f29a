// json_builder: strings through the codec's escaping, numbers through RapidJSON's writer, so
// the text is byte for byte what the earlier RapidJSON-based builders wrote for valid UTF-8.
#include "agentrt/protocol/json_builder.hpp"

#include <cmath>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "json_util.hpp"

namespace agentrt::protocol {

void json_builder::key(std::string_view k) {
  if (!members_.empty())
    members_.push_back(',');
  detail::append_json_string(members_, k);
  members_.push_back(':');
}

json_builder& json_builder::add(std::string_view k, std::string_view value) {
  key(k);
  detail::append_json_string(members_, value);
  return *this;
}

json_builder& json_builder::add(std::string_view k, bool value) {
  key(k);
  members_ += value ? "true" : "false";
  return *this;
}

json_builder& json_builder::add(std::string_view k, double value) {
  key(k);
  // RapidJSON's Writer writes nothing for NaN or an infinity (a cost summed past DBL_MAX),
  // which would leave a key without a value.
  if (!std::isfinite(value)) {
    members_ += "null";
    return *this;
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.Double(value);
  members_.append(buffer.GetString(), buffer.GetSize());
  return *this;
}

json_builder& json_builder::add_signed(std::string_view k, std::int64_t value) {
  key(k);
  members_ += std::to_string(value);
  return *this;
}

json_builder& json_builder::add_unsigned(std::string_view k, std::uint64_t value) {
  key(k);
  members_ += std::to_string(value);
  return *this;
}

json_builder& json_builder::add_raw(std::string_view k, std::string_view json) {
  key(k);
  members_.append(json.data(), json.size());
  return *this;
}

std::string json_builder::str() const {
  std::string out;
  out.reserve(members_.size() + 2);
  out.push_back('{');
  out += members_;
  out.push_back('}');
  return out;
}

} // namespace agentrt::protocol

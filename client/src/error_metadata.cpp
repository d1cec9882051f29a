// JSON serialization for client-side error metadata, through RapidJSON's writer so that
// arbitrary bytes (a malformed frame, a server's error body) come out escaped and valid.
#include "error_metadata.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "agentrt/protocol/redactor.hpp"

namespace agentrt::client::detail {

namespace {

std::string json_string(std::string_view raw) {
  // RapidJSON copies invalid UTF-8 through unchanged, which would make the metadata unparsable.
  std::string s;
  protocol::utf8_sanitizer sanitizer;
  sanitizer.write(raw, s);
  sanitizer.flush(s);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return {buffer.GetString(), buffer.GetSize()};
}

} // namespace

error_metadata& error_metadata::add(std::string_view key, std::string_view value) {
  return add_json(key, json_string(value));
}

error_metadata& error_metadata::add(std::string_view key, long long value) {
  return add_json(key, std::to_string(value));
}

error_metadata& error_metadata::add_json(std::string_view key, std::string_view json) {
  if (!members_.empty())
    members_ += ',';
  members_ += json_string(key);
  members_ += ':';
  members_ += json;
  return *this;
}

std::string error_metadata::str() const {
  return "{" + members_ + "}";
}

std::string metadata_code(const std::string& metadata_json) {
  rapidjson::Document doc;
  doc.Parse(metadata_json.c_str(), metadata_json.size());
  if (doc.HasParseError() || !doc.IsObject())
    return {};
  auto it = doc.FindMember("code");
  if (it == doc.MemberEnd() || !it->value.IsString())
    return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

} // namespace agentrt::client::detail

// The "code" of error metadata (see metadata_code.hpp).
#include "metadata_code.hpp"

#include <rapidjson/document.h>

namespace agentrt::client::detail {

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

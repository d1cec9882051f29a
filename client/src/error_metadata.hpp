// Builds the metadata_json of errors the client detects itself (transport details, the
// offending frame), in the same shape as the runtime's error metadata: one flat JSON object.
#pragma once

#include <string>
#include <string_view>

namespace agentrt::client::detail {

class error_metadata {
public:
  error_metadata& add(std::string_view key, std::string_view value);
  error_metadata& add(std::string_view key, long long value);
  // value must be a JSON document (e.g. the runtime's own metadata).
  error_metadata& add_json(std::string_view key, std::string_view json);
  std::string str() const;

private:
  std::string members_; // the serialized members, comma-separated, without braces
};

} // namespace agentrt::client::detail

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

// The string "code" of a metadata object (the runtime's or the client's), "" when there is none.
std::string metadata_code(const std::string& metadata_json);

} // namespace agentrt::client::detail

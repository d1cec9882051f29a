// Internal: the "code" member of an error's metadata object.
#pragma once

#include <string>

namespace agentrt::client::detail {

// The string "code" of a metadata object (the runtime's or the client's), "" when there is none.
std::string metadata_code(const std::string& metadata_json);

} // namespace agentrt::client::detail

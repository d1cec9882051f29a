// Agentrt-Extensions: the comma-separated list of protocol extensions a client asks for on its
// upgrade, and the runtime answers on its 101 (docs/protocol.md).
#pragma once

#include <string_view>

namespace agentrt::runtime::server {

// Whether header lists name as a whole item ("upload-decline, processes").
bool lists_extension(std::string_view header, std::string_view name);

} // namespace agentrt::runtime::server

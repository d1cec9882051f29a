// The client library's version.
#pragma once

#include <string>

namespace agentrt::client {

// "MAJOR.MINOR.PATCH" of the agentrt release this library was built from.
std::string version();

} // namespace agentrt::client

// The client library's version string.
#include "agentrt/client/version.hpp"

// The build passes project(agentrt VERSION ...), so the version is written in one place only.
#ifndef AGENTRT_VERSION
#error "AGENTRT_VERSION is not defined: build through agentrt's CMakeLists.txt"
#endif

namespace agentrt::client {

std::string version() {
  return AGENTRT_VERSION;
}

} // namespace agentrt::client

// The client library's version string.
#include "agentrt/client/version.hpp"

// The build may pass the project version; the fallback keeps the library buildable on its own.
#ifndef AGENTRT_VERSION
#define AGENTRT_VERSION "0.1.0"
#endif

namespace agentrt::client {

std::string version() {
  return AGENTRT_VERSION;
}

} // namespace agentrt::client

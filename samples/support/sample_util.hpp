// Small helpers the samples share: error printing and exit-code mapping.
#pragma once

#include <iostream>

#include "agentrt/client/errors.hpp"

namespace agentrt::samples {

inline void print_error(const char* what, const client::client_error& error) {
  std::cerr << what << ": " << error.message << " [" << error.code.message() << "]";
  if (error.metadata_json != "{}")
    std::cerr << " " << error.metadata_json;
  std::cerr << "\n";
}

// A process exit status is one byte: -1 (killed, in runtimeuse) or 256 must not become 255 or 0.
inline int exit_status_of(int exit_code) {
  return exit_code == 0 ? 0 : exit_code > 0 && exit_code < 256 ? exit_code : 1;
}

} // namespace agentrt::samples

// Small helpers the samples share: --version, error printing and exit-code mapping.
#pragma once

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include "agentrt/client/errors.hpp"
#include "agentrt/client/version.hpp"

namespace agentrt::samples {

// `NAME --version` prints the project version, as every agentrt program does. Only as the
// sole argument, so that no sample's own arguments (commands after "--") are taken for it.
inline bool print_version_if_asked(int argc, char** argv, const char* name) {
  if (argc != 2 || std::string_view(argv[1]) != "--version")
    return false;
  std::cout << name << " " << client::version() << "\n";
  return true;
}

// `--help` or `-h` before any "--" (after it, arguments are commands): the caller prints its
// usage to stdout and exits 0, instead of taking "--help" for a URL.
inline bool help_asked(int argc, char** argv) {
  for (int i = 1; i < argc && std::string_view(argv[i]) != "--"; ++i)
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h")
      return true;
  return false;
}

// The bearer token from AGENTRT_TOKEN, as agentrt-client reads it (--token overrides it).
inline std::optional<std::string> env_token() {
  const char* t = std::getenv("AGENTRT_TOKEN");
  return t && *t ? std::optional<std::string>(t) : std::nullopt;
}

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

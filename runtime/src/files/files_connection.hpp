// One files-API connection, start to end, on its worker thread: the request head, the token,
// the route to a handler, the lingering close.
#pragma once

#include <optional>
#include <string>

#include "files/files_root.hpp"
#include "files/handlers.hpp"
#include "util/unique_fd.hpp"

namespace agentrt::runtime::files {

struct files_config {
  std::optional<std::string> token; // --token: Authorization: Bearer, or ?token=
  files_limits limits;
  int idle_timeout_s = 60; // a read or write that makes no progress for this long ends it
};

// Serves the one request on fd and closes it. Blocking: runs on a worker thread.
void serve_files_connection(util::unique_fd fd, const files_config& config, const files_root& root);

} // namespace agentrt::runtime::files

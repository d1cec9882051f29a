// A request body copied into a file descriptor in fixed-size chunks: the streamed part of a file
// write and of a tar upload.
#pragma once

#include <cstdint>

#include "files/http_socket.hpp"

namespace agentrt::runtime::files {

struct spool_result {
  enum class outcome { done, peer_gone, write_failed, too_large };
  outcome what = outcome::done;
  int err = 0;             // errno of a failed write
  std::uint64_t bytes = 0; // body bytes written
};

// Until the end of the body; more than max_bytes is too_large (nothing beyond is written).
spool_result spool_body(http_socket& sock, int fd, std::uint64_t max_bytes);

} // namespace agentrt::runtime::files

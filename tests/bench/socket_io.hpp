// Blocking socket helpers shared by the bench's HTTP server and its bare clients.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <string>

namespace agentrt::bench {

// Sends everything (retrying short writes and EINTR); false when the peer is gone.
inline bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

inline bool send_all(int fd, const std::string& s) {
  return send_all(fd, s.data(), s.size());
}

} // namespace agentrt::bench

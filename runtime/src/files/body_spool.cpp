// The body-to-file copy loop.
#include "files/body_spool.hpp"

#include <unistd.h>

#include <cerrno>
#include <vector>

namespace agentrt::runtime::files {

spool_result spool_body(http_socket& sock, int fd, std::uint64_t max_bytes) {
  // 256 KiB: large enough that a 1 GiB body takes few system calls, small enough to be per
  // connection.
  std::vector<char> buf(256 * 1024);
  spool_result r;
  for (;;) {
    const ssize_t n = sock.read_body(buf.data(), buf.size());
    if (n == 0)
      return r;
    if (n < 0) {
      r.what = spool_result::outcome::peer_gone;
      return r;
    }
    if (r.bytes + static_cast<std::uint64_t>(n) > max_bytes) {
      r.what = spool_result::outcome::too_large;
      return r;
    }
    for (std::size_t off = 0; off < static_cast<std::size_t>(n);) {
      const ssize_t w = ::write(fd, buf.data() + off, static_cast<std::size_t>(n) - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0) {
        r.what = spool_result::outcome::write_failed;
        r.err = errno;
        return r;
      }
      off += static_cast<std::size_t>(w);
    }
    r.bytes += static_cast<std::uint64_t>(n);
  }
}

} // namespace agentrt::runtime::files

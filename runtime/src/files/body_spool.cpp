// The body-to-file copy loop.
#include "files/body_spool.hpp"

#include <unistd.h>

#include <cerrno>
#include <vector>

#include "files/files_errc.hpp"

namespace agentrt::runtime::files {

protocol::result<std::uint64_t> spool_body(http_socket& sock, int fd, std::uint64_t max_bytes) {
  // 256 KiB: large enough that a 1 GiB body takes few system calls, small enough to be per
  // connection.
  std::vector<char> buf(256 * 1024);
  std::uint64_t bytes = 0;
  for (;;) {
    const ssize_t n = sock.read_body(buf.data(), buf.size());
    if (n == 0)
      return bytes;
    if (n < 0)
      return std::make_error_code(std::errc::connection_aborted);
    if (bytes + static_cast<std::uint64_t>(n) > max_bytes)
      return files_errc::too_large;
    for (std::size_t off = 0; off < static_cast<std::size_t>(n);) {
      const ssize_t w = ::write(fd, buf.data() + off, static_cast<std::size_t>(n) - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return std::error_code(errno, std::generic_category());
      off += static_cast<std::size_t>(w);
    }
    bytes += static_cast<std::uint64_t>(n);
  }
}

} // namespace agentrt::runtime::files

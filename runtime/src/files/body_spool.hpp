// A request body copied into a file descriptor in fixed-size chunks: the streamed part of a file
// write and of a tar upload.
#pragma once

#include <cstdint>

#include "agentrt/protocol/result.hpp"
#include "files/http_socket.hpp"

namespace agentrt::runtime::files {

// Until the end of the body: the body bytes written, or a failure whose code says which:
//   - std::errc::connection_aborted: the peer closed early, timed out or broke the chunked
//     framing (nothing to answer, as for http_socket::read_head);
//   - files_errc::too_large: the body is longer than max_bytes (nothing beyond is written);
//   - the errno of the failed write(2), in std::generic_category() (never ECONNABORTED: fd is
//     a file).
// The caller words the answer (the file's name, the limit's flag), so the failures carry no text.
protocol::result<std::uint64_t> spool_body(http_socket& sock, int fd, std::uint64_t max_bytes);

} // namespace agentrt::runtime::files

// What kind of failure ended a download or upload, so the caller can tell a refused request, a
// local disk problem, a network failure and the remote's answer apart without parsing text.
#pragma once

namespace agentrt::runtime::transfer {

enum class transfer_failure {
  none,
  refused,     // rejected before any I/O: bad scheme, unsafe file name, bad header value; or a
               // local file that is not a regular file reached without symlinks
  local_io,    // our side: creating the directory, opening, reading or writing a file
  transport,   // curl failed: connect, timeout, reset, TLS, too many redirects
  http_status, // the server answered with a non-2xx status
  too_large,   // a download's body exceeded transfer_options::download_max_bytes
  cancelled,
};

} // namespace agentrt::runtime::transfer

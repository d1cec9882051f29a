// The errors of the files API (docs/protocol.md, "Files API"): an HTTP status, a stable code a
// program can switch on, and a message for a person; sent as a JSON body.
#pragma once

#include <string>
#include <string_view>

namespace agentrt::runtime::files {

struct files_error {
  int status = 500;
  std::string code;    // "not_found", "is_a_directory", "permission_denied", "disk_full", ...
  std::string message; // names the path and what went wrong

  std::string json() const;
};

files_error make_error(int status, std::string code, std::string message);
// 400 bad_request: a malformed request (missing parameter, bad mode, bad header).
files_error bad_request(std::string message);
// 403 path_refused: a path the API does not touch (relative, "..", a symlink on a write, outside
// --files-root, not a regular file).
files_error path_refused(std::string_view path, std::string_view why);
// An errno from a file-system call on path: ENOENT/ENOTDIR 404 not_found, EISDIR 409
// is_a_directory, EACCES/EPERM/EROFS 403 permission_denied, ENOSPC/EDQUOT 507 disk_full, EFBIG
// 413 too_large, EEXIST 409 exists, ENOTEMPTY 409 not_empty, ELOOP/EXDEV 403 path_refused,
// anything else 500 io_error.
files_error from_errno(int err, std::string_view path);

std::string_view reason_phrase(int status) noexcept;

} // namespace agentrt::runtime::files

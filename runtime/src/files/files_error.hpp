// The errors of the files API (docs/protocol.md, "Files API"): a protocol::error whose code is a
// files_errc (a stable code a program can switch on, with its HTTP status) and whose text is the
// message for a person (it names the path and what went wrong); sent as a JSON body.
#pragma once

#include <string>
#include <string_view>

#include "agentrt/protocol/result.hpp"
#include "files/files_errc.hpp"

namespace agentrt::runtime::files {

using files_error = protocol::error;

// {"error":<wire code>,"message":<text>,"status":<HTTP status>}
std::string error_json(const files_error& e);

files_error make_error(files_errc code, std::string message);
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

// The files API's error codes (docs/protocol.md, "Files API"): a std::error_code category whose
// codes are the "error" values of the JSON error body, each with its HTTP status.
#pragma once

#include <system_error>

namespace agentrt::runtime::files {

enum class files_errc {
  bad_request = 1,       // 400: a malformed request (missing parameter, bad mode, bad header)
  unauthorized,          // 401
  path_refused,          // 403: a path the API does not touch
  permission_denied,     // 403
  not_found,             // 404
  unknown_endpoint,      // 404
  method_not_allowed,    // 405
  is_a_directory,        // 409
  not_a_directory,       // 409
  exists,                // 409
  not_empty,             // 409
  too_large,             // 413
  range_not_satisfiable, // 416
  archive_refused,       // 422
  head_too_large,        // 431
  bad_archive,           // 400
  io_error,              // 500
  not_implemented,       // 501
  busy,                  // 503
  disk_full,             // 507
};

const std::error_category& files_category() noexcept;

inline std::error_code make_error_code(files_errc e) noexcept {
  return {static_cast<int>(e), files_category()};
}

// The body's "error" value ("not_found", ...); "io_error" for an error of another category.
const char* wire_code(const std::error_code& e) noexcept;
// The HTTP status of e; 500 for an error of another category.
int http_status(const std::error_code& e) noexcept;

} // namespace agentrt::runtime::files

template <> struct std::is_error_code_enum<agentrt::runtime::files::files_errc> : true_type {};

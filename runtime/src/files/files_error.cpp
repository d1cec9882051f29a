// errno to HTTP status mapping and the JSON error body.
#include "files/files_error.hpp"

#include "agentrt/protocol/json_builder.hpp"

#include <cerrno>
#include <cstring>

namespace agentrt::runtime::files {

std::string error_json(const files_error& e) {
  return protocol::json_builder()
      .add("error", wire_code(e.code))
      .add("message", e.text)
      .add("status", http_status(e.code))
      .str();
}

files_error make_error(files_errc code, std::string message) {
  return files_error{code, std::move(message)};
}

files_error bad_request(std::string message) {
  return make_error(files_errc::bad_request, std::move(message));
}

files_error path_refused(std::string_view path, std::string_view why) {
  return make_error(files_errc::path_refused,
                    "path refused: " + std::string(path) + ": " + std::string(why));
}

files_error from_errno(int err, std::string_view path) {
  const std::string p(path);
  const std::string text = std::strerror(err);
  switch (err) {
  case ENOENT:
  case ENOTDIR:
    return make_error(files_errc::not_found, "not found: " + p + " (" + text + ")");
  case EISDIR:
    return make_error(files_errc::is_a_directory, "is a directory: " + p);
  case EACCES:
  case EPERM:
  case EROFS:
    return make_error(files_errc::permission_denied, "permission denied: " + p + " (" + text + ")");
  case ENOSPC:
  case EDQUOT:
    return make_error(files_errc::disk_full, "disk full while writing " + p + " (" + text + ")");
  case EFBIG:
    return make_error(files_errc::too_large, "too large: " + p + " (" + text + ")");
  case EEXIST:
    return make_error(files_errc::exists, "already exists: " + p);
  case ENOTEMPTY:
    return make_error(files_errc::not_empty, "directory not empty: " + p);
  case ELOOP:
    return path_refused(p, "leads through a symbolic link");
  case EXDEV:
    return path_refused(p, "leads outside --files-root");
  default:
    return make_error(files_errc::io_error, p + ": " + text);
  }
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
  case 100:
    return "Continue";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 206:
    return "Partial Content";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 409:
    return "Conflict";
  case 411:
    return "Length Required";
  case 413:
    return "Content Too Large";
  case 416:
    return "Range Not Satisfiable";
  case 422:
    return "Unprocessable Content";
  case 431:
    return "Request Header Fields Too Large";
  case 501:
    return "Not Implemented";
  case 503:
    return "Service Unavailable";
  case 507:
    return "Insufficient Storage";
  default:
    return status < 500 ? "Client Error" : "Server Error";
  }
}

} // namespace agentrt::runtime::files

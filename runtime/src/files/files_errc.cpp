// The files API's error category (see files_errc.hpp).
#include "files/files_errc.hpp"

#include <iterator>
#include <string>

namespace agentrt::runtime::files {
namespace {

struct entry {
  const char* code;
  int status;
  const char* text;
};

constexpr entry entries[] = {
    {"", 0, ""},
    {"bad_request", 400, "malformed request"},
    {"unauthorized", 401, "missing or wrong token"},
    {"path_refused", 403, "path refused"},
    {"permission_denied", 403, "permission denied"},
    {"not_found", 404, "not found"},
    {"unknown_endpoint", 404, "unknown endpoint"},
    {"method_not_allowed", 405, "method not allowed"},
    {"is_a_directory", 409, "is a directory"},
    {"not_a_directory", 409, "not a directory"},
    {"exists", 409, "already exists"},
    {"not_empty", 409, "directory not empty"},
    {"too_large", 413, "too large"},
    {"range_not_satisfiable", 416, "range not satisfiable"},
    {"archive_refused", 422, "archive refused"},
    {"head_too_large", 431, "request head too large"},
    {"bad_archive", 400, "not a readable archive"},
    {"io_error", 500, "I/O error"},
    {"not_implemented", 501, "not implemented"},
    {"busy", 503, "too many connections"},
    {"disk_full", 507, "disk full"},
};

const entry* find(const std::error_code& e) noexcept;

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "files"; }
  std::string message(int value) const override {
    if (value <= 0 || value >= static_cast<int>(std::size(entries)))
      return "unknown files API error " + std::to_string(value);
    return entries[value].text;
  }
};

const entry* find(const std::error_code& e) noexcept {
  if (e.category() != files_category() || e.value() <= 0 ||
      e.value() >= static_cast<int>(std::size(entries))) {
    return nullptr;
  }
  return &entries[e.value()];
}

} // namespace

const std::error_category& files_category() noexcept {
  static const category instance;
  return instance;
}

const char* wire_code(const std::error_code& e) noexcept {
  const entry* found = find(e);
  return found ? found->code : "io_error";
}

int http_status(const std::error_code& e) noexcept {
  const entry* found = find(e);
  return found ? found->status : 500;
}

} // namespace agentrt::runtime::files

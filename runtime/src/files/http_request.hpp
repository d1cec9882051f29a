// The head of one HTTP/1.1 request to the files API: method, path, decoded query parameters and
// headers. Parsed from at most max_head_bytes, so a hostile peer cannot make it grow.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "agentrt/protocol/result.hpp"

namespace agentrt::runtime::files {

inline constexpr std::size_t max_head_bytes = 16 * 1024;

struct http_request {
  std::string method;
  std::string target;                         // as sent: path and query
  std::string path;                           // the target up to '?'
  std::map<std::string, std::string> query;   // percent-decoded; the first of repeated names
  std::map<std::string, std::string> headers; // names lower-cased; repeated ones joined by ","

  std::optional<std::string> param(const std::string& name) const;
  // The header's value, "" when absent.
  std::string header(const std::string& lower_name) const;
  // Query flags such as recursive=1: "1", "true" and "yes" are true.
  bool flag(const std::string& name) const;
};

// Parses head (request line and header lines, CRLF or LF, without the blank line). A malformed
// head is protocol::errc::invalid_value with what is wrong as the text.
protocol::result<http_request> parse_request_head(std::string_view head);

} // namespace agentrt::runtime::files

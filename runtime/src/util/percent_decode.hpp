// Percent-decoding for the places that read URL parts: the upgrade's query string, file://
// paths, and JSON Pointer fragments in schemas.
#pragma once

#include <string>
#include <string_view>

namespace agentrt::runtime::util {

// The value of one hexadecimal digit, -1 for anything else.
constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// %XX decoded; invalid escapes ("100%", "%zz") stay literal, as curl sends them unchanged.
// plus_is_space: '+' means ' ' (form-encoded query strings), not in paths.
inline std::string percent_decode(std::string_view s, bool plus_is_space = false) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

} // namespace agentrt::runtime::util

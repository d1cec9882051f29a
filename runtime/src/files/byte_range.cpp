// Range header parsing for GET /files.
#include "files/byte_range.hpp"

#include <algorithm>
#include <optional>

namespace agentrt::runtime::files {
namespace {

std::optional<std::uint64_t> number(std::string_view s) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s)
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  return v;
}

} // namespace

byte_range parse_byte_range(std::string_view header, std::uint64_t size) {
  byte_range whole{byte_range::kind::whole, 0, size};
  constexpr std::string_view unit = "bytes=";
  if (header.substr(0, unit.size()) != unit)
    return whole;
  header.remove_prefix(unit.size());
  while (!header.empty() && header.front() == ' ')
    header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ')
    header.remove_suffix(1);
  if (header.find(',') != std::string_view::npos)
    return whole;
  const auto dash = header.find('-');
  if (dash == std::string_view::npos)
    return whole;
  const auto first = number(header.substr(0, dash));
  const auto last = number(header.substr(dash + 1));
  byte_range r;
  r.k = byte_range::kind::partial;
  if (!first) {
    if (!last || !header.substr(0, dash).empty())
      return whole;
    if (*last == 0 || size == 0)
      return {byte_range::kind::unsatisfiable, 0, 0};
    r.length = std::min(*last, size);
    r.first = size - r.length;
    return r;
  }
  if (!header.substr(dash + 1).empty() && (!last || *last < *first))
    return whole;
  if (*first >= size)
    return {byte_range::kind::unsatisfiable, 0, 0};
  r.first = *first;
  const std::uint64_t end = last ? std::min(*last, size - 1) : size - 1;
  r.length = end - r.first + 1;
  return r;
}

} // namespace agentrt::runtime::files

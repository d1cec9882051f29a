// Userinfo redaction for URLs shown to people.
#include "util/url_text.hpp"

#include <algorithm>
#include <optional>
#include <utility>

namespace agentrt::runtime::util {

namespace {

constexpr std::size_t min_hidden_password = 4;

// The userinfo's position in url as [begin, end), end being its '@'.
std::optional<std::pair<std::size_t, std::size_t>> userinfo_span(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return std::nullopt;
  const std::size_t authority = scheme_end + 3;
  // The authority ends at the path, query or fragment (RFC 3986 3.2). A backslash ends it too
  // in browsers' parsing, and hiding a little more than needed is the safe side.
  const std::size_t authority_end = std::min(url.find_first_of("/?#\\", authority), url.size());
  // The last '@': an unencoded '@' in a password is invalid but seen in the wild, and
  // everything before the host's own '@' is secret either way.
  const auto at = url.substr(0, authority_end).rfind('@');
  if (at == std::string_view::npos || at < authority)
    return std::nullopt;
  return std::make_pair(authority, at);
}

void replace_all(std::string& text, std::string_view what, std::string_view with) {
  if (what.empty())
    return;
  for (auto pos = text.find(what); pos != std::string::npos;
       pos = text.find(what, pos + with.size())) {
    text.replace(pos, what.size(), with);
  }
}

} // namespace

std::string redact_url_userinfo(std::string_view url) {
  const auto span = userinfo_span(url);
  if (!span)
    return std::string(url);
  std::string out(url.substr(0, span->first));
  out += "***";
  out += url.substr(span->second);
  return out;
}

std::string hide_url_userinfo(std::string text, std::string_view url) {
  const auto span = userinfo_span(url);
  if (!span)
    return text;
  const std::string_view userinfo = url.substr(span->first, span->second - span->first);
  replace_all(text, userinfo, "***");
  // The password on its own too, unless so short that replacing it would garble the text.
  if (const auto colon = userinfo.find(':');
      colon != std::string_view::npos && userinfo.size() - colon - 1 >= min_hidden_password) {
    replace_all(text, userinfo.substr(colon + 1), "***");
  }
  return text;
}

} // namespace agentrt::runtime::util

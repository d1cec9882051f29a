// A small, strict HTTP/1.1 request-head parser (RFC 9112 request line and field lines).
#include "files/http_request.hpp"

#include "agentrt/protocol/errc.hpp"

#include <algorithm>
#include <cctype>

#include "util/percent_decode.hpp"

namespace agentrt::runtime::files {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void parse_query(std::string_view query, std::map<std::string, std::string>& out) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    std::string name = util::percent_decode(pair.substr(0, eq), /*plus_is_space=*/true);
    std::string value = eq == std::string_view::npos
                            ? std::string()
                            : util::percent_decode(pair.substr(eq + 1), /*plus_is_space=*/true);
    if (!name.empty())
      out.emplace(std::move(name), std::move(value));
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
}

} // namespace

std::optional<std::string> http_request::param(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end())
    return std::nullopt;
  return it->second;
}

std::string http_request::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

bool http_request::flag(const std::string& name) const {
  const auto v = param(name);
  return v && (*v == "1" || *v == "true" || *v == "yes");
}

protocol::result<http_request> parse_request_head(std::string_view head) {
  http_request out;
  auto eol = head.find('\n');
  std::string_view line = trim(head.substr(0, eol));
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    return {protocol::errc::invalid_value, "malformed request line"};
  }
  out.method = std::string(line.substr(0, sp1));
  out.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  const std::string_view version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return {protocol::errc::invalid_value, "unsupported HTTP version"};
  }
  if (out.target.empty() || out.target.front() != '/') {
    return {protocol::errc::invalid_value, "the request target must be a path"};
  }
  const auto q = out.target.find('?');
  out.path = out.target.substr(0, q);
  if (q != std::string::npos)
    parse_query(std::string_view(out.target).substr(q + 1), out.query);
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 1);
    eol = head.find('\n');
    const std::string_view field = trim(head.substr(0, eol));
    if (field.empty())
      continue;
    const auto colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return {protocol::errc::invalid_value, "malformed header line"};
    }
    std::string name = lower(field.substr(0, colon));
    const std::string value(trim(field.substr(colon + 1)));
    auto [it, added] = out.headers.emplace(std::move(name), value);
    if (!added)
      it->second += "," + value;
  }
  return out;
}

} // namespace agentrt::runtime::files

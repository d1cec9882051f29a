// URLs as they may be shown to people (error texts, metadata, logs): a URL can carry a
// password in its userinfo ("http://user:pass@host/..."), which must never be echoed back.
#pragma once

#include <string>
#include <string_view>

namespace agentrt::runtime::util {

// url with its userinfo (everything in the authority up to its last '@') replaced by "***":
// "http://user:pass@host/x" -> "http://***@host/x". Anything without "://", or without an '@'
// before the path, comes back unchanged.
std::string redact_url_userinfo(std::string_view url);

// text with url's userinfo, and the password in it, replaced by "***" wherever they occur: for
// messages from libraries (curl's error buffer) that may quote parts of the URL.
std::string hide_url_userinfo(std::string text, std::string_view url);

} // namespace agentrt::runtime::util

// Handle text forms (see session_handle_text.hpp), through RapidJSON so that any URL or id
// survives the round trip.
#include "session_handle_text.hpp"

#include "agentrt/protocol/errc.hpp"

#include <cstdlib>
#include <sstream>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace agentrt::cli {

namespace {

bool read_string(const rapidjson::Value& doc, const char* name, std::string& out) {
  auto it = doc.FindMember(name);
  if (it == doc.MemberEnd() || !it->value.IsString())
    return false;
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return true;
}

std::optional<std::uint64_t> parse_seq(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 19)
    return std::nullopt;
  return std::stoull(s);
}

} // namespace

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string handle_json(const client::session_handle& h) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("message_type");
  w.String("session_handle");
  w.Key("url");
  w.String(h.url.c_str(), static_cast<rapidjson::SizeType>(h.url.size()));
  w.Key("session_id");
  w.String(h.session_id.c_str(), static_cast<rapidjson::SizeType>(h.session_id.size()));
  w.Key("resume_token");
  w.String(h.resume_token.c_str(), static_cast<rapidjson::SizeType>(h.resume_token.size()));
  if (h.last_seq != 0) {
    w.Key("last_seq");
    w.Uint64(h.last_seq);
  }
  w.Key("expires_in_s");
  w.Double(h.expires_in_s);
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string handle_shell(const client::session_handle& h) {
  std::string s = "export AGENTRT_URL=" + shell_quote(h.url) +
                  " AGENTRT_SESSION=" + shell_quote(h.session_id) +
                  " AGENTRT_RESUME_TOKEN=" + shell_quote(h.resume_token);
  if (h.last_seq != 0)
    s += " AGENTRT_LAST_SEQ=" + std::to_string(h.last_seq);
  return s;
}

protocol::result<client::session_handle> parse_handle(const std::string& text) {
  // The JSON line of --detach's output, or the text itself.
  std::string json = text;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto brace = line.find('{');
    if (brace != std::string::npos && line.find_first_not_of("# \t") == brace) {
      json = line.substr(brace);
      break;
    }
  }
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  if (doc.HasParseError() || !doc.IsObject())
    return {protocol::errc::not_an_object,
            "the handle is not a JSON object (give the output of --detach, or set "
            "AGENTRT_URL, AGENTRT_SESSION and AGENTRT_RESUME_TOKEN)"};
  client::session_handle h;
  if (!read_string(doc, "url", h.url) || !read_string(doc, "session_id", h.session_id) ||
      !read_string(doc, "resume_token", h.resume_token))
    return {protocol::errc::missing_field,
            "the handle needs the strings url, session_id and resume_token"};
  if (auto it = doc.FindMember("last_seq"); it != doc.MemberEnd()) {
    if (!it->value.IsUint64())
      return {protocol::errc::wrong_type, "the handle's last_seq must be a non-negative integer"};
    h.last_seq = it->value.GetUint64();
  }
  if (auto it = doc.FindMember("expires_in_s"); it != doc.MemberEnd() && it->value.IsNumber())
    h.expires_in_s = it->value.GetDouble();
  return h;
}

protocol::result<client::session_handle> handle_from_env() {
  client::session_handle h;
  const char* url = std::getenv("AGENTRT_URL");
  const char* id = std::getenv("AGENTRT_SESSION");
  const char* token = std::getenv("AGENTRT_RESUME_TOKEN");
  if (!url || !*url || !id || !*id || !token || !*token)
    return {protocol::errc::missing_field,
            "attach needs a handle: the output of --detach as its argument, or AGENTRT_URL, "
            "AGENTRT_SESSION and AGENTRT_RESUME_TOKEN in the environment"};
  h.url = url;
  h.session_id = id;
  h.resume_token = token;
  if (const char* seq = std::getenv("AGENTRT_LAST_SEQ"); seq && *seq) {
    auto n = parse_seq(seq);
    if (!n)
      return {protocol::errc::invalid_value, "AGENTRT_LAST_SEQ must be a non-negative integer"};
    h.last_seq = *n;
  }
  return h;
}

protocol::result<client::session_handle> handle_from(const std::optional<std::string>& text) {
  return text ? parse_handle(*text) : handle_from_env();
}

} // namespace agentrt::cli

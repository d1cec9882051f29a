// Internal RapidJSON helpers shared by the codec and redact_message. Kept out of the public
// headers: client code must compile without RapidJSON.
#pragma once

#include <string>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/error/error.h>

namespace agentrt::protocol::detail {

// Parse flags for everything read off the wire: frames must be UTF-8 (they travel in WebSocket
// text frames), and numbers keep full precision so that they re-encode unchanged.
inline constexpr unsigned parse_flags =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseFullPrecisionFlag;
// For text already known to be UTF-8: RapidJSON's own check costs more than the rest of the
// parse (it decodes every byte of every string).
inline constexpr unsigned checked_utf8_parse_flags = rapidjson::kParseFullPrecisionFlag;

// "string", "number", "boolean", "object", "array" or "null".
const char* json_type_name(const rapidjson::Value& v) noexcept;

// Compact serialization of a value.
std::string to_json(const rapidjson::Value& v);

// What parse_json found. Converts to true only for a document that parsed.
struct json_parse_result {
  enum class outcome { ok, too_deep, malformed };
  outcome result = outcome::ok;
  rapidjson::ParseResult error; // the parser's code and offset when malformed

  explicit operator bool() const noexcept { return result == outcome::ok; }
};

// Parses text with parse_flags. too_deep when it nests deeper than max_json_depth
// (json_depth.hpp), which the recursive parser and every walk over the result could not
// survive: the parser stops at that depth. The outcome is exactly json_nesting_exceeds'
// verdict first, then the parse's, without scanning good text twice.
json_parse_result parse_json(std::string_view text, rapidjson::Document& doc);

// The same for a WebSocket text frame as websocketpp delivers it: websocketpp has checked that
// it is UTF-8 (it fails the connection otherwise), so that check, which costs more than the
// rest of the parse, is not repeated. Results are identical to parse_json's for UTF-8 text.
// The document's strings point into scratch, which must outlive it.
json_parse_result parse_checked_utf8_json(const std::string& text, std::string& scratch,
                                          rapidjson::Document& doc);

// Appends s to out as a JSON string literal, quotes included, escaped exactly as RapidJSON's
// Writer does ('"', '\\', \b \f \n \r \t, other control characters as \u00XX; nothing else).
// Invalid UTF-8 becomes U+FFFD first (text frames must be UTF-8 and are sent without
// websocketpp checking them again), so the result is always valid UTF-8.
void append_json_string(std::string& out, std::string_view s);

} // namespace agentrt::protocol::detail

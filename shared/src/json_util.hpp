// Internal RapidJSON helpers shared by the codec and redact_message. Kept out of the public
// headers: client code must compile without RapidJSON.
#pragma once

#include <string>
#include <string_view>

#include <rapidjson/document.h>

namespace agentrt::protocol::detail {

// Parse flags for everything read off the wire: frames must be UTF-8 (they travel in WebSocket
// text frames), and numbers keep full precision so that they re-encode unchanged.
inline constexpr unsigned parse_flags =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseFullPrecisionFlag;

// "string", "number", "boolean", "object", "array" or "null".
const char* json_type_name(const rapidjson::Value& v) noexcept;

// Compact serialization of a value.
std::string to_json(const rapidjson::Value& v);

// Parses text with parse_flags; false if it is not valid JSON or nests deeper than
// max_json_depth (json_depth.hpp), which the recursive parser could not survive.
bool parse_json(std::string_view text, rapidjson::Document& doc);

} // namespace agentrt::protocol::detail

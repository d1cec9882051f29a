// Small RapidJSON helpers shared by the harness adapters, which read many loosely specified
// event objects where a missing or mistyped field must simply count as absent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

namespace agentrt::runtime::harness::json {

// Parses UTF-8 JSON with full number precision; false when it is not JSON or nests deeper
// than protocol::max_json_depth.
bool parse(std::string_view text, rapidjson::Document& doc);
std::string dump(const rapidjson::Value& v);

const rapidjson::Value* member(const rapidjson::Value& obj, const char* key);
// The member's string, or "" when absent or not a string.
std::string string_or_empty(const rapidjson::Value& obj, const char* key);
std::optional<std::string> string_member(const rapidjson::Value& obj, const char* key);
std::optional<double> number_member(const rapidjson::Value& obj, const char* key);
// A token count: the member as a non-negative int64 (an integer as it is, a fraction truncated);
// nullopt when absent, not a number, negative, or beyond int64 (casting such a double is
// undefined behaviour; tests/fuzz found it).
std::optional<std::int64_t> token_count(const rapidjson::Value& obj, const char* key);
// total += n for non-negative counts summed over turns or steps, stopping at the int64 maximum
// instead of overflowing.
void add_tokens(std::int64_t& total, std::int64_t n) noexcept;
bool bool_member(const rapidjson::Value& obj, const char* key, bool fallback = false);
// Text of a value that may be a string (as is) or anything else (its JSON).
std::string text_of(const rapidjson::Value& v);

} // namespace agentrt::runtime::harness::json

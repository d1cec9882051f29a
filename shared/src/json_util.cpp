// RapidJSON helpers shared by the codec and redact_message.
#include "json_util.hpp"

#include "agentrt/protocol/json_depth.hpp"
#include "agentrt/protocol/json_numbers.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace agentrt::protocol::detail {

const char* json_type_name(const rapidjson::Value& v) noexcept {
  switch (v.GetType()) {
  case rapidjson::kNullType:
    return "null";
  case rapidjson::kFalseType:
  case rapidjson::kTrueType:
    return "boolean";
  case rapidjson::kObjectType:
    return "object";
  case rapidjson::kArrayType:
    return "array";
  case rapidjson::kStringType:
    return "string";
  case rapidjson::kNumberType:
    return "number";
  }
  return "unknown";
}

std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

bool parse_json(std::string_view text, rapidjson::Document& doc) {
  if (json_nesting_exceeds(text)) {
    doc.SetNull();
    return false;
  }
  const json_number_check check = check_json_numbers(text);
  if (check.verdict == json_number_verdict::refuse) {
    // A copy with the number's first byte spoiled, so that RapidJSON reports the number as an
    // invalid value at its offset and never parses it. The numbers before it may need normal
    // precision: the check stopped looking at the refused one.
    std::string spoiled(text);
    spoiled[check.offset] = '?';
    doc.Parse<parse_flags & ~rapidjson::kParseFullPrecisionFlag>(spoiled.data(), spoiled.size());
  } else if (check.verdict == json_number_verdict::normal_precision) {
    doc.Parse<parse_flags & ~rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
  } else {
    doc.Parse<parse_flags>(text.data(), text.size());
  }
  return !doc.HasParseError();
}

} // namespace agentrt::protocol::detail

namespace agentrt::protocol {
namespace {

// Whether the significant digits (a '.' may be among them) spell more than `limit` does, both
// read as 0.d1d2d3...
bool exceeds(std::string_view significant, std::string_view limit) noexcept {
  std::size_t k = 0;
  for (const char d : significant) {
    if (d == '.')
      continue;
    if (k < limit.size() && d != limit[k])
      return d > limit[k];
    if (k == limit.size() && d != '0')
      return true; // the limit's digits, then more that are not all zeros
    k = std::min(k + 1, limit.size());
  }
  return false;
}

} // namespace

json_number_check check_json_numbers(std::string_view text) noexcept {
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  constexpr std::int64_t exponent_cap = 1'000'000'000'000; // saturates: no overflow below
  // DBL_MAX's leading digits (1.7976931348623157e308).
  constexpr std::string_view max_digits = "17976931348623157";
  json_number_check result;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i; // an escaped '"' does not end the string
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c != '-' && !digit(c))
      continue;

    // One number: [-] int [. frac] [e [+-] exp], measured the way RapidJSON will read it.
    const std::size_t start = i;
    std::size_t j = i + (c == '-' ? 1 : 0);
    std::int64_t int_digits = 0, frac_digits = 0, leading_zeros = 0, exponent = 0;
    bool has_exponent = false, negative_exponent = false;
    std::string_view significant;  // from the first non-zero digit on (may span the point)
    std::size_t significant_start = std::string_view::npos;
    const auto significand_digit = [&](std::size_t at) {
      if (significant_start == std::string_view::npos) {
        if (text[at] == '0')
          ++leading_zeros;
        else
          significant_start = at;
      }
    };
    for (; j < text.size() && digit(text[j]); ++j, ++int_digits)
      significand_digit(j);
    if (j < text.size() && text[j] == '.') {
      for (++j; j < text.size() && digit(text[j]); ++j, ++frac_digits)
        significand_digit(j);
    }
    if (significant_start != std::string_view::npos)
      significant = text.substr(significant_start, j - significant_start);
    if (j < text.size() && (text[j] == 'e' || text[j] == 'E')) {
      has_exponent = true;
      if (++j < text.size() && (text[j] == '+' || text[j] == '-'))
        negative_exponent = text[j++] == '-';
      for (; j < text.size() && digit(text[j]); ++j)
        exponent = std::min(exponent * 10 + (text[j] - '0'), exponent_cap);
    }
    i = j - 1; // text[j] is not part of the number; the loop looks at it next

    // exponent + fraction length must fit RapidJSON's int.
    if (negative_exponent &&
        exponent + frac_digits >= std::numeric_limits<int>::max() - 16) {
      return {json_number_verdict::refuse, start};
    }
    if (significant.empty()) {
      // Zero: the fast path covers short spellings without an exponent ("0", "0.00").
      if (has_exponent || int_digits + frac_digits > 15)
        result.verdict = json_number_verdict::normal_precision;
      continue;
    }
    // The decimal exponent of the first significant digit: 1e-300 is -299, DBL_MAX 309.
    const std::int64_t magnitude =
        int_digits - leading_zeros + (negative_exponent ? -exponent : exponent);
    if (magnitude <= -323) {
      // From the smallest subnormals down (4.9e-324, 1e-324) full precision gives NaN or
      // reads out of bounds; the normal parser gives 0 or a subnormal.
      result.verdict = json_number_verdict::normal_precision;
    } else if (magnitude > 309 || (magnitude == 309 && exceeds(significant, max_digits))) {
      // Beyond DBL_MAX: RapidJSON refuses "1e309" itself, but not "1000e306", which full
      // precision turns into garbage or a crash.
      return {json_number_verdict::refuse, start};
    }
  }
  return result;
}

} // namespace agentrt::protocol

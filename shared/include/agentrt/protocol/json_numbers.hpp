// A guard against number-parsing bugs of RapidJSON 1.1.0 (Debian 12's rapidjson-dev) that every
// JSON reader of agentrt would otherwise inherit, found by tests/fuzz. With
// kParseFullPrecisionFlag, RapidJSON
//   - reads an all-zero significand it cannot take the fast path for ("0e40", "0.000…0" with
//     more than 22 zeros) through DiyFp::Normalize, which calls clz(0): undefined behaviour,
//     and garbage such as -2.4e229 for "0e40";
//   - indexes its cached-powers table out of bounds for numbers below about 1e-330 that it
//     does not reject as underflow first ("0.<400 zeros>1", "0.0777…<84 digits>e-400"): a
//     segmentation fault, i.e. any peer could crash the runtime or the client with one frame;
//     and gives NaN for some numbers at the bottom of the subnormal range ("1e-324");
//   - wraps the significand of numbers whose digits start with 2^64 - 1's and go on with a
//     5 or more ("0.1844674407370955161599") to 0 when it rounds: clz(0) again, and a wrong
//     value;
//   - turns numbers beyond DBL_MAX that its own "too big" check misses ("1000e306") into
//     garbage, NaN or a crash.
// With or without the flag it adds a negative exponent and the fraction's length in an int,
// which overflows for exponents near -2^31 (CVE-2024-38517).
// Its normal-precision parser reads the first three kinds as 0, a subnormal or the nearest
// double (within an ulp or so), so a reader parses such text without the flag; the last two
// kinds are refused, as RapidJSON refuses "1e309".
#pragma once

#include <cstddef>
#include <string_view>

namespace agentrt::protocol {

enum class json_number_verdict {
  full_precision,   // every number is safe for kParseFullPrecisionFlag
  normal_precision, // some number is not: parse without kParseFullPrecisionFlag
  refuse,           // some number cannot be parsed safely at all: treat as malformed JSON
};

struct json_number_check {
  json_number_verdict verdict = json_number_verdict::full_precision;
  std::size_t offset = 0; // where the refused number starts
};

// Looks at every number outside strings in json_text; invalid JSON is fine (RapidJSON then
// reports it). One linear pass.
json_number_check check_json_numbers(std::string_view json_text) noexcept;

} // namespace agentrt::protocol

// RapidJSON helpers shared by the codec and redact_message, and the string escaper the encoder
// writes every string with (command output is most of what the runtime sends, so this loop
// and the parse of the same text on the client are the hot paths of streaming).
#include "json_util.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "agentrt/protocol/json_depth.hpp"
#include "agentrt/protocol/json_numbers.hpp"
#include "utf8.hpp"

namespace agentrt::protocol::detail {
namespace {

// Builds the document while counting open arrays and objects, and stops the parser (which
// recurses once per level) as soon as one more would exceed max_json_depth.
class depth_limited_builder {
public:
  explicit depth_limited_builder(rapidjson::Document& doc) : doc_(doc) {}

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(std::int64_t i) { return doc_.Int64(i); }
  bool Uint64(std::uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return doc_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return doc_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return doc_.Key(s, n, copy); }
  bool StartObject() { return open() && doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType members) {
    --depth_;
    return doc_.EndObject(members);
  }
  bool StartArray() { return open() && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return doc_.EndArray(elements);
  }

  bool too_deep() const noexcept { return too_deep_; }

private:
  bool open() {
    if (++depth_ > max_json_depth) {
      too_deep_ = true;
      return false;
    }
    return true;
  }

  rapidjson::Document& doc_;
  std::size_t depth_ = 0;
  bool too_deep_ = false;
};

template <unsigned flags, class stream>
json_parse_result parse_from(stream& is, std::string_view text, rapidjson::Document& doc) {
  json_parse_result out;
  depth_limited_builder builder(doc);
  auto generate = [&](rapidjson::Document&) {
    rapidjson::Reader reader;
    out.error = reader.Parse<flags>(is, builder);
    return !out.error.IsError();
  };
  doc.Populate(generate);
  // A NUL ends the text for RapidJSON's streams as the real end does; what follows one is
  // content after the document all the same.
  if (!out.error.IsError() && is.Tell() != text.size())
    out.error.Set(rapidjson::kParseErrorDocumentRootNotSingular, is.Tell());
  if (!out.error.IsError())
    return out;
  doc.SetNull();
  // The nesting verdict comes first, as when the scan ran before the parse: a valid text
  // never exceeds the depth, and the parser stopping at it is exactly the scan's "too deep".
  // Only a malformed text needs the scan to tell which error it has.
  const bool deep = builder.too_deep() || json_nesting_exceeds(text);
  out.result = deep ? json_parse_result::outcome::too_deep : json_parse_result::outcome::malformed;
  return out;
}

// Bytes at the start of [p, p + n) that a JSON string takes as they are: anything but '"',
// '\\' and control characters below 0x20 (bytes from 0x80 up are UTF-8 the caller checked).
std::size_t verbatim_run(const char* p, std::size_t n) noexcept {
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i control_max = _mm_set1_epi8(0x1F);
  for (; i + 16 <= n; i += 16) {
    const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // s <= 0x1F (unsigned) exactly when max(s, 0x1F) == 0x1F.
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(s, quote), _mm_cmpeq_epi8(s, backslash)),
                     _mm_cmpeq_epi8(_mm_max_epu8(s, control_max), control_max));
    const int mask = _mm_movemask_epi8(special);
    if (mask != 0)
      return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#else
  // Eight bytes at a time: a word with no byte below 0x20 and none equal to '"' or '\\'
  // (the classic "has zero byte" tests; they never miss one, and a false alarm only sends
  // the word to the byte loop below).
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  const auto has_zero = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, sizeof w);
    const std::uint64_t below_space = (w - ones * 0x20) & ~w & highs;
    if ((has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\')) | below_space) != 0)
      break;
  }
#endif
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c < 0x20 || c == '"' || c == '\\')
      break;
  }
  return i;
}

void append_escape(std::string& out, unsigned char c) {
  // The two-character forms RapidJSON's Writer uses; every other control character is \u00XX.
  static constexpr std::string_view short_from = "\"\\\b\f\n\r\t";
  static constexpr std::string_view short_to = "\"\\bfnrt";
  static constexpr char hex[] = "0123456789ABCDEF";
  if (const auto k = short_from.find(static_cast<char>(c)); k != std::string_view::npos) {
    const char e[2] = {'\\', short_to[k]};
    out.append(e, sizeof e);
    return;
  }
  const char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
  out.append(e, sizeof e);
}

} // namespace

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

// Every parse screens the numbers first (json_numbers.hpp): RapidJSON's full-precision number
// parser must not see some of them, and none may see a refused one. A refused number's first
// byte is spoiled in a copy, so that RapidJSON reports an invalid value at its offset; the
// numbers before it may need normal precision, since the check stopped at the refused one.
// The bytes go to the reader as they are: RapidJSON's EncodedInputStream would drop a leading
// BOM, and also a lone 0xEF with it (so "\xEF{...}" parsed), which JSON.parse in the
// TypeScript runtime refuses, as decode_text_frame does.
json_parse_result parse_json(std::string_view text, rapidjson::Document& doc) {
  const json_number_check numbers = check_json_numbers(text);
  if (numbers.verdict == json_number_verdict::full_precision) {
    rapidjson::MemoryStream is(text.data(), text.size());
    return parse_from<parse_flags>(is, text, doc);
  }
  std::string spoiled;
  std::string_view input = text;
  if (numbers.verdict == json_number_verdict::refuse) {
    spoiled.assign(text);
    spoiled[numbers.offset] = '?';
    input = spoiled;
  }
  rapidjson::MemoryStream is(input.data(), input.size());
  return parse_from<parse_flags & ~rapidjson::kParseFullPrecisionFlag>(is, input, doc);
}

json_parse_result parse_checked_utf8_json(const std::string& text, std::string& scratch,
                                          rapidjson::Document& doc) {
  // Parsing in place turns RapidJSON's per-byte push onto its own stack into a plain store; the
  // copy into scratch is one memcpy. An embedded NUL stops the stream as the end would, and
  // parse_from checks that the whole text was read. The depth scan for a malformed text reads
  // the original, since the parse has written over scratch.
  const json_number_check numbers = check_json_numbers(text);
  scratch.assign(text);
  rapidjson::InsituStringStream is(scratch.data());
  if (numbers.verdict == json_number_verdict::full_precision)
    return parse_from<checked_utf8_parse_flags | rapidjson::kParseInsituFlag>(is, text, doc);
  if (numbers.verdict == json_number_verdict::refuse)
    scratch[numbers.offset] = '?';
  return parse_from<(checked_utf8_parse_flags & ~rapidjson::kParseFullPrecisionFlag) |
                    rapidjson::kParseInsituFlag>(is, text, doc);
}

void append_json_string(std::string& out, std::string_view s) {
  std::string repaired;
  if (!is_valid_utf8(s)) {
    sanitize_utf8(s, true, repaired);
    s = repaired;
  }
  // Room for the text and a few escapes; the encoder usually reserved the frame already.
  const std::size_t need = out.size() + s.size() + 2;
  if (out.capacity() < need)
    out.reserve(need + s.size() / 16);
  out.push_back('"');
  const char* p = s.data();
  const char* const end = p + s.size();
  while (p != end) {
    const std::size_t run = verbatim_run(p, static_cast<std::size_t>(end - p));
    out.append(p, run);
    p += run;
    if (p == end)
      break;
    append_escape(out, static_cast<unsigned char>(*p++));
  }
  out.push_back('"');
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

// Whether the significant digits (a '.' may be among them) are 2^64 - 1's twenty digits and a
// twenty-first from 5 up: StrtodDiyFp gathers the first digits into a uint64 and rounds it up
// by the next one, which wraps this one significand to 0 (DiyFp::Normalize then runs clz(0)).
bool rounds_uint64_to_zero(std::string_view significant) noexcept {
  constexpr std::string_view uint64_max = "18446744073709551615";
  std::size_t k = 0;
  for (const char d : significant) {
    if (d == '.')
      continue;
    if (k == uint64_max.size())
      return d >= '5';
    if (d != uint64_max[k++])
      return false;
  }
  return false;
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// The index of the '"' that closes the string whose bytes start at i; text.size() if none does.
std::size_t string_end(std::string_view text, std::size_t i) noexcept {
  for (; i < text.size(); ++i) {
    // A string's plain bytes in bulk: command output is most of what a frame holds.
    i += detail::verbatim_run(text.data() + i, text.size() - i);
    if (i == text.size())
      break;
    if (text[i] == '\\')
      ++i; // an escaped '"' does not end the string
    else if (text[i] == '"')
      return i;
  }
  return text.size();
}

// One number, [-] int [. frac] [e [+-] exp], measured the way RapidJSON will read it.
struct number_spelling {
  std::size_t end = 0; // just past the number
  std::int64_t int_digits = 0, frac_digits = 0, leading_zeros = 0;
  std::int64_t exponent = 0; // saturated at exponent_cap: no overflow in the sums below
  bool has_exponent = false, negative_exponent = false;
  std::string_view significant; // from the first non-zero digit on (may span the point)
};

constexpr std::int64_t exponent_cap = 1'000'000'000'000;

// The number that starts at text[start] (a '-' or a digit).
number_spelling scan_number(std::string_view text, std::size_t start) noexcept {
  number_spelling n;
  std::size_t j = start + (text[start] == '-' ? 1 : 0);
  std::size_t significant_start = std::string_view::npos;
  const auto significand_digit = [&](std::size_t at) {
    if (significant_start == std::string_view::npos) {
      if (text[at] == '0')
        ++n.leading_zeros;
      else
        significant_start = at;
    }
  };
  for (; j < text.size() && is_digit(text[j]); ++j, ++n.int_digits)
    significand_digit(j);
  if (j < text.size() && text[j] == '.') {
    for (++j; j < text.size() && is_digit(text[j]); ++j, ++n.frac_digits)
      significand_digit(j);
  }
  if (significant_start != std::string_view::npos)
    n.significant = text.substr(significant_start, j - significant_start);
  if (j < text.size() && (text[j] == 'e' || text[j] == 'E')) {
    n.has_exponent = true;
    if (++j < text.size() && (text[j] == '+' || text[j] == '-'))
      n.negative_exponent = text[j++] == '-';
    for (; j < text.size() && is_digit(text[j]); ++j)
      n.exponent = std::min(n.exponent * 10 + (text[j] - '0'), exponent_cap);
  }
  n.end = j;
  return n;
}

// What one number allows (see json_numbers.hpp for the RapidJSON bugs behind each case).
json_number_verdict judge_number(const number_spelling& n) noexcept {
  // DBL_MAX's leading digits (1.7976931348623157e308).
  constexpr std::string_view max_digits = "17976931348623157";
  // exponent + fraction length must fit RapidJSON's int.
  if (n.negative_exponent && n.exponent + n.frac_digits >= std::numeric_limits<int>::max() - 16)
    return json_number_verdict::refuse;
  if (n.significant.empty()) {
    // Zero: the fast path covers short spellings without an exponent ("0", "0.00").
    return n.has_exponent || n.int_digits + n.frac_digits > 15
               ? json_number_verdict::normal_precision
               : json_number_verdict::full_precision;
  }
  // The decimal exponent of the first significant digit: 1e-300 is -299, DBL_MAX 309.
  const std::int64_t magnitude =
      n.int_digits - n.leading_zeros + (n.negative_exponent ? -n.exponent : n.exponent);
  if (magnitude <= -323) {
    // From the smallest subnormals down (4.9e-324, 1e-324) full precision gives NaN or
    // reads out of bounds; the normal parser gives 0 or a subnormal.
    return json_number_verdict::normal_precision;
  }
  if (magnitude > 309 || (magnitude == 309 && exceeds(n.significant, max_digits))) {
    // Beyond DBL_MAX: RapidJSON refuses "1e309" itself, but not "1000e306", which full
    // precision turns into garbage or a crash.
    return json_number_verdict::refuse;
  }
  return rounds_uint64_to_zero(n.significant) ? json_number_verdict::normal_precision
                                              : json_number_verdict::full_precision;
}

} // namespace

json_number_check check_json_numbers(std::string_view text) noexcept {
  json_number_check result;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      i = string_end(text, i + 1);
      continue;
    }
    if (c != '-' && !is_digit(c))
      continue;
    const number_spelling number = scan_number(text, i);
    const json_number_verdict verdict = judge_number(number);
    if (verdict == json_number_verdict::refuse)
      return {verdict, i};
    if (verdict == json_number_verdict::normal_precision)
      result.verdict = verdict;
    i = number.end - 1; // text[end] is not part of the number; the loop looks at it next
  }
  return result;
}

} // namespace agentrt::protocol

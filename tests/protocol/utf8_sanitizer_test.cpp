// utf8_sanitizer: valid UTF-8 passes byte-exact under any chunking; each maximal invalid subpart
// becomes one U+FFFD (Unicode 15 section 3.9, Table 3-8); the output is always valid UTF-8.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include <rapidjson/encodings.h>
#include <rapidjson/memorystream.h>

#include "agentrt/protocol/redactor.hpp"

namespace agentrt::protocol {
namespace {

const std::string fffd = "\xEF\xBF\xBD";

std::string sanitize(std::string_view text, const std::vector<std::size_t>& cuts = {}) {
  utf8_sanitizer s;
  std::string out;
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    s.write(text.substr(from, cut - from), out);
    EXPECT_LE(s.held_bytes(), 3u);
    from = cut;
  }
  s.write(text.substr(from), out);
  EXPECT_LE(s.held_bytes(), 3u);
  s.flush(out);
  EXPECT_EQ(s.held_bytes(), 0u);
  return out;
}

// An independent validity check (RapidJSON's UTF-8 validator) so the test does not grade the
// sanitizer with its own code.
bool valid_utf8(const std::string& s) {
  rapidjson::MemoryStream ms(s.data(), s.size());
  while (ms.Tell() < s.size()) {
    unsigned cp;
    if (!rapidjson::UTF8<char>::Decode(ms, &cp))
      return false;
  }
  return true;
}

const std::string valid_sample =
    "ascii \xC3\xA9\xC3\xA8 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x98\x80\xF0\x9F\x91\x8D"
    " \xC2\x80 \xDF\xBF \xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF \xF0\x90\x80\x80"
    " \xF4\x8F\xBF\xBF end";

TEST(Utf8Sanitizer, ValidTextPassesByteExact) {
  ASSERT_TRUE(valid_utf8(valid_sample));
  EXPECT_EQ(sanitize(valid_sample), valid_sample);
  EXPECT_EQ(sanitize(""), "");
  EXPECT_EQ(sanitize(std::string("nul\0inside", 10)), std::string("nul\0inside", 10));
}

TEST(Utf8Sanitizer, ValidTextSplitAtEveryPositionIsByteExact) {
  for (std::size_t i = 0; i <= valid_sample.size(); ++i) {
    EXPECT_EQ(sanitize(valid_sample, {i}), valid_sample) << "split at " << i;
  }
}

TEST(Utf8Sanitizer, ValidTextSplitTwiceIsByteExact) {
  const std::string text = "a\xF0\x9F\x98\x80\xE6\x97\xA5\xC3\xA9z";
  for (std::size_t i = 0; i <= text.size(); ++i) {
    for (std::size_t j = i; j <= text.size(); ++j) {
      ASSERT_EQ(sanitize(text, {i, j}), text) << i << "," << j;
    }
  }
}

TEST(Utf8Sanitizer, OneByteAtATime) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < valid_sample.size(); ++i)
    cuts.push_back(i);
  EXPECT_EQ(sanitize(valid_sample, cuts), valid_sample);
}

TEST(Utf8Sanitizer, IncompleteSequenceIsHeldUntilTheNextWrite) {
  utf8_sanitizer s;
  std::string out;
  s.write("ok \xF0\x9F", out);
  EXPECT_EQ(out, "ok ");
  EXPECT_EQ(s.held_bytes(), 2u);
  s.write("\x98", out);
  EXPECT_EQ(out, "ok ");
  EXPECT_EQ(s.held_bytes(), 3u);
  s.write("\x80!", out);
  EXPECT_EQ(out, "ok \xF0\x9F\x98\x80!");
  EXPECT_EQ(s.held_bytes(), 0u);
}

TEST(Utf8Sanitizer, IncompleteSequenceAtFlushBecomesOneReplacement) {
  utf8_sanitizer s;
  std::string out;
  s.write("x\xE2\x82", out);
  EXPECT_EQ(out, "x");
  s.flush(out);
  EXPECT_EQ(out, "x" + fffd);
  EXPECT_EQ(sanitize("\xF0\x9F\x98"), fffd);
  EXPECT_EQ(sanitize("\xC3"), fffd);
}

TEST(Utf8Sanitizer, FlushWithNothingHeldAddsNothing) {
  utf8_sanitizer s;
  std::string out;
  s.flush(out);
  EXPECT_EQ(out, "");
}

struct invalid_case {
  const char* name;
  std::string in;
  std::string want;
};

std::vector<invalid_case> invalid_cases() {
  return {
      {"stray continuation byte", "a\x80z", "a" + fffd + "z"},
      {"two stray continuations", "\x80\xBF", fffd + fffd},
      {"overlong 2-byte C0 AF", "\xC0\xAF", fffd + fffd},
      {"overlong 2-byte C1 BF", "\xC1\xBF", fffd + fffd},
      {"overlong 3-byte E0 80 AF", "\xE0\x80\xAF", fffd + fffd + fffd},
      {"overlong 4-byte F0 80 80 AF", "\xF0\x80\x80\xAF", fffd + fffd + fffd + fffd},
      {"surrogate ED A0 80", "\xED\xA0\x80", fffd + fffd + fffd},
      {"surrogate ED BF BF", "\xED\xBF\xBF", fffd + fffd + fffd},
      {"above U+10FFFF F4 90 80 80", "\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},
      {"F5 lead", "\xF5\x80\x80\x80", fffd + fffd + fffd + fffd},
      {"FF byte",
       "a\xFF"
       "b",
       "a" + fffd + "b"},
      {"FE byte", "\xFE", fffd},
      {"truncated 3-byte then ASCII",
       "\xE2\x82"
       "A",
       fffd + "A"},
      {"truncated 4-byte then ASCII",
       "\xF0\x9F\x98"
       "A",
       fffd + "A"},
      {"truncated 2-byte then lead", "\xC3\xC3\xA9", fffd + "\xC3\xA9"},
      {"truncated 4-byte then 4-byte", "\xF0\x9F\x98\xF0\x9F\x98\x80", fffd + "\xF0\x9F\x98\x80"},
      {"lone lead at end", "abc\xE2", "abc" + fffd},
      // Unicode 15, Table 3-8: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64.
      {"Unicode table 3-8", "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
       "a" + fffd + fffd + fffd + "b" + fffd + "c" + fffd + fffd + "d"},
  };
}

TEST(Utf8Sanitizer, InvalidSequencesBecomeReplacementCharacters) {
  for (const auto& c : invalid_cases()) {
    EXPECT_EQ(sanitize(c.in), c.want) << c.name;
  }
}

TEST(Utf8Sanitizer, InvalidSequencesGiveTheSameResultUnderAnyTwoWaySplit) {
  for (const auto& c : invalid_cases()) {
    for (std::size_t i = 0; i <= c.in.size(); ++i) {
      for (std::size_t j = i; j <= c.in.size(); ++j) {
        ASSERT_EQ(sanitize(c.in, {i, j}), c.want) << c.name << " split at " << i << "," << j;
      }
    }
  }
}

TEST(Utf8Sanitizer, LargeAsciiPassesUnchanged) {
  std::string text;
  for (int i = 0; text.size() < (1 << 20); ++i)
    text += "line " + std::to_string(i) + '\n';
  EXPECT_EQ(sanitize(text, {65536, 131072, 500001}), text);
}

// Random bytes biased towards UTF-8 structure: output is always valid, and chunking never
// changes it.
TEST(Utf8Sanitizer, RandomBytesAlwaysGiveValidUtf8IndependentOfChunking) {
  std::mt19937 rng(7);
  const unsigned char interesting[] = {'a',  0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
                                       0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  std::uniform_int_distribution<std::size_t> pick(0, std::size(interesting) - 1);
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::string text(std::uniform_int_distribution<std::size_t>(0, 40)(rng), ' ');
    for (auto& ch : text)
      ch = static_cast<char>(interesting[pick(rng)]);
    const std::string whole = sanitize(text);
    ASSERT_TRUE(valid_utf8(whole)) << "iteration " << iteration;
    if (valid_utf8(text)) {
      ASSERT_EQ(whole, text);
    }
    std::vector<std::size_t> cuts;
    std::size_t at = 0;
    while (true) {
      at += std::uniform_int_distribution<std::size_t>(0, 5)(rng);
      if (at >= text.size())
        break;
      cuts.push_back(at);
    }
    ASSERT_EQ(sanitize(text, cuts), whole) << "iteration " << iteration;
  }
}

} // namespace
} // namespace agentrt::protocol

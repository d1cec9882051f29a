// The ASCII-skipping specialization of websocketpp's UTF-8 validator (websocket_utf8.hpp)
// against websocketpp's own per-byte DFA (validator::consume): the same verdict and the same
// "complete" state for any text cut into any pieces, since websocketpp feeds it a frame's
// payload read by read and a code point may straddle two reads.
#include "agentrt/protocol/websocket_utf8.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

namespace u8 = websocketpp::utf8_validator;

struct verdict {
  bool ok = true;
  bool complete = true;
  bool operator==(const verdict& o) const { return ok == o.ok && complete == o.complete; }
};

verdict by_byte(const std::string& s) {
  u8::validator v;
  for (const char c : s)
    if (!v.consume(static_cast<std::uint8_t>(c)))
      return {false, false};
  return {true, v.complete()};
}

// The text in pieces of the given sizes (the last piece takes the rest), as hybi13 calls it.
verdict by_pieces(std::string s, const std::vector<std::size_t>& sizes) {
  u8::validator v;
  std::size_t pos = 0;
  for (std::size_t k = 0; pos < s.size() || k == 0; ++k) {
    const std::size_t n = k < sizes.size() ? std::min(sizes[k], s.size() - pos) : s.size() - pos;
    const auto begin = s.begin() + static_cast<std::ptrdiff_t>(pos);
    if (!v.decode(begin, begin + static_cast<std::ptrdiff_t>(n)))
      return {false, false};
    pos += n;
  }
  return {true, v.complete()};
}

TEST(WebsocketUtf8, KnownTexts) {
  const std::string long_ascii(1000, 'a');
  struct row {
    std::string text;
    verdict expected;
  };
  const std::vector<row> rows = {
      {"", {true, true}},
      {long_ascii, {true, true}},
      {long_ascii + "\xC3\xA9" + long_ascii, {true, true}},     // é
      {long_ascii + "\xE2\x82\xAC", {true, true}},              // €
      {long_ascii + "\xF0\x9F\x98\x80" + "x", {true, true}},    // U+1F600
      {long_ascii + "\xE2\x82", {true, false}},                 // cut inside a code point
      {long_ascii + "\xC3" + "a" + long_ascii, {false, false}}, // ASCII inside a code point
      {long_ascii + "\xC0\xAF", {false, false}},                // overlong '/'
      {long_ascii + "\xED\xA0\x80", {false, false}},            // surrogate
      {long_ascii + "\xF4\x90\x80\x80", {false, false}},        // above U+10FFFF
      {long_ascii + "\x80" + long_ascii, {false, false}},       // lone continuation
      {std::string(31, 'a') + "\xFF" + std::string(40, 'a'), {false, false}},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(by_byte(r.text), r.expected) << r.text.size();
    for (const std::size_t piece : {1, 2, 3, 15, 16, 17, 31, 32, 33, 1000, 1001, 4096}) {
      std::vector<std::size_t> sizes(r.text.size() / piece + 2, piece);
      EXPECT_EQ(by_pieces(r.text, sizes), r.expected) << r.text.size() << " in pieces of " << piece;
    }
  }
}

// Random texts that are mostly ASCII with valid and broken sequences at random places, cut at
// random points: the specialization must agree with the DFA every time. Counts are printed so
// a run shows both verdicts were exercised.
TEST(WebsocketUtf8, AgreesWithTheByteDfaOnRandomTexts) {
  std::mt19937 rng(20261201);
  const std::vector<std::string> pieces = {"a",
                                           "0123456789abcdefghijklmnopqrstuvwxyz",
                                           "\xC3\xA9",
                                           "\xE2\x82\xAC",
                                           "\xF0\x9F\x98\x80",
                                           "\xC3",
                                           "\x82",
                                           "\xE2\x82",
                                           "\xED\xA0\x80",
                                           "\xF4\x90\x80\x80",
                                           "\xC0\xAF",
                                           "\xFF",
                                           "\n"};
  int valid = 0, invalid = 0, incomplete = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const int parts = static_cast<int>(rng() % 40);
    for (int i = 0; i < parts; ++i) {
      // Mostly ASCII runs, so that the fast path is taken and left in every position.
      const std::size_t k = rng() % 10 < 7 ? rng() % 2 : rng() % pieces.size();
      const std::size_t repeat = k < 2 ? 1 + rng() % 40 : 1;
      for (std::size_t r = 0; r < repeat; ++r)
        text += pieces[k];
    }
    std::vector<std::size_t> sizes;
    for (std::size_t total = 0; total < text.size();) {
      sizes.push_back(rng() % 50);
      total += sizes.back();
    }
    const verdict expected = by_byte(text);
    ASSERT_EQ(by_pieces(text, sizes), expected) << "round " << round;
    if (!expected.ok)
      ++invalid;
    else if (!expected.complete)
      ++incomplete;
    else
      ++valid;
  }
  std::printf("[ figures  ] %d valid, %d invalid, %d cut inside a code point\n", valid, invalid,
              incomplete);
  EXPECT_GT(valid, 1000);
  EXPECT_GT(invalid, 1000);
  EXPECT_GT(incomplete, 100);
}

} // namespace

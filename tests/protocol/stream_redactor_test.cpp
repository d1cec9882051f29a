// stream_redactor's one invariant: for any split of an input into chunks, the concatenated
// write() outputs plus flush() equal redactor::redact of the whole input.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "agentrt/protocol/redactor.hpp"
#include "support/secret_workload.hpp"

namespace agentrt::protocol {
namespace {

// Feeds text cut at the given (ascending) positions and checks the hold-back bound on the way.
std::string stream(const redactor& r, std::string_view text, const std::vector<std::size_t>& cuts) {
  stream_redactor s(r);
  std::string out;
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    s.write(text.substr(from, cut - from), out);
    EXPECT_LE(s.held_bytes(), r.max_secret_length() == 0 ? 0 : r.max_secret_length() - 1);
    from = cut;
  }
  s.write(text.substr(from), out);
  EXPECT_LE(s.held_bytes(), r.max_secret_length() == 0 ? 0 : r.max_secret_length() - 1);
  s.flush(out);
  EXPECT_EQ(s.held_bytes(), 0u);
  return out;
}

struct input_case {
  std::vector<std::string> secrets;
  std::string text;
};

const std::vector<input_case>& cases() {
  static const std::vector<input_case> all = {
      {{"abc", "bcd"}, "abcd"},
      {{"abc", "bcd"}, "xabcdbcdabcabx"},
      {{"ab", "abc"}, "ababcabcab"},
      {{"aa"}, "aaaaaaa"},
      {{"aba"}, "abababa"},
      {{"secret"}, "secret"},
      {{"secret"}, "my secret is secretsecre"},
      {{"x"}, "xxyxx"},
      {{"a", "aaaa", "aa"}, "aaaaaaaaaaa"},
      {{"p\xC3\xA4ss", "\xE5\xAF\x86"}, "p\xC3\xA4ss\xE5\xAF\x86p\xC3\xA4s\xE5\xAF"},
      {{"RED", "[RE"}, "[REDACTED] RED [RE"},
      {{"abcdef", "cde", "f"}, "abcdeabcdefcdef"},
  };
  return all;
}

TEST(StreamRedactor, EverySingleSplitPoint) {
  for (const auto& c : cases()) {
    const redactor r(c.secrets);
    const std::string want = r.redact(c.text);
    for (std::size_t i = 0; i <= c.text.size(); ++i) {
      EXPECT_EQ(stream(r, c.text, {i}), want) << c.text << " split at " << i;
    }
  }
}

TEST(StreamRedactor, EveryTwoAndThreeWaySplit) {
  for (const auto& c : cases()) {
    const redactor r(c.secrets);
    const std::string want = r.redact(c.text);
    const std::size_t n = c.text.size();
    for (std::size_t i = 0; i <= n; ++i) {
      for (std::size_t j = i; j <= n; ++j) {
        ASSERT_EQ(stream(r, c.text, {i, j}), want) << c.text << " split at " << i << "," << j;
        for (std::size_t k = j; k <= n; ++k) {
          ASSERT_EQ(stream(r, c.text, {i, j, k}), want)
              << c.text << " split at " << i << "," << j << "," << k;
        }
      }
    }
  }
}

TEST(StreamRedactor, OneByteAtATime) {
  for (const auto& c : cases()) {
    const redactor r(c.secrets);
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < c.text.size(); ++i)
      cuts.push_back(i);
    EXPECT_EQ(stream(r, c.text, cuts), r.redact(c.text)) << c.text;
  }
}

TEST(StreamRedactor, SecretSplitAcrossChunksIsRedacted) {
  const redactor r({"hunter2"});
  stream_redactor s(r);
  std::string out;
  s.write("password: hun", out);
  EXPECT_EQ(out.find("hun"), std::string::npos) << "a possible secret prefix was released";
  s.write("ter2\n", out);
  s.flush(out);
  EXPECT_EQ(out, "password: [REDACTED]\n");
}

TEST(StreamRedactor, ReleasesWhatCannotStartASecret) {
  const redactor r({"abcdef"});
  stream_redactor s(r);
  std::string out;
  s.write("0123456789", out);
  // Only the last 5 bytes can still be the start of a 6-byte secret.
  EXPECT_EQ(out, "01234");
  EXPECT_EQ(s.held_bytes(), 5u);
  s.flush(out);
  EXPECT_EQ(out, "0123456789");
}

TEST(StreamRedactor, WithoutSecretsPassesDataStraightThrough) {
  const redactor r;
  stream_redactor s(r);
  std::string out;
  s.write("abc", out);
  EXPECT_EQ(out, "abc");
  EXPECT_EQ(s.held_bytes(), 0u);
  s.write("", out);
  s.write("def", out);
  s.flush(out);
  EXPECT_EQ(out, "abcdef");
}

TEST(StreamRedactor, UsableAgainAfterFlush) {
  const redactor r({"key"});
  stream_redactor s(r);
  std::string first;
  s.write("a ke", first);
  s.flush(first);
  EXPECT_EQ(first, "a ke");
  std::string second;
  s.write("y key", second);
  s.flush(second);
  EXPECT_EQ(second, "y [REDACTED]");
}

TEST(StreamRedactor, LargeChunksMatchOneShot) {
  const redactor r({"TOKEN123", "TOK"});
  std::string text;
  for (int i = 0; i < 20000; ++i)
    text += (i % 7 == 0 ? "TOKEN123" : (i % 5 == 0 ? "TOK" : "data "));
  std::vector<std::size_t> cuts;
  for (std::size_t c = 65536; c < text.size(); c += 65536)
    cuts.push_back(c - (c % 3));
  EXPECT_EQ(stream(r, text, cuts), r.redact(text));
}

// Property test: random secrets over a tiny alphabet (so overlaps and prefixes are frequent),
// random inputs, random chunkings; the stream must always agree with the one-shot form.
TEST(StreamRedactor, RandomChunkingAgreesWithOneShot) {
  std::mt19937 rng(20240601);
  auto random_string = [&](std::size_t min_len, std::size_t max_len) {
    return test::random_string(rng, "abc[", min_len, max_len);
  };
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::vector<std::string> secrets;
    const int count = std::uniform_int_distribution<int>(0, 4)(rng);
    for (int i = 0; i < count; ++i)
      secrets.push_back(random_string(0, 6));
    const redactor r(secrets);
    const std::string text = random_string(0, 60);
    std::vector<std::size_t> cuts;
    std::size_t at = 0;
    while (true) {
      at += std::uniform_int_distribution<std::size_t>(0, 9)(rng);
      if (at >= text.size())
        break;
      cuts.push_back(at);
    }
    ASSERT_EQ(stream(r, text, cuts), r.redact(text)) << "iteration " << iteration;
  }
}

} // namespace
} // namespace agentrt::protocol

// The multi-pattern redactor against the obvious algorithm it replaced (at each position, the
// longest secret that matches there, else the byte): random secrets and texts over small
// alphabets, where prefixes, suffixes and overlaps are the rule, must give identical output,
// one-shot and streamed. Plus many secrets, long secrets, block boundaries, and the figures:
// redaction throughput with 10,000 and 100,000 secrets.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "agentrt/protocol/redactor.hpp"
#include "support/secret_workload.hpp"

namespace agentrt::protocol {
namespace {

// The reference: leftmost-first, longest at a position, non-overlapping, by brute force.
std::string naive_redact(const std::vector<std::string>& secrets, std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t best = 0;
    for (const auto& s : secrets) {
      if (!s.empty() && s.size() > best && s.size() <= text.size() - pos &&
          std::memcmp(text.data() + pos, s.data(), s.size()) == 0)
        best = s.size();
    }
    if (best == 0) {
      out += text[pos++];
    } else {
      out += redaction_marker;
      pos += best;
    }
  }
  return out;
}

std::string streamed(const redactor& r, std::string_view text, std::mt19937& rng) {
  stream_redactor s(r);
  std::string out;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 40)(rng);
    s.write(text.substr(at, n), out);
    at += std::min(n, text.size() - at);
  }
  s.flush(out);
  return out;
}

struct random_strings {
  std::mt19937 rng;
  std::string alphabet;
  std::string make(std::size_t min_len, std::size_t max_len) {
    return test::random_string(rng, alphabet, min_len, max_len);
  }
};

TEST(RedactorAutomaton, AgreesWithTheNaiveAlgorithmOnRandomInputs) {
  // Alphabets from 2 letters (every secret overlaps every other) to bytes with NUL and 0xFF.
  const std::vector<std::string> alphabets = {"ab", "abc", "ab[", std::string("\0\xff\x01", 3),
                                              "abcdefgh"};
  std::mt19937 seeds(424242);
  int checked = 0;
  for (const auto& alphabet : alphabets) {
    random_strings gen{std::mt19937(seeds()), alphabet};
    for (int iteration = 0; iteration < 2000; ++iteration) {
      std::vector<std::string> secrets;
      const int count = std::uniform_int_distribution<int>(0, 12)(gen.rng);
      for (int i = 0; i < count; ++i)
        secrets.push_back(gen.make(0, 9));
      // Some secrets that are prefixes or suffixes of others.
      if (!secrets.empty() && secrets[0].size() > 2) {
        secrets.push_back(secrets[0].substr(0, secrets[0].size() / 2));
        secrets.push_back(secrets[0].substr(secrets[0].size() / 2));
      }
      const redactor r(secrets);
      const std::string text = gen.make(0, 120);
      const std::string want = naive_redact(secrets, text);
      ASSERT_EQ(r.redact(text), want)
          << "alphabet " << alphabet.size() << " iteration " << iteration;
      ASSERT_EQ(streamed(r, text, gen.rng), want) << "iteration " << iteration;
      for (std::size_t pos = 0; pos <= text.size(); ++pos) {
        std::size_t best = 0;
        for (const auto& s : secrets) {
          if (!s.empty() && s.size() > best && s.size() <= text.size() - pos &&
              text.compare(pos, s.size(), s) == 0)
            best = s.size();
        }
        ASSERT_EQ(r.match_at(text, pos), best) << "iteration " << iteration << " pos " << pos;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2000 * static_cast<int>(alphabets.size()));
}

TEST(RedactorAutomaton, NestedSecretsAndLongSharedPrefixes) {
  // The inputs that make simpler multi-pattern schemes quadratic: every prefix of a long run
  // is a secret, and a long secret that almost matches everywhere.
  std::vector<std::string> secrets;
  for (int n = 1; n <= 64; ++n)
    secrets.push_back(std::string(static_cast<std::size_t>(n), 'a'));
  secrets.push_back(std::string(200, 'a') + "b");
  const redactor r(secrets);
  const std::string text = std::string(1000, 'a') + "b" + std::string(130, 'a');
  EXPECT_EQ(r.redact(text), naive_redact(secrets, text));
  const std::string run = std::string(199, 'a') + "b"; // one short of the long secret
  EXPECT_EQ(r.redact(run), naive_redact(secrets, run));
}

TEST(RedactorAutomaton, MatchesAcrossInternalBlockBoundaries) {
  // redact_prefix decides positions in 64 Ki blocks; secrets straddling a boundary, and a
  // secret longer than a block, must not notice.
  const std::string long_secret(70000, 'L');
  const std::vector<std::string> secrets = {"SECRET", "ETX", long_secret};
  const redactor r(secrets);
  std::string text;
  for (std::size_t boundary = 65536; boundary < 5 * 65536; boundary += 65536) {
    text.resize(boundary - 3, '.');
    text += "SECRET";
  }
  text += long_secret + "x" + long_secret.substr(1) + "SECRETX";
  EXPECT_EQ(r.redact(text), naive_redact(secrets, text));
  std::mt19937 rng(7);
  EXPECT_EQ(streamed(r, text.substr(0, 20000), rng), naive_redact(secrets, text.substr(0, 20000)));
}

TEST(RedactorAutomaton, CopiesShareTheMatcherAndStayValid) {
  redactor copy;
  {
    const redactor original({"alpha", "beta"});
    copy = original;
  }
  EXPECT_EQ(copy.redact("alphabeta gamma"), "[REDACTED][REDACTED] gamma");
  redactor moved = std::move(copy);
  EXPECT_EQ(moved.redact("beta"), "[REDACTED]");
  EXPECT_EQ(moved.max_secret_length(), 5u);
}

std::size_t count_markers(const std::string& s) {
  std::size_t n = 0;
  for (std::size_t at = s.find(redaction_marker); at != std::string::npos;
       at = s.find(redaction_marker, at + 1))
    ++n;
  return n;
}

// CPU time of this thread: the figures stay meaningful on a machine busy with other work.
double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void throughput_figure(std::size_t secret_count) {
  const std::vector<std::string> secrets = test::api_key_secrets(secret_count, secret_count);
  const test::secret_text w = test::text_with_secrets(secrets, 8 << 20, 50);
  const double c0 = thread_cpu_seconds();
  const redactor r(secrets);
  const double c1 = thread_cpu_seconds();
  const std::string out = r.redact(w.text);
  const double c2 = thread_cpu_seconds();
  std::string streamed_out;
  stream_redactor s(r);
  for (std::size_t at = 0; at < w.text.size(); at += 4096)
    s.write(std::string_view(w.text).substr(at, 4096), streamed_out);
  s.flush(streamed_out);
  const double c3 = thread_cpu_seconds();
  // The old algorithm on a sample, for comparison: every secret at every position.
  const std::string_view sample = std::string_view(w.text).substr(0, 4096);
  const double c4 = thread_cpu_seconds();
  const std::string naive = naive_redact(secrets, sample);
  const double c5 = thread_cpu_seconds();

  EXPECT_EQ(count_markers(out), w.planted);
  EXPECT_EQ(out, w.redacted);
  EXPECT_EQ(streamed_out, out);
  EXPECT_EQ(out.substr(0, naive.size()), naive);
  for (std::size_t i = 0; i < secret_count; i += secret_count / 10)
    EXPECT_EQ(out.find(secrets[i]), std::string::npos) << secrets[i];
  const double mib = static_cast<double>(w.text.size()) / (1 << 20);
  std::printf("[ figures  ] %zu secrets (%zu KiB): built in %.1f ms CPU; one-shot %.0f MiB/s, "
              "streamed in 4 KiB chunks %.0f MiB/s (%.0f MiB text, %zu hits); every secret at "
              "every position: %.1f KiB/s\n",
              secret_count, secret_count * 32 / 1024, (c1 - c0) * 1000, mib / (c2 - c1),
              mib / (c3 - c2), mib, w.planted, 4.0 / (c5 - c4));
}

TEST(RedactorAutomaton, ThroughputWithTenThousandSecrets) {
  throughput_figure(10000);
}

// Beyond what one request may send (max_secrets): the matcher itself has no such limit.
TEST(RedactorAutomaton, ThroughputWithAHundredThousandSecrets) {
  throughput_figure(100000);
}

} // namespace
} // namespace agentrt::protocol

// Inputs for redaction tests with many secrets: secrets shaped like API keys, and text that
// carries some of them, with what that text must become once redacted (known by
// construction, so no redactor is needed to check one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace agentrt::test {

// A string of min_len to max_len bytes drawn from alphabet: with a tiny alphabet, secrets and
// texts overlap, nest and share prefixes all the time.
std::string random_string(std::mt19937& rng, std::string_view alphabet, std::size_t min_len,
                          std::size_t max_len);

// count distinct secrets "sk-" + 29 alphanumerics (32 bytes), the same for the same seed.
std::vector<std::string> api_key_secrets(std::size_t count, std::uint64_t seed);

struct secret_text {
  std::string text;
  std::string redacted; // text with every planted secret replaced by "[REDACTED]"
  std::size_t planted = 0;
};

// Log-like lines up to about `bytes`; every `every`-th line ends with one of the secrets.
secret_text text_with_secrets(const std::vector<std::string>& secrets, std::size_t bytes,
                              std::size_t every);

} // namespace agentrt::test

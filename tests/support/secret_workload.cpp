// Secrets and secret-bearing text for redaction tests (see secret_workload.hpp).
#include "support/secret_workload.hpp"

#include <random>
#include <unordered_set>

namespace agentrt::test {

std::string random_string(std::mt19937& rng, std::string_view alphabet, std::size_t min_len,
                          std::size_t max_len) {
  std::uniform_int_distribution<std::size_t> len(min_len, max_len);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string s(len(rng), ' ');
  for (auto& ch : s)
    ch = alphabet[pick(rng)];
  return s;
}

std::vector<std::string> api_key_secrets(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  static const std::string alphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::vector<std::string> secrets;
  std::unordered_set<std::string> seen;
  while (secrets.size() < count) {
    std::string s = "sk-";
    for (int k = 0; k < 29; ++k)
      s += alphabet[pick(rng)];
    if (seen.insert(s).second)
      secrets.push_back(std::move(s));
  }
  return secrets;
}

secret_text text_with_secrets(const std::vector<std::string>& secrets, std::size_t bytes,
                              std::size_t every) {
  secret_text t;
  for (std::size_t line = 0; t.text.size() < bytes; ++line) {
    const std::string filler =
        "line " + std::to_string(line) + ": the quick brown fox jumps over the lazy dog ";
    t.text += filler;
    t.redacted += filler;
    if (line % every == 0 && !secrets.empty()) {
      t.text += secrets[(line * 7919) % secrets.size()];
      t.redacted += "[REDACTED]";
      ++t.planted;
    }
    t.text += '\n';
    t.redacted += '\n';
  }
  return t;
}

} // namespace agentrt::test

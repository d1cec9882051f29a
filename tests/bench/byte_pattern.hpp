// The benchmark's payload: one 64-byte printable line repeated, so that a runtime on any
// machine can produce it with `yes LINE | head -c N` and the bench can check every byte it
// gets back at memcmp speed (a dropped, duplicated or shifted chunk breaks the alignment).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace agentrt::bench {

// No quote, backslash or control character besides the final newline: the line is pasted
// into single-quoted shell words and survives JSON escaping with one escape per line.
inline constexpr std::string_view pattern_line =
    "agentrt-bench-pattern 0123456789 abcdefghijklmnopqrstuvwxyz ABC\n";
static_assert(pattern_line.size() == 64);

// A shell command printing the first `bytes` bytes of the pattern to stdout.
inline std::string pattern_command(std::uint64_t bytes) {
  const std::string_view body = pattern_line.substr(0, pattern_line.size() - 1);
  return "yes '" + std::string(body) + "' | head -c " + std::to_string(bytes);
}

// Checks a stream, fed in arbitrary pieces, against the pattern.
class pattern_checker {
public:
  pattern_checker() {
    for (std::size_t i = 0; i < sizeof reference_; ++i)
      reference_[i] = pattern_line[i % pattern_line.size()];
  }

  void feed(const char* data, std::size_t size) {
    while (size > 0) {
      const std::size_t phase = static_cast<std::size_t>(bytes_ % pattern_line.size());
      const std::size_t n = std::min(size, sizeof reference_ - pattern_line.size());
      if (matches_ && std::memcmp(data, reference_ + phase, n) != 0) {
        matches_ = false;
        first_mismatch_ = bytes_;
      }
      data += n;
      size -= n;
      bytes_ += n;
    }
  }
  void feed(std::string_view s) { feed(s.data(), s.size()); }
  // Moves past n bytes that are known to be missing (a gap notice), keeping the phase.
  void skip(std::uint64_t n) noexcept { bytes_ += n; }

  std::uint64_t bytes() const noexcept { return bytes_; }
  bool matches() const noexcept { return matches_; }
  // Offset of the first piece that did not match (valid when !matches()).
  std::uint64_t first_mismatch() const noexcept { return first_mismatch_; }

private:
  char reference_[64 * 1024 + 64];
  std::uint64_t bytes_ = 0;
  std::uint64_t first_mismatch_ = 0;
  bool matches_ = true;
};

} // namespace agentrt::bench

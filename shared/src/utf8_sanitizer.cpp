// utf8_sanitizer and the UTF-8 scanning it shares with the codec. Command output is arbitrary
// bytes but JSON text frames must be UTF-8, so everything streamed passes through here.
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "agentrt/protocol/redactor.hpp"
#include "utf8.hpp"

namespace agentrt::protocol {
namespace detail {
namespace {

// Length of the run of ASCII bytes at the start of [p, p+n), sixteen or eight bytes at a time:
// command output is mostly ASCII and this loop is what makes the sanitizer cheap on it.
std::size_t ascii_run(const unsigned char* p, std::size_t n) noexcept {
  std::size_t i = 0;
#if defined(__SSE2__)
  // SSE2 exists on all of x86-64: the high bits of sixteen bytes are one movemask.
  for (; i + 16 <= n; i += 16) {
    const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const int high = _mm_movemask_epi8(s);
    if (high != 0)
      return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(high)));
  }
#endif
  while (i + 8 <= n) {
    std::uint64_t word;
    std::memcpy(&word, p + i, sizeof word);
    if ((word & 0x8080808080808080ULL) != 0)
      break;
    i += 8;
  }
  while (i < n && p[i] < 0x80)
    ++i;
  return i;
}

enum class kind { valid, invalid, incomplete };

struct sequence {
  kind k;
  std::size_t length; // bytes of the sequence, of the maximal invalid subpart, or available
};

// Classifies the sequence at p[0] (a byte >= 0x80) following Table 3-7 of the Unicode
// standard: the second byte's range depends on the lead byte, which is what rules out
// overlongs (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points above U+10FFFF
// (F4 90..BF, F5..FF).
sequence classify(const unsigned char* p, std::size_t n) noexcept {
  const unsigned char lead = p[0];
  std::size_t trail;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    trail = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    trail = 2;
    if (lead == 0xE0)
      lo = 0xA0;
    if (lead == 0xED)
      hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    trail = 3;
    if (lead == 0xF0)
      lo = 0x90;
    if (lead == 0xF4)
      hi = 0x8F;
  } else {
    return {kind::invalid, 1}; // stray continuation byte, C0/C1, F5..FF
  }
  for (std::size_t k = 1; k <= trail; ++k) {
    if (k >= n)
      return {kind::incomplete, k};
    if (p[k] < lo || p[k] > hi)
      return {kind::invalid, k};
    lo = 0x80;
    hi = 0xBF;
  }
  return {kind::valid, trail + 1};
}

} // namespace

std::size_t sanitize_utf8(std::string_view in, bool at_end, std::string& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  std::size_t i = 0;
  std::size_t run_start = 0; // valid bytes since here are appended in one go
  while (i < n) {
    i += ascii_run(p + i, n - i);
    if (i >= n)
      break;
    const sequence s = classify(p + i, n - i);
    if (s.k == kind::valid) {
      i += s.length;
      continue;
    }
    out.append(in.data() + run_start, i - run_start);
    if (s.k == kind::incomplete && !at_end)
      return i;
    out.append(replacement_character);
    i += s.length;
    run_start = i;
  }
  out.append(in.data() + run_start, n - run_start);
  return n;
}

bool is_valid_utf8(std::string_view in) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    i += ascii_run(p + i, n - i);
    if (i >= n)
      break;
    const sequence s = classify(p + i, n - i);
    if (s.k != kind::valid)
      return false;
    i += s.length;
  }
  return true;
}

} // namespace detail

void utf8_sanitizer::write(std::string_view chunk, std::string& out) {
  if (!held_.empty()) {
    // A sequence is at most 4 bytes, so at most 4 - held bytes of the chunk decide the held
    // prefix; what follows them is processed in place without copying the chunk.
    std::string joined = held_;
    joined.append(chunk.substr(0, 4 - held_.size()));
    const std::size_t used = detail::sanitize_utf8(joined, false, out);
    if (used < held_.size()) {
      // Still incomplete: the whole (short) chunk extended the held prefix.
      held_ = std::move(joined);
      return;
    }
    chunk.remove_prefix(used - held_.size());
    held_.clear();
  }
  const std::size_t used = detail::sanitize_utf8(chunk, false, out);
  held_.assign(chunk.substr(used));
}

void utf8_sanitizer::flush(std::string& out) {
  detail::sanitize_utf8(held_, true, out);
  held_.clear();
}

} // namespace agentrt::protocol

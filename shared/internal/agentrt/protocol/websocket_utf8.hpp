// websocketpp checks every received text frame as UTF-8 one byte at a time through a DFA
// (utf8_validator::validator::decode), which was ~60% of the client's CPU when reading a
// command's streamed output. This header gives that member template an explicit
// specialization for the iterator websocketpp calls it with (std::string's, over the frame's
// payload): runs of ASCII are skipped 16 bytes at a time, every other byte still goes through
// websocketpp's own DFA, so what is accepted, what is refused, and the state carried across
// calls (a code point split between two reads) are exactly the original's.
//
// A specialization must be seen before the first use that would instantiate the template, in
// every translation unit: include this before any other websocketpp header (the #error below
// catches the wrong order). All of agentrt's websocketpp users do.
#pragma once

#ifdef WEBSOCKETPP_PROCESSOR_HYBI13_HPP
#error "include agentrt/protocol/websocket_utf8.hpp before the websocketpp headers"
#endif

#include <cstddef>
#include <cstdint>
#include <string>

#include <websocketpp/utf8_validator.hpp>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace agentrt::protocol::detail {

// Bytes at the start of [p, p + n) below 0x80.
inline std::size_t ascii_run(const unsigned char* p, std::size_t n) noexcept {
  std::size_t i = 0;
#if defined(__SSE2__)
  for (; i + 32 <= n; i += 32) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 16));
    if (_mm_movemask_epi8(_mm_or_si128(a, b)) != 0)
      break;
  }
  for (; i + 16 <= n; i += 16) {
    const int high = _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)));
    if (high != 0)
      return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(high)));
  }
#endif
  while (i < n && p[i] < 0x80)
    ++i;
  return i;
}

} // namespace agentrt::protocol::detail

namespace websocketpp::utf8_validator {

template <>
inline bool validator::decode<std::string::iterator>(std::string::iterator begin,
                                                     std::string::iterator end) {
  if (begin == end)
    return true;
  const auto* p = reinterpret_cast<const unsigned char*>(&*begin);
  const unsigned char* const stop = p + (end - begin);
  while (p != stop) {
    // Between code points an ASCII byte leaves the DFA where it is; inside one it must not be
    // skipped (the DFA refuses it there).
    if (m_state == utf8_accept) {
      p += agentrt::protocol::detail::ascii_run(p, static_cast<std::size_t>(stop - p));
      if (p == stop)
        break;
    }
    if (utf8_validator::decode(&m_state, &m_codepoint, *p++) == utf8_reject)
      return false;
  }
  return true;
}

} // namespace websocketpp::utf8_validator

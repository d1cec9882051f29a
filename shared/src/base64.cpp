// RFC 4648 base64 (see base64.hpp).
#include "base64.hpp"

#include <array>
#include <cstdint>

namespace agentrt::protocol::detail {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr unsigned char invalid = 0xFF;

constexpr std::array<unsigned char, 256> make_reverse() {
  std::array<unsigned char, 256> r{};
  for (auto& v : r)
    v = invalid;
  for (unsigned char i = 0; i < 64; ++i)
    r[static_cast<unsigned char>(alphabet[i])] = i;
  return r;
}
constexpr auto reverse = make_reverse();

} // namespace

void append_base64(std::string& out, std::string_view bytes) {
  out.reserve(out.size() + (bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16 |
                            static_cast<unsigned char>(bytes[i + 1]) << 8 |
                            static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(alphabet[v >> 18 & 63]);
    out.push_back(alphabet[v >> 12 & 63]);
    out.push_back(alphabet[v >> 6 & 63]);
    out.push_back(alphabet[v & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 0)
    return;
  std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
  if (rest == 2)
    v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
  out.push_back(alphabet[v >> 18 & 63]);
  out.push_back(alphabet[v >> 12 & 63]);
  out.push_back(rest == 2 ? alphabet[v >> 6 & 63] : '=');
  out.push_back('=');
}

bool decode_base64(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0)
    return false;
  out.reserve(out.size() + text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int pad = 0;
    if (last && text[i + 3] == '=')
      pad = text[i + 2] == '=' ? 2 : 1;
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const unsigned char c = static_cast<unsigned char>(text[i + k]);
      if (k >= 4 - pad) {
        v <<= 6;
        continue;
      }
      const unsigned char d = reverse[c];
      if (d == invalid)
        return false;
      v = v << 6 | d;
    }
    // Canonical only: the bits a padded group leaves over must be zero.
    if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0))
      return false;
    out.push_back(static_cast<char>(v >> 16 & 0xFF));
    if (pad < 2)
      out.push_back(static_cast<char>(v >> 8 & 0xFF));
    if (pad < 1)
      out.push_back(static_cast<char>(v & 0xFF));
  }
  return true;
}

} // namespace agentrt::protocol::detail

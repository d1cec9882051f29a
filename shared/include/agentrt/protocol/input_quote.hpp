// How much of a peer's bad input an error message or a log line may repeat: a short prefix,
// so that a 15 MB message_type is not sent back in a 30 MB error reply and a 15 MB log line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace agentrt::protocol {

inline constexpr std::size_t quoted_input_bytes = 200;

// text itself when it is at most max_bytes long; otherwise its first max_bytes or fewer bytes,
// cut before a UTF-8 continuation byte so that no character is split, then "… (N bytes)".
inline std::string quote_prefix(std::string_view text, std::size_t max_bytes = quoted_input_bytes) {
  if (text.size() <= max_bytes)
    return std::string(text);
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut;
  std::string out(text.substr(0, cut));
  out += "\xE2\x80\xA6 ("; // U+2026
  out += std::to_string(text.size());
  out += " bytes)";
  return out;
}

} // namespace agentrt::protocol

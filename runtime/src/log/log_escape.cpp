// Escaping of control characters in log text (see log_escape.hpp).
#include "log/log_escape.hpp"

#include "agentrt/protocol/redactor.hpp"

namespace agentrt::runtime::log {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void append_hex_escape(std::string& out, const char* prefix, unsigned char c) {
  out += prefix;
  out += hex_digits[c >> 4];
  out += hex_digits[c & 0xf];
}

bool plain(unsigned char c) {
  return c >= 0x20 && c != 0x7f && c != 0xC2;
}

} // namespace

void append_escaped(std::string& out, std::string_view text) {
  // Valid UTF-8 first (the protocol's own repair: U+FFFD per maximal invalid subpart), so
  // that what follows only has to find single-byte controls and the two-byte C1 ones.
  std::string valid;
  protocol::utf8_sanitizer sanitizer;
  sanitizer.write(text, valid);
  sanitizer.flush(valid);
  out.reserve(out.size() + valid.size());
  std::size_t i = 0;
  while (i < valid.size()) {
    std::size_t run = i;
    while (run < valid.size() && plain(static_cast<unsigned char>(valid[run])))
      ++run;
    out.append(valid, i, run - i);
    i = run;
    if (i == valid.size())
      break;
    const auto c = static_cast<unsigned char>(valid[i]);
    if (c == 0xC2) { // lead byte of U+0080..U+00BF; the first 32 are the C1 controls
      const auto next = static_cast<unsigned char>(valid[i + 1]);
      if (next < 0xA0)
        append_hex_escape(out, "\\u00", next);
      else
        out.append(valid, i, 2);
      i += 2;
      continue;
    }
    switch (c) {
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      append_hex_escape(out, "\\x", c);
    }
    ++i;
  }
}

} // namespace agentrt::runtime::log

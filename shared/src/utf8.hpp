// Internal UTF-8 validation and repair, shared by utf8_sanitizer and the codec (which must never
// put invalid UTF-8 into a text frame: a WebSocket peer would close the connection).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace agentrt::protocol::detail {

inline constexpr std::string_view replacement_character = "\xEF\xBF\xBD"; // U+FFFD

// Appends `in` to `out` with every maximal invalid subpart replaced by U+FFFD (Unicode 15,
// section 3.9, "U+FFFD Substitution of Maximal Subparts"; also what WHATWG's decoder does).
// Returns how many bytes of `in` were consumed: all of them when at_end; otherwise a trailing
// valid-but-incomplete sequence (1 to 3 bytes) is left unconsumed for the caller to hold.
std::size_t sanitize_utf8(std::string_view in, bool at_end, std::string& out);

bool is_valid_utf8(std::string_view in) noexcept;

} // namespace agentrt::protocol::detail

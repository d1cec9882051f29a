// A guard against deeply nested JSON. RapidJSON's DOM parser recurses once per array/object
// level (and so does every walk over the result), so one line of a million '[' overflows the
// stack. Everything that parses untrusted JSON — frames, handler and CLI event lines — checks
// the nesting first; protocol messages and agent events nest a handful of levels.
#pragma once

#include <cstddef>
#include <string_view>

namespace agentrt::protocol {

inline constexpr std::size_t max_json_depth = 256;

// True when text opens more than max_depth arrays/objects at once (brackets inside strings do
// not count). Linear and allocation-free; it does not validate the JSON otherwise.
bool json_nesting_exceeds(std::string_view text, std::size_t max_depth = max_json_depth) noexcept;

} // namespace agentrt::protocol

// Log lines on stderr: "<UTC time> <LEVEL> [<source_id>] <text>". Callers redact before logging
// (the request's redactor); this only formats and writes, one write(2) per line so lines from
// the runtime never interleave mid-line.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace agentrt::runtime::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

std::optional<level> parse_level(std::string_view name);
void set_level(level l) noexcept;
bool enabled(level l) noexcept;
void write(level l, std::string_view source_id, std::string_view text);

inline void debug(std::string_view source_id, std::string_view text) {
  if (enabled(level::debug)) write(level::debug, source_id, text);
}
inline void info(std::string_view source_id, std::string_view text) {
  if (enabled(level::info)) write(level::info, source_id, text);
}
inline void warn(std::string_view source_id, std::string_view text) {
  if (enabled(level::warn)) write(level::warn, source_id, text);
}
inline void error(std::string_view source_id, std::string_view text) {
  if (enabled(level::error)) write(level::error, source_id, text);
}

}  // namespace agentrt::runtime::log

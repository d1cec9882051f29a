// Log lines on stderr: "<UTC time> <LEVEL> [<source_id>] <text>", or with --log-format json one
// object per line: {"time":…,"level":"info","source_id":…,"message":…} (source_id only when
// there is one; a repeat summary adds "repeated" and "repeated_within_s").
//
// - Callers redact before logging (the request's redactor), source_id included.
// - Control characters and invalid UTF-8 in source_id and text are escaped (log_escape.hpp):
//   whatever a client puts in a string, one call writes exactly one line.
// - Never blocks the caller on stderr: lines go to a bounded buffer (buffer_bytes) that one
//   writer thread drains. When stderr does not keep up (a pipe nobody reads), lines that do
//   not fit are dropped, and "N log line(s) dropped" is written once it moves again.
// - A line identical to one written less than 5 s ago (same level, source_id and text) is
//   counted instead of written; "<line> (repeated N more times in S s)" follows when its
//   window ends (repeat_filter.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agentrt::runtime::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };
enum class format { text, json };

// Bytes of lines waiting for stderr at most.
inline constexpr std::size_t buffer_bytes = 1 << 20;
// Longest source_id or text written; the rest is replaced by "[... N more bytes]".
inline constexpr std::size_t max_text_bytes = 16 * 1024;

std::optional<level> parse_level(std::string_view name);
void set_level(level l) noexcept;
// Before the first line: lines already buffered keep the format they were made in.
void set_format(format f) noexcept;
bool enabled(level l) noexcept;
void write(level l, std::string_view source_id, std::string_view text);

// Writes pending repeat counts and waits until every line logged so far is on stderr, for at
// most timeout (at exit: stderr may be a pipe nobody reads). false on timeout.
bool flush(std::chrono::milliseconds timeout);
// Lines dropped so far because the buffer was full.
std::uint64_t dropped_lines();

inline void debug(std::string_view source_id, std::string_view text) {
  if (enabled(level::debug))
    write(level::debug, source_id, text);
}
inline void info(std::string_view source_id, std::string_view text) {
  if (enabled(level::info))
    write(level::info, source_id, text);
}
inline void warn(std::string_view source_id, std::string_view text) {
  if (enabled(level::warn))
    write(level::warn, source_id, text);
}
inline void error(std::string_view source_id, std::string_view text) {
  if (enabled(level::error))
    write(level::error, source_id, text);
}

} // namespace agentrt::runtime::log

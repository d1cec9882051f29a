// One command's stdout read by the bare WebSocket client (raw_ws_connection) and checked
// against the byte pattern: what a runtime can stream without the client library's cost. With
// `durable` the connection opts in to a durable session (docs/durable-sessions.md) and
// acknowledges as the C++ client does, so that the two modes can be compared on one path.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "byte_pattern.hpp"

namespace agentrt::bench {

struct raw_stream_outcome {
  std::string problem; // empty on success
  std::uint64_t frames = 0;
  std::uint64_t stderr_bytes = 0;
  double seconds = 0;
  bool durable = false; // the runtime answered with a session_info_message
};

// The URL with a query parameter appended (`?` or `&` as the URL needs).
std::string with_query(const std::string& url, const std::string& parameter);

// Runs `command` and feeds its stdout to `checker`. Frames laid out as agentrt encodes them
// take a fast path; any other layout is decoded in full.
raw_stream_outcome raw_stream(const std::string& url, const std::optional<std::string>& token,
                              const std::string& command, std::chrono::milliseconds timeout,
                              pattern_checker& checker, bool durable = false);

} // namespace agentrt::bench

// JSON text <-> protocol messages. Decoding validates every field and reports the first problem
// with the field's path, e.g. "commands[1].cwd: expected string, got number".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "agentrt/protocol/messages.hpp"

namespace agentrt::protocol {

struct decode_result {
  std::optional<message> msg; // set on success
  std::error_code ec;         // protocol::errc on failure
  std::string error;          // human-readable, names the offending field
  std::string message_type;   // the frame's message_type when it could be read, else empty
  // The frame's "seq" (durable sessions, docs/durable-sessions.md): read on runtime -> client
  // messages only, and then checked (an integer >= 1); unset on every other frame.
  std::optional<std::uint64_t> seq;
};

// Parses one frame. Absent and null fields are the same; unknown fields are ignored;
// the legacy "artifacts_dir" is merged into "artifacts_dirs".
decode_result decode(std::string_view frame);

// decode() for the payload of a WebSocket text frame as the WebSocket library delivered it. The
// library has already checked that it is UTF-8 (RFC 6455 makes it fail the connection
// otherwise), so that check, which costs more than the rest of the parse, is not repeated; any
// other text (a file, a log line, test input) goes through decode(). Everything else, malformed
// JSON and excessive nesting included, is refused exactly as decode() refuses it.
decode_result decode_text_frame(const std::string& frame);

// s as a JSON string literal, quotes included, escaped as encode() escapes every string (invalid
// UTF-8 becomes U+FFFD), for callers that write JSON of their own around protocol text.
std::string json_quote(std::string_view s);

// Serializes a message as one JSON object with "message_type" first. Optional fields that are
// not set are omitted (never written as null).
std::string encode(const message& m);

// encode() with "seq":N as the last member when seq is set: the frame of a numbered message
// of a durable session (runtime -> client; for ack_message, whose "seq" is its own field,
// seq is ignored).
std::string encode(const message& m, std::optional<std::uint64_t> seq);

} // namespace agentrt::protocol

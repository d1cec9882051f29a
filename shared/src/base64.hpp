// Internal: RFC 4648 base64 (standard alphabet, padded) for the bytes that travel in JSON text
// frames (a terminal's raw output, stdin chunks).
#pragma once

#include <string>
#include <string_view>

namespace agentrt::protocol::detail {

void append_base64(std::string& out, std::string_view bytes);

// False for anything but canonical padded base64 (whitespace included): a peer that sends
// something else is told so rather than having bytes guessed.
bool decode_base64(std::string_view text, std::string& out);

} // namespace agentrt::protocol::detail

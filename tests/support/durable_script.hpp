// Building blocks for scripted_peer scripts that play a runtime with durable sessions
// (docs/durable-sessions.md): the upgrade's extension header, session_info_message, and
// numbered frames.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agentrt/protocol/messages.hpp"
#include "support/scripted_peer.hpp"

namespace agentrt::test::durable_script {

inline constexpr const char* session_id = "s-test-1";
inline constexpr const char* resume_token = "00112233445566778899aabbccddeeff";

// session_info_message for session_id / resume_token.
protocol::session_info_message info(bool resumed, std::uint64_t last_seq,
                                    std::uint64_t requests_received,
                                    std::optional<bool> request_in_flight = std::nullopt);
// command_output_message {stdout, text, "cmd"} numbered seq.
scripted_peer::step out(const std::string& text, std::uint64_t seq);
// command_execution_result_message with one result for "cmd", numbered seq.
scripted_peer::step exec_result(int exit_code, std::uint64_t seq);
// A connection whose upgrade answer carries the extension header.
scripted_peer::connection durable(std::vector<scripted_peer::step> steps);

} // namespace agentrt::test::durable_script

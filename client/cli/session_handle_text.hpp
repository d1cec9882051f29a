// The text forms of a durable session's handle for `agentrt-client exec/query --detach` and
// `agentrt-client attach`: one JSON object, and shell assignments to `eval`
// (AGENTRT_URL, AGENTRT_SESSION, AGENTRT_RESUME_TOKEN; AGENTRT_LAST_SEQ when not 0).
#pragma once

#include <optional>
#include <string>

#include "agentrt/client/results.hpp"
#include "agentrt/protocol/result.hpp"

namespace agentrt::cli {

// '...' with embedded quotes escaped, for /bin/sh.
std::string shell_quote(const std::string& s);

// {"message_type":"session_handle","url":...,"session_id":...,"resume_token":...,
//  "expires_in_s":...} (and "last_seq" when not 0), on one line.
std::string handle_json(const client::session_handle& h);
// export AGENTRT_URL='...' AGENTRT_SESSION='...' AGENTRT_RESUME_TOKEN='...'
std::string handle_shell(const client::session_handle& h);

// A handle from text: the JSON object, or the whole output of --detach (whose JSON line is a
// shell comment). Fails with a protocol::errc (not_an_object, missing_field, wrong_type) and
// the text to show when it is not one.
protocol::result<client::session_handle> parse_handle(const std::string& text);
// A handle from AGENTRT_URL, AGENTRT_SESSION, AGENTRT_RESUME_TOKEN (and AGENTRT_LAST_SEQ).
// Fails with protocol::errc::missing_field or invalid_value and the text to show.
protocol::result<client::session_handle> handle_from_env();
// The handle the command line gives (its text) or else the environment's.
protocol::result<client::session_handle> handle_from(const std::optional<std::string>& text);

} // namespace agentrt::cli

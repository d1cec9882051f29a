// What a successful request returns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agentrt/protocol/messages.hpp"

namespace agentrt::client {

struct query_result {
  enum class kind { text, structured_output };
  kind type = kind::text;
  std::string text{};                        // when type == text
  std::string structured_output_json = "{}"; // when type == structured_output
  std::string metadata_json = "{}";          // the result_message's metadata
};

struct execute_result {
  // One per command that ran; the runtime stops at the first non-zero exit, which is last.
  std::vector<protocol::command_result> results{};

  // The first non-zero exit code, 0 when every command succeeded.
  int failed_exit_code() const noexcept {
    for (const auto& r : results)
      if (r.exit_code != 0)
        return r.exit_code;
    return 0;
  }
};

// What it takes to attach to a durable session from anywhere (async_session::attach), e.g. from
// another process after detach(). resume_token is a secret: whoever has it can attach.
struct session_handle {
  std::string url{};
  std::string session_id{};
  std::string resume_token{};
  // The last message the detaching session received; attaching with it continues after it,
  // attaching with 0 replays everything the runtime still has.
  std::uint64_t last_seq = 0;
  double expires_in_s = 0; // how long the runtime keeps the session for an attach
};

// The outcome of the request a session attached to: the terminal of whatever request was in
// flight (or had ended unseen), whoever sent it.
struct attach_result {
  enum class kind {
    none,    // no request was in flight and none had ended unseen
    execute, // a command execution: see execute
    query,   // an invocation: see query
  };
  kind type = kind::none;
  execute_result execute{};
  query_result query{};
};

} // namespace agentrt::client

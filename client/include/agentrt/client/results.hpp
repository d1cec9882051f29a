// What a successful request returns.
#pragma once

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

} // namespace agentrt::client

// Bits every adapter's start() needs: the requested schema, the working directory, and the
// success outcome for a final answer (validated against the schema when one was requested).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/harness.hpp"
#include "harness/schema_validator.hpp"

namespace agentrt::runtime::harness {

// The settings a harness_settings object can carry, by their wire names.
enum class setting {
  max_turns,
  timeout_s,
  permission_mode,
  allowed_tools,
  disallowed_tools,
  max_budget_usd,
  token_budget,
  mcp_servers,
  extra_args,
};

// Ok when every setting present in inv.settings is in supported; otherwise
// harness_errc::unsupported_setting, the text naming the first one that is not, the agent, and
// what that agent does support.
protocol::result<void> check_settings(const std::string& agent, const invocation& inv,
                                      const std::vector<setting>& supported);

// config with the invocation's max_turns, timeout_s and token_budget in place of the flags'.
harness_config effective_config(const harness_config& config, const invocation& inv);

// The schema of inv.output_schema_json (output_schema::parse), nullptr when no structured
// output was requested.
protocol::result<std::shared_ptr<const output_schema>> requested_schema(const invocation& inv);

// e with prefix put before its text ("codex: " + "cannot create ..."), its code kept.
protocol::error prefixed(const std::string& prefix, protocol::error e);

std::string workdir_of(const harness_config& config, const invocation& inv);

// A variable as the harness will see it: agent_env over the runtime's environment.
std::optional<std::string> env_of(const invocation& inv, const std::string& name);
// Its value, "" when unset.
std::string env_value(const invocation& inv, const std::string& name);

// A text result, or (with a schema) the JSON object found in text, validated. On a mismatch
// the outcome is a failure (harness_errc::output_mismatch) quoting the validation error and
// the answer.
harness_outcome final_answer(const std::string& harness_name, std::string_view text,
                             const output_schema* schema, std::string metadata_json);

// Same for an answer that already is a JSON value (e.g. Claude's structured_output).
harness_outcome structured_answer(const std::string& harness_name, const rapidjson::Value& value,
                                  const output_schema& schema, std::string metadata_json);

} // namespace agentrt::runtime::harness

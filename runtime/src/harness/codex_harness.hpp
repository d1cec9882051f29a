// Codex: `codex exec --json ... PROMPT` (or `codex exec resume --json ... THREAD_ID PROMPT`).
// agent_message items become assistant messages; command_execution, file_change,
// mcp_tool_call and web_search items agent events; turn.completed the outcome with usage;
// turn.failed (or a non-zero exit) an error. --output-schema gives structured output, the
// system prompt travels as `-c developer_instructions=...`, and AGENTRT_CODEX_BASE_URL points
// codex at a Responses API endpoint of the user's choosing through `-c model_providers...`.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "harness/harness.hpp"
#include "harness/process_harness.hpp"
#include "harness/process_run.hpp"
#include "harness/schema_validator.hpp"

namespace agentrt::runtime::harness {

class codex_parser : public event_parser {
public:
  // model: the requested model, reported in the session event (codex does not print it).
  codex_parser(event_sink sink, std::shared_ptr<const output_schema> schema,
               std::string model = {});
  bool on_line(std::string_view line) override;
  harness_outcome finish(const process_end& end) override;

private:
  void on_item(const rapidjson::Value& item, bool completed);
  // Sent once per item id, whether codex reported the item as started or only as completed.
  void tool_use(const std::string& id, const std::string& name, const std::string& input_json);
  void tool_result(const std::string& id, const std::string& output, bool is_error,
                   const rapidjson::Value* exit_code = nullptr);

  event_sink sink_;
  std::shared_ptr<const output_schema> schema_;
  std::string model_;
  std::string thread_id_;
  std::string last_message_;
  std::set<std::string> announced_tools_; // item ids whose tool_use was sent
  std::string usage_json_;                // turn.completed's usage, when it came
  bool turn_completed_ = false;
  bool turn_failed_ = false;
  std::string failure_;    // turn.failed's message
  std::string last_error_; // the last top-level error event (often just a reconnect notice)
};

// A Responses API endpoint configured by the environment rather than by codex's own config.
struct codex_provider {
  std::string base_url;          // AGENTRT_CODEX_BASE_URL, e.g. http://host:8000/v1; "" = none
  bool api_key_from_env = false; // OPENAI_API_KEY is set: codex sends it as the bearer token
};

// AGENTRT_CODEX_BASE_URL and OPENAI_API_KEY from the invocation's agent_env, else from the
// runtime's environment (an empty agent_env value counts as unset).
codex_provider codex_provider_of(const invocation& inv);

// What the adapter adds to the CLI's environment: RUST_LIB_BACKTRACE=0 (unless set), and
// CODEX_API_KEY=$OPENAI_API_KEY when no endpoint is configured and codex has no credentials of
// its own (no CODEX_API_KEY, no $CODEX_HOME/auth.json): `codex exec` never reads OPENAI_API_KEY
// for OpenAI itself.
std::map<std::string, std::string> codex_env(const invocation& inv, const codex_provider& provider);

// A TOML basic string: how `-c key=value` values reach codex without being reinterpreted.
std::string toml_string(const std::string& text);

// A JSON value as a TOML inline value (objects become inline tables); nullopt for JSON null,
// which TOML cannot say.
std::optional<std::string> toml_value(const rapidjson::Value& v);

// The invocation's harness_settings as codex arguments: the sandbox (permission_mode, one of
// codex's --sandbox modes) and mcp_servers as one `-c mcp_servers={...}` override. Fails
// (protocol::errc::invalid_value) saying why they cannot be (an unknown sandbox mode, an MCP
// map TOML cannot carry).
protocol::result<std::vector<std::string>> codex_settings(const invocation& inv);

// The argv for an invocation (program first). schema_path: the file holding the output schema
// ("" = none); settings: codex_settings(inv)'s value.
std::vector<std::string> codex_argv(const std::string& program, const invocation& inv,
                                    const codex_provider& provider, const std::string& schema_path,
                                    const std::vector<std::string>& settings = {});

class codex_harness : public process_harness {
public:
  // program: the codex executable (a path, or a name looked up in PATH).
  codex_harness(harness_config config, std::string program);
  std::string name() const override { return "codex"; }

protected:
  std::vector<setting> supported_settings() const override {
    return {setting::timeout_s, setting::permission_mode, setting::mcp_servers,
            setting::extra_args};
  }
  prepared prepare(const invocation& inv, std::shared_ptr<const output_schema> schema,
                   const event_sink& sink, process_run_options& opts) override;

private:
  std::string program_;
};

} // namespace agentrt::runtime::harness

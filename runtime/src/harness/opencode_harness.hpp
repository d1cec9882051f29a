// OpenCode: `opencode run --format json`. Text parts become assistant messages, tool parts
// tool_use / tool_result agent events, reasoning parts reasoning events, step_finish parts the
// usage and cost, and error events an error outcome. OpenCode has neither a system-prompt nor
// a schema flag: the system prompt (and the turn limit) go into an agent that the adapter
// merges into the user's OPENCODE_CONFIG_CONTENT, and structured output is an instruction in
// the prompt whose answer is validated against the schema. -s continues a stored session.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/harness.hpp"
#include "harness/process_harness.hpp"
#include "harness/process_run.hpp"
#include "harness/schema_validator.hpp"

namespace agentrt::protocol {
class json_builder;
}

namespace agentrt::runtime::harness {

// The agent the adapter defines in the config and selects with --agent.
inline constexpr const char* opencode_agent_name = "agentrt";

class opencode_parser : public event_parser {
public:
  // model: the provider/model the run was started with ("" = OpenCode's default), reported in
  // the session event and the metadata because OpenCode's events do not name it.
  // resumed_session: the session the run was asked to continue ("" = a new one); a stream in
  // another session is an error.
  opencode_parser(event_sink sink, std::shared_ptr<const output_schema> schema, std::string model,
                  std::string resumed_session = {});
  bool on_line(std::string_view line) override;
  harness_outcome finish(const process_end& end) override;

private:
  void on_tool(const rapidjson::Value& part);
  void on_step_finish(const rapidjson::Value& part);
  void add_metadata(protocol::json_builder& w) const;

  event_sink sink_;
  std::shared_ptr<const output_schema> schema_;
  std::string model_;
  std::string resumed_session_;
  std::string session_id_;
  std::vector<std::string> step_texts_; // texts of the step in progress
  std::string final_text_;              // texts of the last step that had any
  std::string last_reason_;             // of the last step_finish
  int steps_ = 0;
  double cost_ = 0;
  bool have_cost_ = false;
  std::int64_t input_ = 0, output_ = 0, reasoning_ = 0, cache_read_ = 0, cache_write_ = 0,
               total_ = 0;
  std::vector<std::string> errors_;    // "Name: message" of each error event
  std::string error_name_;             // of the first error event
  std::optional<double> error_status_; // its HTTP status, when it was an API error
};

// How one invocation is started: argv, the prompt for stdin, and the config to put into
// OPENCODE_CONFIG_CONTENT.
struct opencode_command {
  std::vector<std::string> argv; // program first
  // The prompt goes to stdin: `opencode run` wraps every argv word containing a space in
  // quotes before joining them, so a prompt given as an argument would reach the model altered.
  std::string prompt;
  std::string config_content; // the user's config with the agent merged in
  std::string model;          // given with -m; "" = OpenCode's default
};

// user_config: the user's OPENCODE_CONFIG_CONTENT (JSON, comments and trailing commas allowed),
// "" for none. A model without a provider prefix gets the provider of the config's "model",
// else of its only configured provider, else "anthropic". Fails (protocol::errc::invalid_value)
// when the invocation cannot be run: a user config or an mcp_servers member of the wrong shape.
protocol::result<opencode_command> opencode_command_for(const std::string& program,
                                                        const harness_config& config,
                                                        const invocation& inv,
                                                        const output_schema* schema,
                                                        const std::string& user_config);

class opencode_harness : public process_harness {
public:
  // program: the opencode executable (a path, or a name looked up in PATH).
  opencode_harness(harness_config config, std::string program);
  std::string name() const override { return "opencode"; }

protected:
  // max_turns is the agent's "steps", disallowed_tools its "tools" map, mcp_servers the
  // config's "mcp"; OpenCode has no permission mode beside --auto and no allow-list.
  std::vector<setting> supported_settings() const override {
    return {setting::max_turns, setting::timeout_s, setting::disallowed_tools, setting::mcp_servers,
            setting::extra_args};
  }
  prepared prepare(const invocation& inv, std::shared_ptr<const output_schema> schema,
                   const event_sink& sink, process_run_options& opts) override;

private:
  std::string program_;
};

} // namespace agentrt::runtime::harness

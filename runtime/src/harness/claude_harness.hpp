// Claude Code: `claude -p PROMPT --output-format stream-json --verbose`. Assistant text blocks
// become assistant messages, tool_use / tool_result blocks agent events, and the final result
// line the outcome (with duration, turns, cost, usage and session id); --json-schema gives
// structured output, --resume continues a stored session.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness/harness.hpp"
#include "harness/process_harness.hpp"
#include "harness/process_run.hpp"
#include "harness/schema_validator.hpp"

namespace agentrt::runtime::harness {

class claude_parser : public event_parser {
public:
  claude_parser(event_sink sink, std::shared_ptr<const output_schema> schema);
  bool on_line(std::string_view line) override;
  harness_outcome finish(const process_end& end) override;

private:
  void on_assistant(const rapidjson::Value& message);
  void on_user(const rapidjson::Value& message);

  event_sink sink_;
  std::shared_ptr<const output_schema> schema_;
  std::string session_id_;
  rapidjson::Document result_; // the result line, when it came
  bool have_result_ = false;
};

// The argv for an invocation (program first). config is the effective one (the invocation's
// max_turns applied); mcp_config_path is the --mcp-config file, "" for none.
std::vector<std::string> claude_argv(const std::string& program, const harness_config& config,
                                     const invocation& inv, const output_schema* schema,
                                     const std::string& mcp_config_path = {});

class claude_harness : public process_harness {
public:
  // program: the claude executable (a path, or a name looked up in PATH).
  claude_harness(harness_config config, std::string program);
  std::string name() const override { return "claude"; }

protected:
  std::vector<setting> supported_settings() const override {
    return {setting::max_turns,     setting::timeout_s,        setting::permission_mode,
            setting::allowed_tools, setting::disallowed_tools, setting::max_budget_usd,
            setting::mcp_servers,   setting::extra_args};
  }
  prepared prepare(const invocation& inv, std::shared_ptr<const output_schema> schema,
                   const event_sink& sink, process_run_options& opts) override;

private:
  std::string program_;
};

} // namespace agentrt::runtime::harness

// `agentrt --handler PATH`: the custom handler protocol of docs/protocol.md. One process per
// invocation; the invocation as one JSON line on stdin; JSON lines on stdout (assistant, error,
// result, and the agent_event extension); exit 0 after a result line is success.
#pragma once

#include <memory>
#include <string>

#include "harness/harness.hpp"
#include "harness/process_harness.hpp"
#include "harness/process_run.hpp"
#include "harness/schema_validator.hpp"

namespace agentrt::runtime::harness {

// The handler's stdout protocol, separate from the process for unit tests.
class handler_parser : public event_parser {
public:
  // schema: the requested structured output, or nullptr.
  handler_parser(event_sink sink, std::shared_ptr<const output_schema> schema);
  bool on_line(std::string_view line) override;
  harness_outcome finish(const process_end& end) override;

private:
  event_sink sink_;
  std::shared_ptr<const output_schema> schema_;
  bool have_result_ = false;
  harness_outcome result_;
  bool have_error_ = false;
  std::string last_error_;
  std::string last_error_metadata_ = "{}";
};

// The stdin line for an invocation (output_format parsed, null when absent).
std::string handler_stdin_line(const invocation& inv);

class handler_harness : public process_harness {
public:
  handler_harness(harness_config config, std::string path);
  std::string name() const override { return "handler"; }

protected:
  // Every setting reaches the handler on stdin (handler_stdin_line); it is the agent.
  std::vector<setting> supported_settings() const override {
    return {setting::max_turns,     setting::timeout_s,        setting::permission_mode,
            setting::allowed_tools, setting::disallowed_tools, setting::max_budget_usd,
            setting::token_budget,  setting::mcp_servers,      setting::extra_args};
  }
  prepared prepare(const invocation& inv, std::shared_ptr<const output_schema> schema,
                   const event_sink& sink, process_run_options& opts) override;

private:
  std::string path_;
};

} // namespace agentrt::runtime::harness

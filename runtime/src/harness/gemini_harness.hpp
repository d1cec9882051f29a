// Gemini CLI: `gemini --prompt=PROMPT --output-format stream-json --skip-trust --yolo`.
// Streamed assistant deltas become one assistant message per model turn, tool_use /
// tool_result lines agent events, and the result line the outcome (stats as usage). The CLI
// has no system-prompt flag and no schema flag: the system prompt goes through GEMINI_SYSTEM_MD
// (a file that REPLACES the CLI's built-in prompt, like claude's --system-prompt), structured
// output is asked for in the prompt and the final answer is parsed and validated. The settings
// the CLI needs with GOOGLE_GEMINI_BASE_URL live in a per-run GEMINI_CLI_HOME overlay, so the
// user's own ~/.gemini is read but never written to by the adapter.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/harness.hpp"
#include "harness/process_harness.hpp"
#include "harness/process_run.hpp"
#include "harness/run_dir.hpp"
#include "harness/schema_validator.hpp"

namespace agentrt::runtime::harness {

class gemini_parser : public event_parser {
public:
  gemini_parser(event_sink sink, std::shared_ptr<const output_schema> schema);
  bool on_line(std::string_view line) override;
  harness_outcome finish(const process_end& end) override;

private:
  void end_turn();

  event_sink sink_;
  std::shared_ptr<const output_schema> schema_;
  std::string session_id_;
  std::string model_;
  std::string turn_text_;      // assistant deltas of the model turn in progress
  std::string last_turn_text_; // the text of the last model turn that had any
  std::string last_error_;     // the last error event of severity "error"
  rapidjson::Document result_; // the result line, when it came
  bool have_result_ = false;
};

// The argv for an invocation (program first). With a schema the prompt ends with the
// instruction to answer with one JSON object matching it.
std::vector<std::string> gemini_argv(const std::string& program, const invocation& inv,
                                     const output_schema* schema);

// A variable of the CLI's environment: agent_env over the runtime's own.
using env_lookup = std::function<std::optional<std::string>(const std::string& name)>;

// The user's settings.json (nullptr when there is none) plus what the CLI needs to run in
// this environment, or nullopt when the user's settings work as they are. Today that is one
// thing: with GOOGLE_GEMINI_BASE_URL set, the CLI's own auth detection yields "gateway", which
// non-interactive mode rejects ("Invalid auth method selected."), so security.auth.selectedType
// becomes "gemini-api-key" when GEMINI_API_KEY is set and the user chose no auth type.
std::optional<std::string> gemini_settings_overlay(const std::string* user_settings,
                                                   const env_lookup& env);

// settings (a settings.json text; nullptr or blank = {}) with the invocation's max_turns
// (model.maxSessionTurns), disallowed_tools (appended to tools.exclude) and mcp_servers
// (merged into mcpServers, same shape) applied; nullopt when it asks for none of them.
// protocol::errc::invalid_value when settings is not a JSON object (the CLI's v1 layout
// included, which has no such keys).
protocol::result<std::optional<std::string>>
gemini_with_harness_settings(const std::string* settings, const protocol::harness_settings& h);

// The per-run private directory: system.md for GEMINI_SYSTEM_MD, and when settings must be
// added, home/ for GEMINI_CLI_HOME, which mirrors the user's Gemini home (GEMINI_CLI_HOME or
// HOME) with symlinks (so ~/.env, GEMINI.md, OAuth credentials and extensions still work,
// and sessions are written through home/.gemini/tmp into the user's own store, which resume
// needs) except for home/.gemini/settings.json, a merged copy. Removed by the destructor.
class gemini_run_dir {
public:
  // In parent ("" = the temp directory). nullptr when the run needs no files. Fails with
  // gemini_with_harness_settings' error, or an errno (the text names the file or directory).
  static protocol::result<std::unique_ptr<gemini_run_dir>>
  create(const std::filesystem::path& parent, const std::string& system_prompt,
         const env_lookup& env, const protocol::harness_settings& settings = {});
  const std::filesystem::path& path() const noexcept { return dir_->path(); }
  // GEMINI_SYSTEM_MD and/or GEMINI_CLI_HOME, to set in the CLI's environment.
  const std::map<std::string, std::string>& env() const noexcept { return env_; }

private:
  explicit gemini_run_dir(std::unique_ptr<run_dir> dir) : dir_(std::move(dir)) {}
  protocol::result<void> write_home_overlay(const std::string& settings, const env_lookup& env);

  std::unique_ptr<run_dir> dir_; // removal unlinks the overlay's symlinks, never their targets
  std::map<std::string, std::string> env_;
};

class gemini_harness : public process_harness {
public:
  // program: the gemini executable (a path, or a name looked up in PATH).
  gemini_harness(harness_config config, std::string program);
  std::string name() const override { return "gemini"; }

protected:
  // permission_mode is --approval-mode, allowed_tools --allowed-tools; max_turns,
  // disallowed_tools and mcp_servers go into the run's settings overlay.
  std::vector<setting> supported_settings() const override {
    return {setting::max_turns,     setting::timeout_s,        setting::permission_mode,
            setting::allowed_tools, setting::disallowed_tools, setting::mcp_servers,
            setting::extra_args};
  }
  prepared prepare(const invocation& inv, std::shared_ptr<const output_schema> schema,
                   const event_sink& sink, process_run_options& opts) override;

private:
  std::string program_;
};

} // namespace agentrt::runtime::harness

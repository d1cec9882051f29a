// The harness layer's one interface: an adapter (Claude Code, Codex, Gemini CLI, OpenCode, the
// native OpenAI-compatible loop, or a custom handler executable) turns one invocation into
// assistant texts, optional agent events and exactly one outcome. The session owns the wire:
// it redacts, filters by client capability and sends the messages; adapters never see sockets.
#pragma once

#include <cassert>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <asio/io_context.hpp>

#include "agentrt/protocol/messages.hpp"
#include "agentrt/protocol/result.hpp"
#include "process/process_reaper.hpp"
#include "process/process_scope.hpp"

namespace agentrt::runtime::harness {

// What the flags choose (--agent, --handler, --harness-timeout, --max-turns, --kill-grace).
struct harness_config {
  std::string agent;        // "claude", "codex", "gemini", "opencode", "openai"; empty = auto
  std::string handler_path; // --handler PATH; exclusive with agent
  std::string workdir;      // where the agent works; empty = the runtime's cwd
  std::chrono::milliseconds timeout{0}; // whole harness run; 0 = no limit
  std::chrono::milliseconds kill_grace{5000};
  int max_turns = 50; // model turns of the openai loop (and claude's --max-turns)
  // Retries of an openai loop chat request after a connection error, 429 or 5xx (openai_run).
  // No flag sets it: the default is the product's; tests lower it to keep failure cases short.
  int openai_max_retries = 2;
  std::int64_t openai_token_budget = 0; // prompt + completion tokens per invocation; 0 = none
};

struct invocation {
  std::string system_prompt;
  std::string user_prompt;
  std::string model; // empty = the harness's default
  // output_format_json_schema_str as given: {"type":"json_schema","schema":{...}}.
  std::optional<std::string> output_schema_json;
  std::map<std::string, std::string> agent_env;
  std::vector<std::string> secrets; // for the custom handler; the session does the redacting
  std::string source_id;
  std::string workdir; // empty = harness_config::workdir
  std::optional<std::string> resume_session_id;
  bool agent_events = false; // the client asked for agent_event_message
  // The invocation's "agent" field: a harness other than the runtime's default ("" = default).
  std::string agent;
  // The invocation's harness_settings. An adapter applies what it supports and fails the run
  // naming any present setting it cannot honour (adapter_support.hpp).
  protocol::harness_settings settings;
};

// Called on the io_context thread, in order. Texts are unredacted.
struct harness_callbacks {
  std::function<void(std::vector<std::string> text_blocks)> on_assistant;
  // event: "tool_use" | "tool_result" | "reasoning" | "usage" | "session"; data: a JSON object.
  // Only called when invocation::agent_events is set.
  std::function<void(std::string event, std::string data_json)> on_agent_event;
  std::function<void(std::string line)> on_log; // harness stderr lines, ignored output
};

// An answer (data and its metadata) or a failure (error and its metadata). error.code says
// what failed (harness_errc, protocol::errc, an errno); error.text is the error_message text,
// sent as it is (it may be empty: a custom handler's error is passed on unchanged).
struct harness_outcome {
  protocol::result_data data;       // when ok()
  std::string metadata_json = "{}"; // when ok(); carries session_id when the harness has one
  protocol::error error;            // when !ok()
  std::string error_metadata_json = "{}";

  bool ok() const noexcept { return !error; }

  static harness_outcome failure(protocol::error error, std::string metadata_json = "{}") {
    assert(error.code && "a failed outcome needs a code");
    harness_outcome out;
    out.error = std::move(error);
    out.error_metadata_json = std::move(metadata_json);
    return out;
  }
};

class harness_run {
public:
  virtual ~harness_run() = default;
  // Kills the run's process tree (SIGTERM, SIGKILL after kill_grace) or its HTTP request;
  // on_done is not called afterwards. The session still terminates its scope for stragglers.
  virtual void cancel() = 0;
  // Backpressure: the client is not reading what the run already produced. A run whose events
  // come from a process stops reading its stdout (the process blocks on the full pipe) until
  // resume_output(); others produce little between two of the session's checks and ignore it.
  virtual void pause_output() {}
  virtual void resume_output() {}
};

class harness {
public:
  using done_handler = std::function<void(harness_outcome)>;

  virtual ~harness() = default;
  virtual std::string name() const = 0;
  // Starts one run. on_done is called exactly once on io (never from inside start()), unless
  // cancel() came first or the caller dropped the run. The caller owns the run: destroying it
  // kills a process it still has running. Child processes are spawned in scope; reaper and
  // scope must outlive the run.
  virtual std::shared_ptr<harness_run> start(asio::io_context& io, process::process_reaper& reaper,
                                             process::process_scope& scope, const invocation& inv,
                                             harness_callbacks callbacks, done_handler on_done) = 0;
};

// The agents an invocation may name in its "agent" field.
inline constexpr const char* agent_names[] = {"claude",   "codex",  "gemini",
                                              "opencode", "openai", "handler"};

// What make_harness chose: the harness, and a line for the startup log saying which and why.
struct harness_choice {
  std::unique_ptr<harness> chosen;
  std::string startup_line;
};

// The harness that config asks for, or the first one found: a CLI on PATH (claude, codex,
// gemini, opencode, in that order) or an OpenAI-compatible endpoint in the environment
// (OPENAI_BASE_URL or OPENAI_API_KEY). Fails (protocol::errc::invalid_value) only for a
// configuration error (unknown agent, --agent with --handler), the text saying why. When none
// was found the chosen harness fails every invocation with an error listing what was looked
// for.
// The returned harness runs an invocation whose "agent" names another agent with that one,
// when it is available (a CLI on PATH, a configured --handler, an OpenAI-compatible endpoint
// in the environment or the invocation's agent_env); otherwise the run fails listing the
// agents that are.
protocol::result<harness_choice> make_harness(const harness_config& config);

} // namespace agentrt::runtime::harness

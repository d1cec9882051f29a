// The base of every adapter whose harness is a child process (claude, codex, gemini,
// opencode, custom handlers): start() is the same for all of them — the requested schema (an
// unusable one fails the run before anything is spawned), the shared process options, then
// process_run — and an adapter only says how its CLI is invoked and how its output is read.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness/adapter_support.hpp"
#include "harness/harness.hpp"
#include "harness/process_run.hpp"
#include "harness/schema_validator.hpp"

namespace agentrt::runtime::harness {

class process_harness : public harness {
public:
  std::shared_ptr<harness_run> start(asio::io_context& io, process::process_reaper& reaper,
                                     process::process_scope& scope, const invocation& inv,
                                     harness_callbacks callbacks, done_handler on_done) final;

protected:
  explicit process_harness(harness_config config) : config_(std::move(config)) {}

  // The run's parser, or why the run cannot start.
  using prepared = protocol::result<std::unique_ptr<event_parser>>;
  // Fills in opts (argv, environment, stdin, keep_alive; cwd, timeout and the invocation's
  // agent_env are already there) and makes the run's parser. sink may be used for log lines.
  virtual prepared prepare(const invocation& inv, std::shared_ptr<const output_schema> schema,
                           const event_sink& sink, process_run_options& opts) = 0;

  // The harness_settings this adapter honours; a run asking for any other fails before it
  // starts. timeout_s is applied to every process run by the base (base_process_options).
  virtual std::vector<setting> supported_settings() const { return {setting::timeout_s}; }

  const harness_config& config() const noexcept { return config_; }

private:
  harness_config config_;
};

} // namespace agentrt::runtime::harness

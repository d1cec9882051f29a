// make_harness: --handler, --agent NAME, or the first harness found on this machine.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>

#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/json_builder.hpp"
#include "harness/adapter_support.hpp"
#include "harness/claude_harness.hpp"
#include "harness/codex_harness.hpp"
#include "harness/gemini_harness.hpp"
#include "harness/handler_harness.hpp"
#include "harness/harness.hpp"
#include "harness/harness_errc.hpp"
#include "harness/immediate_run.hpp"
#include "harness/json_support.hpp"
#include "harness/openai_harness.hpp"
#include "harness/opencode_harness.hpp"

namespace agentrt::runtime::harness {

namespace {

// The harness of a runtime that found none: every invocation fails, saying what was looked for.
class unavailable_harness : public harness {
public:
  explicit unavailable_harness(std::string why) : why_(std::move(why)) {}
  std::string name() const override { return "none"; }
  std::shared_ptr<harness_run> start(asio::io_context& io, process::process_reaper&,
                                     process::process_scope&, const invocation&, harness_callbacks,
                                     done_handler on_done) override {
    return immediate_run::fail(
        io,
        harness_outcome::failure({harness_errc::agent_unavailable, why_},
                                 protocol::json_builder().add("harness", "none").str()),
        std::move(on_done));
  }

private:
  std::string why_;
};

// The path of an executable program in the runtime's PATH, or "".
std::string find_on_path(const std::string& program) {
  if (program.find('/') != std::string::npos)
    return ::access(program.c_str(), X_OK) == 0 ? program : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty())
      dir = ".";
    std::string candidate = dir + "/" + program; // not const: returned by moving
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return "";
}

template <class Adapter>
std::unique_ptr<harness> make_cli(const harness_config& config, std::string program) {
  return std::make_unique<Adapter>(config, std::move(program));
}

// The CLI adapters, in auto-detect order. Each takes the program's path (or bare name).
struct cli_agent {
  const char* name;
  const char* program;
  std::unique_ptr<harness> (*make)(const harness_config&, std::string program);
};
const cli_agent cli_agents[] = {
    {"claude", "claude", &make_cli<claude_harness>},
    {"codex", "codex", &make_cli<codex_harness>},
    {"gemini", "gemini", &make_cli<gemini_harness>},
    {"opencode", "opencode", &make_cli<opencode_harness>},
};

std::string available_agents() {
  std::string out;
  for (const auto& a : cli_agents)
    out += std::string(a.name) + ", ";
  return out + "openai";
}

// An OpenAI-compatible endpoint is configured for this invocation (its agent_env or the
// runtime's environment).
bool openai_configured(const invocation& inv) {
  for (const char* var : {"OPENAI_BASE_URL", "OPENAI_API_KEY"})
    if (!env_value(inv, var).empty())
      return true;
  return false;
}

// The runtime's harness plus the per-invocation "agent" field: an invocation that names
// another agent runs on that one when it is available here. The other harnesses are made on
// first use and kept (at most one per agent and program path), because a run may outlive the
// invocation that started it and the openai harness owns the transfer thread its runs use.
class agent_router : public harness {
public:
  agent_router(harness_config config, std::unique_ptr<harness> fallback)
      : config_(std::move(config)), default_(std::move(fallback)) {}

  std::string name() const override { return default_->name(); }

  std::shared_ptr<harness_run> start(asio::io_context& io, process::process_reaper& reaper,
                                     process::process_scope& scope, const invocation& inv,
                                     harness_callbacks callbacks, done_handler on_done) override {
    bool known = inv.agent.empty();
    for (const char* name : agent_names)
      known |= inv.agent == name;
    if (known && (inv.agent.empty() || inv.agent == default_->name()))
      return default_->start(io, reaper, scope, inv, std::move(callbacks), std::move(on_done));
    auto chosen = select(inv);
    if (!chosen.ok()) {
      protocol::error why = std::move(chosen).error();
      why.text += " (available on this runtime: " + available(inv) + ")";
      return immediate_run::fail(
          io,
          harness_outcome::failure(std::move(why), protocol::json_builder()
                                                       .add("harness", default_->name())
                                                       .add("agent", inv.agent)
                                                       .add("available", available(inv))
                                                       .str()),
          std::move(on_done));
    }
    return chosen.value()->start(io, reaper, scope, inv, std::move(callbacks), std::move(on_done));
  }

private:
  // The harness for inv.agent, or why it is not available.
  protocol::result<harness*> select(const invocation& inv) {
    const std::string& agent = inv.agent;
    for (const auto& a : cli_agents) {
      if (agent != a.name)
        continue;
      const std::string found = find_on_path(a.program);
      if (found.empty()) {
        return {harness_errc::agent_unavailable,
                "agent \"" + agent + "\" is not available: " + a.program + " is not on PATH"};
      }
      return cached(agent + "\n" + found, [&] { return a.make(config_, found); });
    }
    if (agent == "handler") {
      if (config_.handler_path.empty()) {
        return {harness_errc::agent_unavailable,
                "agent \"handler\" is not available: the runtime was started without --handler"};
      }
      return cached(
          agent, [&] { return std::make_unique<handler_harness>(config_, config_.handler_path); });
    }
    if (agent == "openai") {
      if (!openai_configured(inv)) {
        return {harness_errc::agent_unavailable,
                "agent \"openai\" is not available: neither OPENAI_BASE_URL nor OPENAI_API_KEY "
                "is set (in the runtime's environment or the invocation's agent_env)"};
      }
      return cached(agent, [&] { return std::make_unique<openai_harness>(config_); });
    }
    return {protocol::errc::invalid_value, "unknown agent \"" + agent + "\""};
  }

  // The agents an invocation could choose here, e.g. "claude, openai, handler".
  std::string available(const invocation& inv) const {
    std::string out;
    auto add = [&out](const std::string& name) {
      if (out.find(name) == std::string::npos)
        out += (out.empty() ? "" : ", ") + name;
    };
    if (default_->name() != "none")
      add(default_->name());
    for (const auto& a : cli_agents)
      if (!find_on_path(a.program).empty())
        add(a.name);
    if (openai_configured(inv))
      add("openai");
    if (!config_.handler_path.empty())
      add("handler");
    return out.empty() ? std::string("none") : out;
  }

  template <class Make> harness* cached(const std::string& key, Make make) {
    auto& slot = others_[key];
    if (!slot)
      slot = make();
    return slot.get();
  }

  harness_config config_;
  std::unique_ptr<harness> default_;
  std::map<std::string, std::unique_ptr<harness>> others_;
};

protocol::result<harness_choice> make_default_harness(const harness_config& config);

} // namespace

protocol::result<harness_choice> make_harness(const harness_config& config) {
  auto choice = make_default_harness(config);
  if (choice.ok())
    choice->chosen = std::make_unique<agent_router>(config, std::move(choice->chosen));
  return choice;
}

namespace {

protocol::result<harness_choice> make_default_harness(const harness_config& config) {
  if (!config.handler_path.empty() && !config.agent.empty())
    return {protocol::errc::invalid_value, "--agent and --handler are mutually exclusive"};
  if (!config.handler_path.empty()) {
    return harness_choice{std::make_unique<handler_harness>(config, config.handler_path),
                          "harness: custom handler " + config.handler_path};
  }
  for (const auto& a : cli_agents) {
    if (config.agent != a.name)
      continue;
    const std::string found = find_on_path(a.program);
    return harness_choice{a.make(config, found.empty() ? a.program : found),
                          std::string("harness: ") + a.name + " (" +
                              (found.empty() ? std::string("not found on PATH yet") : found) + ")"};
  }
  if (config.agent == "openai") {
    return harness_choice{std::make_unique<openai_harness>(config),
                          "harness: openai (OPENAI_BASE_URL, or per invocation in agent_env)"};
  }
  if (!config.agent.empty()) {
    return {protocol::errc::invalid_value,
            "unknown agent \"" + config.agent + "\" (available: " + available_agents() + ")"};
  }

  std::string looked_for;
  for (const auto& a : cli_agents) {
    if (const std::string found = find_on_path(a.program); !found.empty()) {
      return harness_choice{a.make(config, found),
                            std::string("harness: ") + a.name + " (found " + found + " on PATH)"};
    }
    looked_for += std::string(looked_for.empty() ? "" : ", ") + a.program;
  }
  for (const char* var : {"OPENAI_BASE_URL", "OPENAI_API_KEY"}) {
    const char* v = std::getenv(var);
    if (v && *v) {
      return harness_choice{std::make_unique<openai_harness>(config),
                            std::string("harness: openai (") + var + " is set)"};
    }
  }
  // Not a configuration error: the runtime starts, logs why, and every invocation says it.
  std::string why =
      "no agent harness available: looked for " + looked_for +
      " on PATH and for OPENAI_BASE_URL or OPENAI_API_KEY in the environment (or start agentrt "
      "with --agent NAME or --handler PATH)";
  auto none = std::make_unique<unavailable_harness>(why);
  return harness_choice{std::move(none), std::move(why)};
}

} // namespace

} // namespace agentrt::runtime::harness

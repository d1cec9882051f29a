// agentrt-client's command line (CLI11): the subcommands exec, query and attach, each with its
// own --help listing every option it takes, --version, --flag=value, and "--" ending the
// options (what follows is exec's commands, "-h" included).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agentrt/protocol/messages.hpp"

namespace agentrt::cli {

enum class ci_format { none, github, gitlab };

struct cli_options {
  std::string mode, url;
  std::optional<std::string> token;
  std::optional<double> timeout_s, idle_timeout_s, dead_after_s, wait_ready_s;
  std::vector<protocol::downloadable> downloads;
  std::vector<std::string> secrets, artifacts;
  std::optional<std::string> upload_to, presign_cmd, ca_file;
  std::string upload_bind = "127.0.0.1", upload_host;
  bool overwrite = false;
  bool insecure = false, json = false;
  bool detach = false, durable = true;
  std::optional<int> reconnect_attempts;
  std::optional<double> reconnect_deadline_s;
  std::optional<std::string> handle_text; // attach
  ci_format ci = ci_format::none;
  std::optional<std::string> summary_json;
  // exec: each command's fields.
  std::optional<std::string> cwd;
  protocol::string_map env;
  std::vector<std::string> commands; // after "--", or the --script as one command
  std::optional<double> command_timeout_s;
  std::optional<std::string> stdin_data; // --stdin FILE's content
  // query: the texts, files already read.
  std::optional<std::string> prompt, system, model, schema;
  // query: agentrt extensions (the agent, its settings, the session to resume).
  std::optional<std::string> agent, resume_session_id;
  protocol::harness_settings harness;
  // exec and query: --no-announce-existing sends announce_existing_artifacts=false.
  std::optional<bool> announce_existing_artifacts;
  // Session processes: exec --tty, spawn (its readiness), ps, kill and wait ([HANDLE] ID).
  bool tty = false;
  std::optional<int> ready_port;
  std::optional<std::string> ready_probe;
  std::optional<double> ready_timeout_s;
  std::string process_id;
  std::string signal_name = "SIGTERM";
};

// Fills o from argv. nullopt: go on and run; otherwise exit with the code (0 after --help or
// --version, 64 after a usage error, which names the argument at fault on stderr).
std::optional<int> parse_options(int argc, char** argv, cli_options& o);

} // namespace agentrt::cli

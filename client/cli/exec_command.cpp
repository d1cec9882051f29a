// agentrt-client exec: each command is its own request on one session, in order, so that each
// gets its CI log group, its duration in --summary-json, and a failure names its command; the
// first failure stops the run, as the runtime does within one request. --json still prints one
// command_execution_result_message with every result.
#include <chrono>

#include "ci_log.hpp"
#include "session_handle_text.hpp"
#include "session_run.hpp"
#include "subcommands.hpp"

namespace agentrt::cli {

namespace ac = agentrt::client;

namespace {

std::vector<protocol::command> commands_of(const cli_options& o) {
  std::vector<protocol::command> commands;
  for (const auto& text : o.commands) {
    protocol::command c;
    c.command = text;
    c.cwd = o.cwd;
    if (!o.env.empty())
      c.env = o.env;
    c.timeout_s = o.command_timeout_s;
    c.stdin_data = o.stdin_data;
    commands.push_back(std::move(c));
  }
  return commands;
}

ac::execute_options request_fields(const cli_options& o) {
  ac::execute_options options;
  options.secrets_to_redact = o.secrets;
  options.downloadables = o.downloads;
  options.artifacts_dirs = o.artifacts;
  options.announce_existing_artifacts = o.announce_existing_artifacts;
  return options;
}

// The options of command i's request: the request's fields with the first (the runtime keeps
// the artifact directories for the session, and the downloads are done once), the output and
// time limits with every one; `deadline` is --timeout's, for the whole run.
ac::execute_options options_for_command(std::size_t i, cli_run& run,
                                        std::chrono::steady_clock::time_point deadline) {
  const cli_options& o = run.o;
  ac::execute_options options;
  if (i == 0)
    options = request_fields(o);
  else
    options.secrets_to_redact = o.secrets;
  set_output_callbacks(options, o, run.control);
  // The upload callbacks set with the directories stay in effect for the whole session.
  if (i == 0)
    run.arts->attach(options);
  set_dead_after(options, o);
  if (o.timeout_s)
    options.timeout = std::max(std::chrono::milliseconds(1),
                               std::chrono::duration_cast<std::chrono::milliseconds>(
                                   deadline - std::chrono::steady_clock::now()));
  return options;
}

// Command i of count exited with `code` (not 0): a line on stderr (or a JSON line) and the CI
// log's error.
void report_failed_command(const cli_options& o, std::size_t i, std::size_t count,
                           const std::string& command, int code, ci_log& ci) {
  const std::string text = "command " + std::to_string(i + 1) + " of " + std::to_string(count) +
                           " failed with exit code " + std::to_string(code) + ": " + command;
  if (o.json)
    json_line(R"({"message_type":"command_failed","index":)" + std::to_string(i) +
              R"(,"command":)" + json_string(command) + R"(,"exit_code":)" + std::to_string(code) +
              "}");
  else
    print(stderr, "agentrt-client: " + text + "\n");
  ci.error(text);
}

} // namespace

int run_exec(const cli_options& o) {
  if (o.tty)
    return run_exec_tty(o);
  const auto commands = commands_of(o);
  if (o.detach)
    return run_detached(o, [&](ac::async_session& s) {
      ac::execute_options options = request_fields(o);
      if (!o.artifacts.empty()) // answered by attach
        options.on_artifact_upload_request = [](const protocol::artifact_upload_request_message&,
                                                ac::upload_reply reply) { reply(std::nullopt); };
      return std::async(
          std::launch::deferred,
          [f = s.execute_commands(commands, options)]() mutable { return f.get().second; });
    });

  cli_run run(o, "exec");
  if (auto rc = run.open())
    return *rc;
  auto& control = run.control;
  auto& summary = run.summary;
  ci_log ci(o.json ? ci_format::none : o.ci);

  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + to_ms(o.timeout_s.value_or(0));
  ac::execute_result all;
  int status = 0;
  bool handshake = true;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    const auto& command = commands[i];
    ac::execute_options options = options_for_command(i, run, deadline);
    ci.begin_command(command.command);
    summary.commands.push_back({command.command, std::nullopt, 0});
    const auto started = clock::now();
    control.begin_request();
    auto [result, e] = run.session->execute_commands({command}, options).get();
    control.end_request();
    summary.commands.back().duration_s =
        std::chrono::duration<double>(clock::now() - started).count();
    ci.end_command();
    if (e) {
      status = run.fail(e, "'" + command.command + "'");
      ci.error(summary.error->message);
      // A dead connection has nothing to drain; a runtime error leaves the session usable.
      handshake = e.code == ac::errc::runtime_error;
      break;
    }
    all.results.insert(all.results.end(), result.results.begin(), result.results.end());
    const int code = result.failed_exit_code();
    summary.commands.back().exit_code = code;
    if (code != 0) {
      status = code > 0 && code < 256 ? code : 1;
      report_failed_command(o, i, commands.size(), command.command, code, ci);
      break;
    }
  }
  if (o.json && !summary.error) {
    protocol::command_execution_result_message m;
    m.results = all.results;
    emit(m);
  }
  return run.finish(handshake, status);
}

} // namespace agentrt::cli

#include "options.hpp"

#include <CLI/CLI.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "agentrt/client/version.hpp"
#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/result.hpp"
#include "output.hpp"
#include "session_handle_text.hpp"

namespace agentrt::cli {
namespace {

constexpr const char* overview =
    R"(Run commands or a query in an agentrt (or runtimeuse) runtime from a shell or a CI job.

  agentrt-client exec URL [options] -- COMMAND...
  agentrt-client query URL [options] --prompt TEXT
  agentrt-client attach [HANDLE] [options]
  agentrt-client exec --tty URL [options] -- COMMAND...   (interactive, like ssh -t)
  agentrt-client spawn URL [options] -- COMMAND...        (a background process)
  agentrt-client ps|kill|wait [HANDLE] [ID] [options]     (the processes spawn left)
  agentrt-client put|get|ls|rm|mkdir [URL] PATH... (the files API)

`agentrt-client SUBCOMMAND --help` lists the subcommand's options.)";

constexpr const char* exec_text =
    R"(Runs each COMMAND argument as one shell command (/bin/sh -c), in order, stopping at the first failure; their stdout/stderr stream to this program's as they arrive, and a failing command is named on stderr. URL is ws://HOST:PORT/ or wss://HOST:PORT/.)";

constexpr const char* query_text =
    R"(Asks the runtime's agent: prints the result (text, or JSON for structured output) to stdout and streams the agent's assistant messages to stderr.)";

constexpr const char* attach_text =
    R"(Attaches to a request left running by exec/query --detach (HANDLE: the output of --detach, or the AGENTRT_URL, AGENTRT_SESSION, AGENTRT_RESUME_TOKEN variables), streams the rest of its output, answers its artifact uploads, and exits as exec/query would have.)";

constexpr const char* spawn_text =
    R"(Starts COMMAND (the arguments joined by spaces, run with /bin/sh -c) as a background process of a new durable session, waits until it is ready when --ready-port/--ready-probe ask for it (not ready: the process is killed and the exit code is 1), prints the session's handle with the process id (AGENTRT_PROCESS) and detaches: the process keeps running for the runtime's detached window. ps, kill and wait take the handle.)";

constexpr const char* ps_text =
    R"(Lists the processes of the session HANDLE names (the output of spawn, or the AGENTRT_* variables): id, state, exit code, pid and command.)";

constexpr const char* kill_text =
    R"(Sends a signal (default SIGTERM) to process ID of the session HANDLE names (ID defaults to AGENTRT_PROCESS).)";

constexpr const char* wait_text =
    R"(Waits for process ID of the session HANDLE names to exit, collects it, and exits with its exit code (128+N after signal N).)";

// Everything given on the command line as raw text, checked and converted after parsing.
struct raw_options {
  std::vector<std::string> downloads, env;
  std::string ci = "auto", stdin_file, prompt_file, script, shell, schema_file, mcp_config_file;
  bool have_prompt = false;
};

CLI::Validator key_value(const std::string& what) {
  return CLI::Validator(
      [what](std::string& v) -> std::string {
        const auto eq = what == "URL=DIR" ? v.rfind('=') : v.find('=');
        if (eq == std::string::npos || eq == 0 || (what == "URL=DIR" && eq + 1 == v.size()))
          return "expected " + what + ", got '" + v + "'";
        return "";
      },
      "");
}

CLI::Validator positive_seconds() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        char* end = nullptr;
        const double d = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(d > 0) || d > 1e9)
          return "expected a positive number of seconds, got '" + v + "'";
        return "";
      },
      "");
}

void seconds_option(CLI::App* app, const std::string& name, std::optional<double>& target,
                    const std::string& help) {
  app->add_option_function<double>(
         name, [&target](const double& v) { target = v; }, help)
      ->check(positive_seconds())
      ->type_name("S");
}

// The options every subcommand takes: connection, output and time limits.
void add_common(CLI::App* app, cli_options& o) {
  app->add_option("--token", o.token, "bearer token (default: the AGENTRT_TOKEN variable)")
      ->type_name("T");
  seconds_option(app, "--timeout", o.timeout_s,
                 "overall timeout in seconds (the request is cancelled)");
  seconds_option(app, "--idle-timeout", o.idle_timeout_s,
                 "cancel when the request prints nothing for S seconds (heartbeats do not "
                 "count)");
  seconds_option(app, "--dead-after", o.dead_after_s,
                 "give up when nothing at all arrives from the runtime, heartbeats included, "
                 "for S seconds (a runtime that died without closing the connection)");
  app->add_option("--ca-file", o.ca_file, "trust this CA bundle for wss://")->type_name("PEM");
  app->add_flag("--insecure", o.insecure, "do not verify the wss:// certificate");
  app->add_flag("--json", o.json,
                "print every message from the runtime as one JSON line on stdout (client "
                "errors as {\"message_type\":\"client_error\",\"code\":...})");
  app->add_option("--summary-json", o.summary_json,
                  "write a JSON summary (exit code, per-command exit codes and durations, "
                  "artifacts delivered and failed) to FILE")
      ->type_name("FILE");
  app->add_flag(
      "--no-durable", [&o](std::int64_t) { o.durable = false; },
      "do not ask for a durable session (a dropped connection then ends the request, "
      "as with runtimeuse)");
  app->add_option("--reconnect-attempts", o.reconnect_attempts,
                  "attempts per outage before giving up (default 10)")
      ->check(CLI::Validator(CLI::Range(0, 1000000)).description(""))
      ->type_name("N");
  seconds_option(app, "--reconnect-deadline", o.reconnect_deadline_s,
                 "give up S seconds after a drop (default 120)");
  app->add_option("--upload-to", o.upload_to,
                  "receive the artifacts into LOCAL, each at its path relative to its --artifacts "
                  "directory (under the directory's name when there are several): one-shot HTTP "
                  "PUT URLs, for runtimes that can reach this machine")
      ->type_name("LOCAL");
  app->add_flag("--overwrite", o.overwrite,
                "--upload-to may replace files that were in LOCAL before this run");
  app->add_option("--upload-bind", o.upload_bind,
                  "address the receiver listens on (default 127.0.0.1)")
      ->type_name("ADDR");
  app->add_option("--upload-host", o.upload_host,
                  "host name put into the receiver's URLs (default: the bind address)")
      ->type_name("HOST");
  app->add_option("--presign-cmd", o.presign_cmd,
                  "run `CMD FILENAME` for each artifact (the runtime's path in "
                  "AGENTRT_ARTIFACT_PATH); its stdout is the presigned URL (a failure or empty "
                  "output: the artifact is not delivered)")
      ->type_name("CMD");
}

// query's agentrt extensions: the agent and its per-query harness_settings.
void add_agent_options(CLI::App* app, cli_options& o, raw_options& r) {
  auto& h = o.harness;
  app->add_option("--agent", o.agent,
                  "run this query on AGENT instead of the runtime's default (agentrt)")
      ->check(CLI::IsMember({"claude", "codex", "gemini", "opencode", "openai", "handler"}))
      ->type_name("AGENT");
  app->add_option("--resume-session-id", o.resume_session_id,
                  "continue the agent's session ID (the session_id of an earlier result)")
      ->type_name("ID");
  app->add_option("--max-turns", h.max_turns, "the agent's turn limit for this query")
      ->check(CLI::Range(1, 1000000))
      ->type_name("N");
  seconds_option(app, "--harness-timeout", h.timeout_s,
                 "the runtime ends the agent after S seconds (the whole request: --timeout)");
  app->add_option("--permission-mode", h.permission_mode,
                  "the agent's permission mode, in its own words (claude --permission-mode, codex "
                  "--sandbox, gemini --approval-mode)")
      ->type_name("MODE");
  app->add_option_function<std::string>(
         "--allowed-tool",
         [&h](const std::string& v) {
           if (!h.allowed_tools)
             h.allowed_tools.emplace();
           h.allowed_tools->push_back(v);
         },
         "a tool the agent may use (repeatable)")
      ->type_name("TOOL")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->trigger_on_parse();
  app->add_option_function<std::string>(
         "--disallowed-tool",
         [&h](const std::string& v) {
           if (!h.disallowed_tools)
             h.disallowed_tools.emplace();
           h.disallowed_tools->push_back(v);
         },
         "a tool the agent must not use (repeatable)")
      ->type_name("TOOL")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->trigger_on_parse();
  app->add_option("--max-budget-usd", h.max_budget_usd, "the agent's cost ceiling (claude)")
      ->check(CLI::PositiveNumber)
      ->type_name("USD");
  app->add_option("--token-budget", h.token_budget,
                  "prompt + completion tokens this query may use (openai)")
      ->check(CLI::PositiveNumber)
      ->type_name("N");
  app->add_option("--mcp-config", r.mcp_config_file,
                  "MCP servers: a JSON map {\"name\": {\"command\",\"args\",\"env\"} or "
                  "{\"url\"}} (or Claude's {\"mcpServers\": {...}})")
      ->type_name("FILE");
  app->add_option_function<std::string>(
         "--agent-arg",
         [&h](const std::string& v) {
           if (!h.extra_args)
             h.extra_args.emplace();
           h.extra_args->push_back(v);
         },
         "append ARG to the agent CLI's arguments (repeatable; --agent-arg=--flag for one that "
         "starts with -)")
      ->type_name("ARG")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->trigger_on_parse();
}

// The fields of a new request (exec and query; attach takes none).
void add_request(CLI::App* app, cli_options& o, raw_options& r) {
  app->add_option("url", o.url, "ws://HOST:PORT/ or wss://HOST:PORT/")->required();
  app->add_option("--download", r.downloads, "fetch URL into DIR on the runtime first (repeatable)")
      ->check(key_value("URL=DIR"))
      ->type_name("URL=DIR");
  app->add_option("--secret", o.secrets,
                  "redact VALUE from everything the runtime sends (repeatable)")
      ->type_name("VALUE");
  app->add_option("--artifacts", o.artifacts,
                  "upload files written under DIR on the runtime (repeatable); needs --upload-to "
                  "or --presign-cmd")
      ->type_name("DIR");
  app->add_flag("--detach", o.detach, "start the request, print the session's handle, exit");
  app->add_flag_callback(
      "--no-announce-existing", [&o] { o.announce_existing_artifacts = false; },
      "announce only files written after an --artifacts directory is watched, not those "
      "already in it (agentrt)");
  seconds_option(app, "--wait-ready", o.wait_ready_s,
                 "keep trying to connect for up to S seconds (a sandbox still booting)");
}

// An MCP server map as JSON text: the file's object, or the object under "mcpServers" when
// the file is a Claude Code --mcp-config file. Fails with protocol::errc::not_an_object.
protocol::result<std::string> mcp_servers_of(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  if (doc.HasParseError() || !doc.IsObject())
    return {protocol::errc::not_an_object, "not a JSON object"};
  const rapidjson::Value* servers = &doc;
  if (auto it = doc.FindMember("mcpServers"); it != doc.MemberEnd() && doc.MemberCount() == 1)
    servers = &it->value;
  if (!servers->IsObject())
    return {protocol::errc::not_an_object, "\"mcpServers\" is not a JSON object"};
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> writer(out);
  servers->Accept(writer);
  return std::string(out.GetString(), out.GetSize());
}

// The file's content ("-": this program's stdin); fails with open's errno.
protocol::result<std::string> read_text(const std::string& path) {
  if (path == "-") {
    std::string all{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    return all;
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return {std::error_code(errno != 0 ? errno : EIO, std::generic_category()),
            "cannot read " + path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A failed result<T> for a usage error: e's code, its text after `what: `.
protocol::error prefixed(const std::string& what, const protocol::error& e) {
  return {e.code, what + ": " + e.message()};
}

// exec --tty and spawn: the words after -- as one command line, as ssh joins them.
std::string join_words(const std::vector<std::string>& words) {
  std::string line;
  for (const auto& w : words)
    line += (line.empty() ? "" : " ") + w;
  return line;
}

// What exec --tty, spawn, ps, kill and wait share: how to reach the runtime, and --json.
void add_connection(CLI::App* app, cli_options& o) {
  app->add_option("--token", o.token, "bearer token (default: the AGENTRT_TOKEN variable)")
      ->type_name("T");
  app->add_option("--ca-file", o.ca_file, "trust this CA bundle for wss://")->type_name("PEM");
  app->add_flag("--insecure", o.insecure, "do not verify the wss:// certificate");
  app->add_flag("--json", o.json, "print results and client errors as JSON lines");
}

int usage(const std::string& why, const std::string& mode) {
  print(stderr, "agentrt-client: " + why + "\nRun 'agentrt-client" +
                    (mode.empty() ? "" : " " + mode) + " --help' for the options.\n");
  return exit_usage;
}

// A usage error's result: protocol::errc::invalid_value with the text to show.
protocol::error invalid(std::string why) {
  return {protocol::errc::invalid_value, std::move(why)};
}

// --download, --env and --ci into their final form (CLI11 checked their syntax).
void apply_raw(cli_options& o, const raw_options& r) {
  for (const auto& d : r.downloads) {
    const auto eq = d.rfind('=');
    protocol::downloadable dl;
    dl.download_url = d.substr(0, eq);
    dl.working_dir = d.substr(eq + 1);
    o.downloads.push_back(dl);
  }
  for (const auto& kv : r.env) {
    const auto eq = kv.find('=');
    o.env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (r.ci == "github" || (r.ci == "auto" && std::getenv("GITHUB_ACTIONS") &&
                           std::string(std::getenv("GITHUB_ACTIONS")) == "true"))
    o.ci = ci_format::github;
  else if (r.ci == "gitlab" || (r.ci == "auto" && std::getenv("GITLAB_CI") &&
                                std::string(std::getenv("GITLAB_CI")) == "true"))
    o.ci = ci_format::gitlab;
}

// exec: the commands (after --, or --script), --tty's limits, --stdin.
protocol::result<void> finish_exec(cli_options& o, const raw_options& r, bool saw_double_dash) {
  if (!r.script.empty() && !o.commands.empty())
    return invalid("--script and commands after -- exclude each other");
  if (!o.commands.empty() && !saw_double_dash)
    return invalid("unexpected argument '" + o.commands.front() + "' (commands go after --)");
  if (!r.shell.empty() && r.script.empty())
    return invalid("--shell needs --script");
  if (!r.script.empty()) {
    auto text = read_text(r.script);
    if (!text.ok())
      return prefixed("--script", text.error());
    o.commands.push_back(r.shell.empty() ? text.value()
                                         : r.shell + " -c " + shell_quote(text.value()) + " " +
                                               shell_quote(r.script));
  }
  if (o.commands.empty())
    return invalid("exec needs commands after -- (or --script FILE)");
  if (o.tty) {
    if (o.detach || !r.stdin_file.empty() || !o.artifacts.empty() || !r.downloads.empty() ||
        o.wait_ready_s || !r.script.empty())
      return invalid("--tty runs one interactive process: no --detach, --stdin, --script, "
                     "--artifacts, --download or --wait-ready");
    o.commands = {join_words(o.commands)};
  }
  if (!r.stdin_file.empty()) {
    if (r.stdin_file == "-" && r.script == "-")
      return invalid("--stdin - and --script - both want this program's stdin");
    auto data = read_text(r.stdin_file);
    if (!data.ok())
      return prefixed("--stdin", data.error());
    o.stdin_data = std::move(data).value();
  }
  return {};
}

// query: the prompt (text, stdin or file), --schema, --mcp-config.
protocol::result<void> finish_query(cli_options& o, const raw_options& r) {
  if (r.have_prompt == !r.prompt_file.empty())
    return invalid("query needs one of --prompt TEXT, --prompt - (stdin) or --prompt-file FILE");
  if (!r.prompt_file.empty() || *o.prompt == "-") {
    auto prompt = read_text(r.prompt_file.empty() ? "-" : r.prompt_file);
    if (!prompt.ok())
      return prefixed("--prompt-file", prompt.error());
    o.prompt = std::move(prompt).value();
  }
  if (!r.schema_file.empty()) {
    auto schema = read_text(r.schema_file);
    if (!schema.ok())
      return prefixed("--schema", schema.error());
    // A bare JSON Schema is wrapped in the envelope the protocol expects.
    if (schema->find("\"json_schema\"") == std::string::npos)
      o.schema = R"({"type":"json_schema","schema":)" + schema.value() + "}";
    else
      o.schema = std::move(schema).value();
  }
  if (!r.mcp_config_file.empty()) {
    auto text = read_text(r.mcp_config_file);
    if (!text.ok())
      return prefixed("--mcp-config", text.error());
    auto servers = mcp_servers_of(text.value());
    if (!servers.ok())
      return prefixed("--mcp-config", servers.error());
    o.harness.mcp_servers = protocol::json_text{std::move(servers).value()};
  }
  return {};
}

// spawn: the command after --, and readiness options that need each other.
protocol::result<void> finish_spawn(cli_options& o, bool saw_double_dash) {
  if (!saw_double_dash || o.commands.empty())
    return invalid("spawn needs the command after --");
  o.commands = {join_words(o.commands)};
  if ((o.ready_timeout_s) && !o.ready_port && !o.ready_probe)
    return invalid("--ready-timeout needs --ready-port or --ready-probe");
  return {};
}

// ps, kill and wait: [HANDLE] [ID]; the handle is JSON (or spawn's whole output), an id is not.
protocol::result<void> finish_process_args(cli_options& o) {
  auto& args = o.commands;
  if (!args.empty() && args.front().find('{') != std::string::npos) {
    o.handle_text = args.front();
    args.erase(args.begin());
  }
  if (o.mode != "ps") {
    if (args.size() > 1)
      return invalid("unexpected argument '" + args[1] + "'");
    if (!args.empty())
      o.process_id = args.front();
    else if (const char* id = std::getenv("AGENTRT_PROCESS"); id && *id)
      o.process_id = id;
    // else: the handle's process_id (spawn's output), or a usage error then
  } else if (!args.empty()) {
    return invalid("unexpected argument '" + args.front() + "'");
  }
  args.clear();
  return {};
}

// --detach and the ways to answer uploads, which need or exclude each other.
protocol::result<void> check_detach_and_uploads(const cli_options& o) {
  if (o.detach && !o.durable)
    return invalid("--detach needs a durable session (drop --no-durable)");
  // --detach answers no uploads itself: `attach` does, with its own --upload-to/--presign-cmd.
  if (!o.artifacts.empty() && !o.upload_to && !o.presign_cmd && !o.detach)
    return invalid("--artifacts needs --upload-to or --presign-cmd");
  if ((o.upload_to || o.presign_cmd) && o.artifacts.empty() && o.mode != "attach")
    return invalid("--upload-to/--presign-cmd need --artifacts");
  if ((o.upload_to || o.presign_cmd) && o.detach)
    return invalid("--detach answers no uploads: give --upload-to/--presign-cmd to attach");
  if (o.upload_to && o.presign_cmd)
    return invalid("use either --upload-to or --presign-cmd");
  return {};
}

// The subcommand's own checks (those that need several options at once, and the files the
// options name).
protocol::result<void> finish_mode(cli_options& o, const raw_options& r, bool saw_double_dash) {
  if (o.mode == "exec")
    return finish_exec(o, r, saw_double_dash);
  if (o.mode == "query")
    return finish_query(o, r);
  if (o.mode == "spawn")
    return finish_spawn(o, saw_double_dash);
  if (o.mode == "ps" || o.mode == "kill" || o.mode == "wait")
    return finish_process_args(o);
  return {};
}

// Checks that need several options at once, and the files the options name.
std::optional<int> finish(cli_options& o, const raw_options& r, bool saw_double_dash) {
  if (!o.url.empty() && o.url.rfind("ws://", 0) != 0 && o.url.rfind("wss://", 0) != 0)
    return usage("invalid URL '" + o.url + "': expected ws://HOST:PORT/ or wss://HOST:PORT/",
                 o.mode);
  apply_raw(o, r);
  if (auto done = finish_mode(o, r, saw_double_dash); !done.ok())
    return usage(done.error().message(), o.mode);
  if (auto checked = check_detach_and_uploads(o); !checked.ok())
    return usage(checked.error().message(), o.mode);
  if (!o.token)
    if (const char* t = std::getenv("AGENTRT_TOKEN"); t && *t)
      o.token = t;
  return std::nullopt;
}

CLI::App* add_exec(CLI::App& app, cli_options& o, raw_options& r) {
  auto* exec = app.add_subcommand("exec", exec_text);
  add_request(exec, o, r);
  exec->add_option("command", o.commands,
                   "the commands, after -- (each one shell command; -h and --help there belong "
                   "to the command)");
  exec->add_option("--cwd", o.cwd, "working directory of the commands")->type_name("DIR");
  exec->add_option("--env", r.env, "environment variable for the commands (repeatable)")
      ->check(key_value("K=V"))
      ->type_name("K=V");
  seconds_option(exec, "--command-timeout", o.command_timeout_s,
                 "each command's own timeout: the runtime kills it after S seconds");
  exec->add_option("--stdin", r.stdin_file,
                   "feed FILE's content (- for this program's stdin) to each command's stdin")
      ->type_name("FILE");
  exec->add_option("--script", r.script,
                   "run FILE's content as one command (- reads it from stdin)")
      ->type_name("FILE");
  exec->add_option("--shell", r.shell,
                   "interpreter for --script, run as `SHELL -c SCRIPT FILE` (default /bin/sh)")
      ->type_name("SHELL");
  exec->add_option("--ci", r.ci,
                   "CI log markup: github (::group::/::error::), gitlab (collapsible sections), "
                   "none, or auto (github when GITHUB_ACTIONS=true, gitlab when GITLAB_CI=true)")
      ->check(CLI::IsMember({"auto", "github", "gitlab", "none"}))
      ->type_name("FORMAT");
  exec->add_flag("-t,--tty", o.tty,
                 "interactive, like ssh -t: run the command (the words after --, joined by "
                 "spaces) on a terminal sized like this one, this terminal in raw mode, keys "
                 "and window size forwarded; exit with its exit code");
  add_common(exec, o);
  return exec;
}

CLI::App* add_query(CLI::App& app, cli_options& o, raw_options& r) {
  auto* query = app.add_subcommand("query", query_text);
  add_request(query, o, r);
  query
      ->add_option_function<std::string>(
          "--prompt",
          [&](const std::string& v) {
            o.prompt = v;
            r.have_prompt = true;
          },
          "the prompt; - reads it from stdin")
      ->type_name("TEXT");
  query->add_option("--prompt-file", r.prompt_file, "read the prompt from FILE")->type_name("FILE");
  query->add_option("--system", o.system, "system prompt")->type_name("TEXT");
  query->add_option("--model", o.model, "model name, passed to the agent")->type_name("M");
  query
      ->add_option("--schema", r.schema_file,
                   "structured output: a JSON Schema, or the whole "
                   "{\"type\":\"json_schema\",...} envelope")
      ->type_name("FILE");
  add_agent_options(query, o, r);
  add_common(query, o);
  return query;
}

CLI::App* add_attach(CLI::App& app, cli_options& o) {
  auto* attach = app.add_subcommand("attach", attach_text);
  attach->add_option("handle", o.handle_text,
                     "the output of --detach (default: the AGENTRT_* variables)");
  add_common(attach, o);
  return attach;
}

CLI::App* add_spawn(CLI::App& app, cli_options& o, raw_options& r) {
  auto* spawn = app.add_subcommand("spawn", spawn_text);
  spawn->add_option("url", o.url, "ws://HOST:PORT/ or wss://HOST:PORT/")->required();
  spawn->add_option("command", o.commands, "the command, after --");
  spawn->add_option("--cwd", o.cwd, "working directory of the process")->type_name("DIR");
  spawn->add_option("--env", r.env, "environment variable for the process (repeatable)")
      ->check(key_value("K=V"))
      ->type_name("K=V");
  spawn->add_option("--secret", o.secrets, "redact VALUE from the process's output (repeatable)")
      ->type_name("VALUE");
  spawn
      ->add_option("--ready-port", o.ready_port,
                   "ready once 127.0.0.1:N accepts a TCP connection on the runtime's host")
      ->check(CLI::Range(1, 65535))
      ->type_name("N");
  spawn
      ->add_option("--ready-probe", o.ready_probe,
                   "ready once CMD (/bin/sh -c, in the process's cwd and env) exits 0")
      ->type_name("CMD");
  seconds_option(spawn, "--ready-timeout", o.ready_timeout_s,
                 "give up on readiness after S seconds (default 30): kill the process, exit 1");
  seconds_option(spawn, "--command-timeout", o.command_timeout_s,
                 "the runtime kills the process's tree after S seconds");
  seconds_option(spawn, "--wait-ready", o.wait_ready_s,
                 "keep trying to connect for up to S seconds (a sandbox still booting)");
  add_connection(spawn, o);
  return spawn;
}

// ps, kill and wait.
std::vector<CLI::App*> add_process_commands(CLI::App& app, cli_options& o) {
  auto* ps = app.add_subcommand("ps", ps_text);
  auto* kill = app.add_subcommand("kill", kill_text);
  auto* wait = app.add_subcommand("wait", wait_text);
  for (auto* sub : {ps, kill, wait}) {
    sub->add_option("args", o.commands,
                    sub == ps ? "[HANDLE]: spawn's output (default: the AGENTRT_* variables)"
                              : "[HANDLE] ID: spawn's output (default: the AGENTRT_* "
                                "variables) and the process id (default: AGENTRT_PROCESS)");
    add_connection(sub, o);
  }
  kill->add_option("-s,--signal", o.signal_name,
                   "SIGTERM (default), SIGKILL, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, "
                   "SIGCONT, SIGSTOP, SIGTSTP, SIGWINCH (SIG may be left out)")
      ->type_name("SIGNAL");
  seconds_option(wait, "--timeout", o.timeout_s,
                 "give up after S seconds (exit 124; the process keeps running)");
  return {ps, kill, wait};
}

// A first argument that names no subcommand (CLI11 would take it for a positional).
std::optional<int> check_subcommand_name(int argc, char** argv) {
  static const std::vector<std::string> names = {"exec", "query", "attach", "spawn",
                                                 "ps",   "kill",  "wait"};
  if (argc > 1 && argv[1][0] != '-' &&
      std::find(names.begin(), names.end(), std::string(argv[1])) == names.end())
    return usage("unknown subcommand '" + std::string(argv[1]) +
                     "' (exec, query, attach, spawn, ps, kill, wait)",
                 "");
  return std::nullopt;
}

bool has_double_dash(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--")
      return true;
  return false;
}

} // namespace

std::optional<int> parse_options(int argc, char** argv, cli_options& o) {
  CLI::App app{overview, "agentrt-client"};
  app.set_version_flag("--version", "agentrt-client " + client::version());
  app.require_subcommand(1);
  app.fallthrough(); // --version after the subcommand
  app.footer(exit_code_help);
  raw_options r;

  std::vector<CLI::App*> subcommands = {add_exec(app, o, r), add_query(app, o, r),
                                        add_attach(app, o), add_spawn(app, o, r)};
  for (auto* sub : add_process_commands(app, o))
    subcommands.push_back(sub);
  for (auto* sub : subcommands)
    sub->footer(exit_code_help);

  if (auto status = check_subcommand_name(argc, argv))
    return status;
  const bool saw_double_dash = has_double_dash(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0)
      return app.exit(e); // --help, --version
    std::string mode;
    for (auto* sub : app.get_subcommands())
      mode = sub->get_name();
    return usage(e.what(), mode);
  }
  o.mode = app.get_subcommands().front()->get_name();
  return finish(o, r, saw_double_dash);
}

} // namespace agentrt::cli

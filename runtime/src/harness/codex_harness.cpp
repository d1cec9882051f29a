// The Codex adapter and its `codex exec --json` parser.
#include "harness/codex_harness.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/json_builder.hpp"
#include "harness/adapter_support.hpp"
#include "harness/harness_errc.hpp"
#include "harness/immediate_run.hpp"
#include "harness/json_support.hpp"
#include "harness/run_dir.hpp"

namespace agentrt::runtime::harness {

namespace {

const char* const harness_name = "codex";
// The model provider the adapter defines on the command line for AGENTRT_CODEX_BASE_URL.
const char* const provider_id = "agentrt";

// An MCP result's text blocks, or the whole content as JSON when it has none.
std::string mcp_result_text(const rapidjson::Value& item) {
  if (const auto* error = json::member(item, "error"); error && error->IsObject())
    return json::string_or_empty(*error, "message");
  const auto* result = json::member(item, "result");
  const auto* content = result ? json::member(*result, "content") : nullptr;
  if (!content || !content->IsArray())
    return "";
  std::string out;
  for (const auto& block : content->GetArray()) {
    if (json::string_or_empty(block, "type") != "text")
      continue;
    if (!out.empty())
      out += '\n';
    out += json::string_or_empty(block, "text");
  }
  return out.empty() && !content->Empty() ? json::dump(*content) : out;
}

// "add /w/a.txt\nupdate /w/b.txt" for a file_change item.
std::string file_changes_text(const rapidjson::Value& item) {
  const auto* changes = json::member(item, "changes");
  std::string out;
  if (!changes || !changes->IsArray())
    return out;
  for (const auto& c : changes->GetArray()) {
    if (!out.empty())
      out += '\n';
    out += json::string_or_empty(c, "kind") + " " + json::string_or_empty(c, "path");
  }
  return out;
}

// A provider's error document ({"error":{"message":...}}), which codex passes on verbatim for
// some statuses, reduced to its message; any other text as it is.
std::string api_error_text(const std::string& text) {
  rapidjson::Document doc;
  if (!json::parse(text, doc) || !doc.IsObject())
    return text;
  const auto* error = json::member(doc, "error");
  const auto message =
      error && error->IsObject() ? json::string_member(*error, "message") : std::nullopt;
  return message && !message->empty() ? *message : text;
}

} // namespace

codex_parser::codex_parser(event_sink sink, std::shared_ptr<const output_schema> schema,
                           std::string model)
    : sink_(std::move(sink)), schema_(std::move(schema)), model_(std::move(model)) {}

bool codex_parser::on_line(std::string_view line) {
  rapidjson::Document doc;
  if (!json::parse(line, doc) || !doc.IsObject())
    return false;
  const auto type = json::string_member(doc, "type");
  if (!type)
    return false;
  if (*type == "thread.started") {
    thread_id_ = json::string_or_empty(doc, "thread_id");
    protocol::json_builder w;
    w.add("session_id", thread_id_).add("harness", harness_name);
    if (!model_.empty())
      w.add("model", model_);
    sink_.event("session", w.str());
  } else if (type->rfind("item.", 0) == 0) {
    if (const auto* item = json::member(doc, "item"); item && item->IsObject())
      on_item(*item, *type == "item.completed");
  } else if (*type == "turn.completed") {
    turn_completed_ = true;
    if (const auto* usage = json::member(doc, "usage"); usage && usage->IsObject()) {
      usage_json_ = json::dump(*usage);
      sink_.event("usage", usage_json_);
    }
  } else if (*type == "turn.failed") {
    turn_failed_ = true;
    const auto* error = json::member(doc, "error");
    failure_ = error ? (error->IsObject() ? json::string_or_empty(*error, "message")
                                          : json::text_of(*error))
                     : std::string();
  } else if (*type == "error") {
    // Not necessarily fatal: codex reports reconnect attempts this way, and turn.failed
    // follows when the turn is lost.
    last_error_ = json::string_or_empty(doc, "message");
    sink_.log(std::string(harness_name) + ": " + last_error_);
  }
  // turn.started and event types of later codex versions are understood and not forwarded.
  return true;
}

void codex_parser::tool_use(const std::string& id, const std::string& name,
                            const std::string& input_json) {
  if (!announced_tools_.insert(id).second)
    return;
  sink_.event(
      "tool_use",
      protocol::json_builder().add("id", id).add("name", name).add_raw("input", input_json).str());
}

void codex_parser::tool_result(const std::string& id, const std::string& output, bool is_error,
                               const rapidjson::Value* exit_code) {
  protocol::json_builder w;
  w.add("id", id).add("output", output).add("is_error", is_error);
  if (exit_code && exit_code->IsInt())
    w.add("exit_code", exit_code->GetInt());
  sink_.event("tool_result", w.str());
}

void codex_parser::on_item(const rapidjson::Value& item, bool completed) {
  const auto kind = json::string_or_empty(item, "type");
  const auto id = json::string_or_empty(item, "id");
  const auto status = json::string_or_empty(item, "status");
  if (kind == "agent_message") {
    if (!completed)
      return;
    last_message_ = json::string_or_empty(item, "text");
    if (!last_message_.empty())
      sink_.assistant({last_message_});
  } else if (kind == "error") {
    // An error item is a warning (e.g. ignored config settings); the turn goes on.
    sink_.log(std::string(harness_name) + ": warning: " + json::string_or_empty(item, "message"));
  } else if (!sink_.wants_events()) {
    return;
  } else if (kind == "reasoning") {
    if (completed)
      sink_.event("reasoning",
                  protocol::json_builder().add("text", json::string_or_empty(item, "text")).str());
  } else if (kind == "command_execution") {
    tool_use(id, kind,
             protocol::json_builder().add("command", json::string_or_empty(item, "command")).str());
    if (!completed)
      return;
    const auto* exit_code = json::member(item, "exit_code");
    const bool failed =
        status != "completed" || (exit_code && exit_code->IsInt() && exit_code->GetInt() != 0);
    tool_result(id, json::string_or_empty(item, "aggregated_output"), failed, exit_code);
  } else if (kind == "file_change") {
    const auto* changes = json::member(item, "changes");
    tool_use(
        id, kind,
        protocol::json_builder().add_raw("changes", changes ? json::dump(*changes) : "[]").str());
    if (completed)
      tool_result(id, file_changes_text(item), status == "failed");
  } else if (kind == "mcp_tool_call") {
    // Named the way codex offers MCP tools to the model: mcp__SERVER__TOOL.
    const auto* args = json::member(item, "arguments");
    tool_use(id,
             "mcp__" + json::string_or_empty(item, "server") + "__" +
                 json::string_or_empty(item, "tool"),
             args && !args->IsNull() ? json::dump(*args) : "{}");
    if (!completed)
      return;
    const auto* error = json::member(item, "error");
    tool_result(id, mcp_result_text(item), status == "failed" || (error && error->IsObject()));
  } else if (kind == "web_search") {
    tool_use(id, kind,
             protocol::json_builder().add("query", json::string_or_empty(item, "query")).str());
    // The search runs at the model provider; codex reports no results, only that it happened.
    if (completed)
      tool_result(id, "", false);
  }
  // todo_list and collaboration items are understood and not forwarded.
}

harness_outcome codex_parser::finish(const process_end& end) {
  const bool clean_exit = end.status.exit_code == 0 && end.status.term_signal == 0;
  if (turn_failed_) {
    harness_outcome out;
    out.error.code = harness_errc::agent_failed;
    const std::string& why = !failure_.empty() ? failure_ : last_error_;
    out.error.text = std::string(harness_name) +
                     " failed: " + (why.empty() ? "the turn failed" : api_error_text(why));
    protocol::json_builder meta;
    meta.add("harness", harness_name)
        .add("session_id", thread_id_)
        .add("exit_code", end.status.exit_code);
    if (!why.empty())
      meta.add("codex_error", why);
    if (!end.stderr_tail.empty())
      meta.add("stderr_tail", end.stderr_tail);
    out.error_metadata_json = meta.str();
    return out;
  }
  if (!clean_exit)
    return process_failure(harness_name, end,
                           last_error_.empty() ? protocol::error{harness_errc::agent_exited}
                                               : protocol::error{harness_errc::agent_failed,
                                                                 std::string(harness_name) +
                                                                     " failed: " + last_error_});
  if (!turn_completed_)
    return process_failure(
        harness_name, end,
        {harness_errc::agent_exited, "codex exited without completing the turn"});
  protocol::json_builder meta;
  meta.add("harness", harness_name).add("session_id", thread_id_);
  if (!usage_json_.empty())
    meta.add_raw("usage", usage_json_);
  return final_answer(harness_name, last_message_, schema_.get(), meta.str());
}

codex_provider codex_provider_of(const invocation& inv) {
  codex_provider p;
  p.base_url = env_value(inv, "AGENTRT_CODEX_BASE_URL");
  p.api_key_from_env = !env_value(inv, "OPENAI_API_KEY").empty();
  return p;
}

std::map<std::string, std::string> codex_env(const invocation& inv,
                                             const codex_provider& provider) {
  std::map<std::string, std::string> extra;
  // With RUST_BACKTRACE=1 in the environment codex follows an error with a long backtrace of
  // "<unknown>" frames, which would push the error itself out of the stderr tail.
  if (env_value(inv, "RUST_LIB_BACKTRACE").empty())
    extra.emplace("RUST_LIB_BACKTRACE", "0");
  const std::string key = env_value(inv, "OPENAI_API_KEY");
  if (provider.base_url.empty() && !key.empty() && env_value(inv, "CODEX_API_KEY").empty()) {
    std::string home = env_value(inv, "CODEX_HOME");
    if (home.empty() && !env_value(inv, "HOME").empty())
      home = env_value(inv, "HOME") + "/.codex";
    std::error_code ec;
    // A stored login (ChatGPT or API key) is the user's choice and stays in charge.
    if (home.empty() || !std::filesystem::exists(std::filesystem::path(home) / "auth.json", ec))
      extra.emplace("CODEX_API_KEY", key);
  }
  return extra;
}

std::string toml_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\r':
      out += "\\r";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
        out += buf;
      } else {
        out += c; // UTF-8 passes through: TOML strings are UTF-8
      }
    }
  }
  return out + "\"";
}

std::optional<std::string> toml_value(const rapidjson::Value& v) {
  if (v.IsString())
    return toml_string(std::string(v.GetString(), v.GetStringLength()));
  if (v.IsBool())
    return std::string(v.GetBool() ? "true" : "false");
  if (v.IsNumber())
    return json::dump(v);
  if (v.IsArray()) {
    std::string out = "[";
    for (const auto& item : v.GetArray()) {
      auto text = toml_value(item);
      if (!text)
        return std::nullopt;
      out += (out.size() > 1 ? ", " : "") + *text;
    }
    return out + "]";
  }
  if (v.IsObject()) {
    std::string out = "{";
    for (const auto& m : v.GetObject()) {
      auto text = toml_value(m.value);
      if (!text)
        return std::nullopt;
      out += (out.size() > 1 ? ", " : "") +
             toml_string(std::string(m.name.GetString(), m.name.GetStringLength())) + " = " + *text;
    }
    return out + "}";
  }
  return std::nullopt;
}

protocol::result<std::vector<std::string>> codex_settings(const invocation& inv) {
  std::vector<std::string> out;
  const auto& h = inv.settings;
  if (h.permission_mode) {
    const auto& mode = *h.permission_mode;
    if (mode != "read-only" && mode != "workspace-write" && mode != "danger-full-access") {
      return {
          protocol::errc::invalid_value,
          "codex: harness_settings.permission_mode \"" + mode +
              "\" is not a codex sandbox mode (read-only, workspace-write, danger-full-access)"};
    }
    // exec cannot ask anyone: a command the sandbox refuses fails instead of waiting.
    out = {"--sandbox", mode, "-c", "approval_policy=\"never\""};
  } else {
    out = {"--dangerously-bypass-approvals-and-sandbox"};
  }
  if (h.mcp_servers) {
    rapidjson::Document doc;
    std::optional<std::string> table;
    if (json::parse(h.mcp_servers->json, doc))
      table = toml_value(doc);
    if (!table) {
      return {protocol::errc::invalid_value,
              "codex: harness_settings.mcp_servers contains null, which codex's TOML config "
              "cannot express"};
    }
    out.insert(out.end(), {"-c", "mcp_servers=" + *table});
  }
  return out;
}

std::vector<std::string> codex_argv(const std::string& program, const invocation& inv,
                                    const codex_provider& provider, const std::string& schema_path,
                                    const std::vector<std::string>& settings) {
  std::vector<std::string> argv = {program, "exec"};
  // `resume` takes no -C: the working directory is the process's cwd in both forms.
  if (inv.resume_session_id)
    argv.push_back("resume");
  argv.insert(argv.end(), {"--json", "--skip-git-repo-check"});
  if (settings.empty())
    argv.push_back("--dangerously-bypass-approvals-and-sandbox");
  else
    argv.insert(argv.end(), settings.begin(), settings.end());
  if (!inv.model.empty())
    argv.insert(argv.end(), {"-m", inv.model});
  // Codex has no system-prompt flag; developer_instructions becomes a developer message
  // after codex's own instructions.
  if (!inv.system_prompt.empty())
    argv.insert(argv.end(), {"-c", "developer_instructions=" + toml_string(inv.system_prompt)});
  if (!provider.base_url.empty()) {
    const std::string p = std::string("model_providers.") + provider_id + ".";
    argv.insert(argv.end(), {"-c", std::string("model_provider=") + toml_string(provider_id), "-c",
                             p + "name=" + toml_string(provider_id), "-c",
                             p + "base_url=" + toml_string(provider.base_url), "-c",
                             p + "wire_api=\"responses\""});
    // The key stays in the environment; codex reads the variable named here.
    if (provider.api_key_from_env)
      argv.insert(argv.end(), {"-c", p + "env_key=\"OPENAI_API_KEY\""});
    // A private endpoint means no other traffic: without these codex looks up other hosts.
    argv.insert(argv.end(), {"--disable", "plugins", "-c", "analytics.enabled=false"});
  }
  if (!schema_path.empty())
    argv.insert(argv.end(), {"--output-schema", schema_path});
  if (inv.settings.extra_args)
    argv.insert(argv.end(), inv.settings.extra_args->begin(), inv.settings.extra_args->end());
  // "--" keeps a prompt that starts with '-' (or a session id) from being read as an option.
  argv.push_back("--");
  if (inv.resume_session_id)
    argv.push_back(*inv.resume_session_id);
  argv.push_back(inv.user_prompt);
  return argv;
}

codex_harness::codex_harness(harness_config config, std::string program)
    : process_harness(std::move(config)), program_(std::move(program)) {}

process_harness::prepared codex_harness::prepare(const invocation& inv,
                                                 std::shared_ptr<const output_schema> schema,
                                                 const event_sink& sink,
                                                 process_run_options& opts) {
  auto settings = codex_settings(inv);
  if (!settings.ok())
    return std::move(settings).error();
  std::shared_ptr<run_dir> dir;
  std::string schema_path;
  if (schema) {
    // --output-schema takes a file; it lives in a directory of this run's own.
    auto created = run_dir::with_file("agentrt-codex", "output-schema.json", schema->schema_json());
    if (!created.ok())
      return prefixed("codex: cannot write the output schema file: ", std::move(created).error());
    dir = std::move(created).value();
    schema_path = (dir->path() / "output-schema.json").string();
  }
  const auto provider = codex_provider_of(inv);
  opts.spawn.argv = codex_argv(program_, inv, provider, schema_path, settings.value());
  for (auto& [name, value] : codex_env(inv, provider))
    opts.spawn.env[name] = std::move(value);
  opts.keep_alive = std::move(dir);
  return std::make_unique<codex_parser>(sink, std::move(schema), inv.model);
}

} // namespace agentrt::runtime::harness

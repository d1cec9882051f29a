// The OpenCode adapter, its JSON event parser, and the config merge that carries the system
// prompt.
#include "harness/opencode_harness.hpp"

#include <cstdlib>
#include <filesystem>

#include <rapidjson/error/en.h>

#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/json_builder.hpp"
#include "harness/adapter_support.hpp"
#include "harness/harness_errc.hpp"
#include "harness/immediate_run.hpp"
#include "harness/json_support.hpp"
#include "harness/run_dir.hpp"

namespace agentrt::runtime::harness {

namespace {

const char* const harness_name = "opencode";
const char* const config_env_var = "OPENCODE_CONFIG_CONTENT";
constexpr std::size_t title_max_bytes = 60;

std::int64_t count_of(const rapidjson::Value& obj, const char* key) {
  return json::token_count(obj, key).value_or(0);
}

// OpenCode colours its stderr ("\x1b[91m\x1b[1mError: \x1b[0mSession not found"); error
// messages are for people and logs, so the CSI sequences go.
std::string without_ansi(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      i += 2;
      while (i < text.size() && !(text[i] >= 0x40 && text[i] <= 0x7e))
        ++i;
      continue;
    }
    out += text[i];
  }
  return out;
}

// The first line of the prompt, cut on a UTF-8 boundary: what a user sees in `opencode` later.
// Without a title OpenCode asks the model for one, an extra request per new session.
std::string title_of(const std::string& prompt) {
  std::string line = prompt.substr(0, prompt.find('\n'));
  const auto first = line.find_first_not_of(" \t\r");
  line = first == std::string::npos ? std::string() : line.substr(first);
  if (line.size() > title_max_bytes) {
    std::size_t cut = title_max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xc0) == 0x80)
      --cut;
    line = line.substr(0, cut) + "...";
  }
  return line.empty() ? std::string("agentrt") : line;
}

std::string provider_of(const std::string& model) {
  const auto slash = model.find('/');
  return slash == std::string::npos ? std::string() : model.substr(0, slash);
}

// "provider/model" for -m. A bare model name is completed with the provider the user's config
// already points at, so that `model: "claude-sonnet-4-5"` works for whoever configured one.
std::string qualified_model(const std::string& model, const rapidjson::Value& config) {
  if (model.empty() || model.find('/') != std::string::npos)
    return model;
  std::string provider = provider_of(json::string_or_empty(config, "model"));
  if (provider.empty()) {
    if (const auto* p = json::member(config, "provider");
        p && p->IsObject() && p->MemberCount() == 1)
      provider = p->MemberBegin()->name.GetString();
  }
  return (provider.empty() ? std::string("anthropic") : provider) + "/" + model;
}

std::string structured_output_instruction(const output_schema& schema) {
  return "\n\nAnswer with a single JSON object and nothing else (no prose, no code fence). "
         "It must validate against this JSON schema:\n" +
         schema.schema_json();
}

} // namespace

opencode_parser::opencode_parser(event_sink sink, std::shared_ptr<const output_schema> schema,
                                 std::string model, std::string resumed_session)
    : sink_(std::move(sink)), schema_(std::move(schema)), model_(std::move(model)),
      resumed_session_(std::move(resumed_session)) {}

bool opencode_parser::on_line(std::string_view line) {
  rapidjson::Document doc;
  if (!json::parse(line, doc) || !doc.IsObject())
    return false;
  const auto type = json::string_member(doc, "type");
  if (!type)
    return false;
  if (auto sid = json::string_member(doc, "sessionID");
      sid && !sid->empty() && session_id_.empty()) {
    session_id_ = *sid;
    protocol::json_builder w;
    w.add("session_id", session_id_).add("harness", harness_name);
    if (!model_.empty())
      w.add("model", model_);
    sink_.event("session", w.str());
  }
  static const rapidjson::Value no_part(rapidjson::kObjectType);
  const auto* p = json::member(doc, "part");
  const rapidjson::Value& part = p && p->IsObject() ? *p : no_part;
  if (*type == "step_start") {
    step_texts_.clear();
  } else if (*type == "text") {
    auto text = json::string_or_empty(part, "text");
    if (!text.empty()) {
      step_texts_.push_back(text);
      sink_.assistant({std::move(text)});
    }
  } else if (*type == "reasoning") {
    if (sink_.wants_events())
      sink_.event("reasoning",
                  protocol::json_builder().add("text", json::string_or_empty(part, "text")).str());
  } else if (*type == "tool_use") {
    on_tool(part);
  } else if (*type == "step_finish") {
    on_step_finish(part);
  } else if (*type == "error") {
    const auto* error = json::member(doc, "error");
    std::string name = error ? json::string_or_empty(*error, "name") : std::string();
    std::string message;
    if (const auto* data = error ? json::member(*error, "data") : nullptr) {
      message = json::string_or_empty(*data, "message");
      if (errors_.empty())
        error_status_ = json::number_member(*data, "statusCode");
    }
    if (errors_.empty())
      error_name_ = name;
    errors_.push_back(message.empty() ? (name.empty() ? std::string("unknown error") : name)
                                      : message);
  }
  // Event types of later OpenCode versions are understood as "nothing to forward".
  return true;
}

void opencode_parser::on_tool(const rapidjson::Value& part) {
  if (!sink_.wants_events())
    return;
  const auto id = json::string_or_empty(part, "callID");
  static const rapidjson::Value no_state(rapidjson::kObjectType);
  const auto* s = json::member(part, "state");
  const rapidjson::Value& state = s && s->IsObject() ? *s : no_state;
  protocol::json_builder use;
  use.add("id", id).add("name", json::string_or_empty(part, "tool"));
  if (const auto* input = json::member(state, "input"))
    use.add_raw("input", json::dump(*input));
  sink_.event("tool_use", use.str());
  // `opencode run` prints a tool part once, when it has completed or failed, so one line is
  // both the call and its result.
  const auto status = json::string_or_empty(state, "status");
  if (status != "completed" && status != "error")
    return;
  protocol::json_builder result;
  result.add("id", id);
  std::optional<std::int64_t> exit_code;
  if (const auto* meta = json::member(state, "metadata")) {
    if (const auto* e = json::member(*meta, "exit"); e && e->IsInt64())
      exit_code = e->GetInt64();
  }
  if (status == "error") {
    result.add("output", json::string_or_empty(state, "error")).add("is_error", true);
  } else {
    const auto* output = json::member(state, "output");
    result.add("output", output ? json::text_of(*output) : std::string())
        .add("is_error", exit_code.value_or(0) != 0);
  }
  if (exit_code)
    result.add("exit_code", *exit_code);
  sink_.event("tool_result", result.str());
}

void opencode_parser::on_step_finish(const rapidjson::Value& part) {
  ++steps_;
  last_reason_ = json::string_or_empty(part, "reason");
  if (!step_texts_.empty()) {
    final_text_.clear();
    for (const auto& t : step_texts_)
      final_text_ += (final_text_.empty() ? "" : "\n") + t;
    step_texts_.clear();
  }
  if (auto cost = json::number_member(part, "cost")) {
    cost_ += *cost;
    have_cost_ = true;
  }
  if (const auto* tokens = json::member(part, "tokens"); tokens && tokens->IsObject()) {
    json::add_tokens(input_, count_of(*tokens, "input"));
    json::add_tokens(output_, count_of(*tokens, "output"));
    json::add_tokens(reasoning_, count_of(*tokens, "reasoning"));
    json::add_tokens(total_, count_of(*tokens, "total"));
    if (const auto* cache = json::member(*tokens, "cache")) {
      json::add_tokens(cache_read_, count_of(*cache, "read"));
      json::add_tokens(cache_write_, count_of(*cache, "write"));
    }
  }
}

void opencode_parser::add_metadata(protocol::json_builder& w) const {
  w.add("harness", harness_name).add("session_id", session_id_);
  if (!model_.empty())
    w.add("model", model_);
  w.add("num_turns", steps_);
  if (have_cost_)
    w.add("total_cost_usd", cost_);
}

harness_outcome opencode_parser::finish(const process_end& raw_end) {
  process_end end = raw_end;
  end.stderr_tail = without_ansi(end.stderr_tail);
  // The usage in OpenCode's own words (its step_finish "tokens"), summed over the steps.
  std::string usage;
  if (steps_ > 0) {
    usage =
        protocol::json_builder()
            .add("input", input_)
            .add("output", output_)
            .add("reasoning", reasoning_)
            .add_raw(
                "cache",
                protocol::json_builder().add("read", cache_read_).add("write", cache_write_).str())
            .add("total", total_)
            .str();
    if (sink_.wants_events())
      sink_.event("usage", usage);
  }
  protocol::json_builder meta;
  add_metadata(meta);
  if (!usage.empty())
    meta.add_raw("usage", usage);

  if (!resumed_session_.empty() && !session_id_.empty() && session_id_ != resumed_session_) {
    // The history the caller meant to continue is not what the model saw.
    harness_outcome out;
    out.error.code = harness_errc::agent_failed;
    out.error.text =
        "opencode ran session " + session_id_ + " instead of the requested " + resumed_session_;
    meta.add("requested_session_id", resumed_session_).add("exit_code", end.status.exit_code);
    out.error_metadata_json = meta.str();
    return out;
  }
  if (!errors_.empty()) {
    harness_outcome out;
    out.error.code = harness_errc::agent_failed;
    out.error.text = std::string(harness_name) + " failed (" +
                     (error_name_.empty() ? std::string("error") : error_name_) + "): ";
    for (std::size_t i = 0; i < errors_.size(); ++i)
      out.error.text += (i ? "; " : "") + errors_[i];
    if (!error_name_.empty())
      meta.add("error_name", error_name_);
    if (error_status_)
      meta.add("api_error_status", static_cast<std::int64_t>(*error_status_));
    meta.add("exit_code", end.status.exit_code);
    if (!end.stderr_tail.empty())
      meta.add("stderr_tail", end.stderr_tail);
    out.error_metadata_json = meta.str();
    return out;
  }
  if (end.status.exit_code != 0 || end.status.term_signal != 0)
    return process_failure(harness_name, end);
  if (steps_ == 0)
    return process_failure(
        harness_name, end,
        {harness_errc::agent_exited, "opencode exited without finishing a step"});
  if (last_reason_ != "stop") {
    harness_outcome out;
    out.error.code = harness_errc::agent_exited;
    out.error.text = "opencode stopped before the answer (finish reason \"" + last_reason_ + "\")";
    meta.add("finish_reason", last_reason_).add("exit_code", end.status.exit_code);
    out.error_metadata_json = meta.str();
    return out;
  }
  return final_answer(harness_name, final_text_, schema_.get(), meta.str());
}

namespace {

// mcp_servers in the common shape ({"name": {"command", "args", "env"}} for a local server,
// {"name": {"url", "headers"}} for a remote one) as OpenCode's "mcp" entries
// ({"type":"local","command":[...],"environment":{...}} / {"type":"remote","url":...}),
// merged over what the user's config already says.
protocol::result<void> add_mcp_servers(const std::string& servers_json, rapidjson::Value& mcp,
                                       rapidjson::Document::AllocatorType& a) {
  rapidjson::Document servers;
  if (!json::parse(servers_json, servers) || !servers.IsObject())
    return {protocol::errc::invalid_value,
            "opencode: harness_settings.mcp_servers is not a JSON object"};
  for (auto& m : servers.GetObject()) {
    const std::string name(m.name.GetString(), m.name.GetStringLength());
    const auto& server = m.value;
    rapidjson::Value entry(rapidjson::kObjectType);
    if (!server.IsObject()) {
      return {protocol::errc::invalid_value,
              "opencode: harness_settings.mcp_servers." + name + " is not an object"};
    }
    if (const auto command = json::string_member(server, "command")) {
      entry.AddMember("type", "local", a);
      rapidjson::Value argv(rapidjson::kArrayType);
      argv.PushBack(
          rapidjson::Value(command->c_str(), static_cast<rapidjson::SizeType>(command->size()), a),
          a);
      if (const auto* args = json::member(server, "args"); args && args->IsArray())
        for (const auto& arg : args->GetArray())
          argv.PushBack(rapidjson::Value(arg, a), a);
      entry.AddMember("command", argv, a);
      if (const auto* env = json::member(server, "env"); env && env->IsObject())
        entry.AddMember("environment", rapidjson::Value(*env, a), a);
    } else if (const auto url = json::string_member(server, "url")) {
      entry.AddMember("type", "remote", a);
      entry.AddMember(
          "url", rapidjson::Value(url->c_str(), static_cast<rapidjson::SizeType>(url->size()), a),
          a);
      if (const auto* headers = json::member(server, "headers"); headers && headers->IsObject())
        entry.AddMember("headers", rapidjson::Value(*headers, a), a);
    } else {
      return {protocol::errc::invalid_value, "opencode: harness_settings.mcp_servers." + name +
                                                 " has neither \"command\" nor \"url\""};
    }
    entry.AddMember("enabled", true, a);
    mcp.RemoveMember(name.c_str());
    mcp.AddMember(rapidjson::Value(name.c_str(), static_cast<rapidjson::SizeType>(name.size()), a),
                  entry, a);
  }
  return {};
}

// Sets obj[key] to value, replacing what is there.
void set_member(rapidjson::Value& obj, const char* key, rapidjson::Value value,
                rapidjson::Document::AllocatorType& a) {
  if (auto it = obj.FindMember(key); it != obj.MemberEnd())
    it->value = value;
  else
    obj.AddMember(rapidjson::StringRef(key), value, a);
}

// The user's OPENCODE_CONFIG_CONTENT, "{}" when blank. OpenCode reads its config as JSONC; so
// does the merge, so that any config it accepts works.
protocol::result<rapidjson::Document> parse_user_config(const std::string& user_config) {
  rapidjson::Document doc;
  const bool blank = user_config.find_first_not_of(" \t\r\n") == std::string::npos;
  doc.Parse<rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag |
            rapidjson::kParseFullPrecisionFlag>(blank ? "{}" : user_config.c_str());
  if (doc.HasParseError() || !doc.IsObject()) {
    return {protocol::errc::invalid_value,
            std::string("opencode: ") + config_env_var + " is not a JSON object" +
                (doc.HasParseError()
                     ? std::string(" (") + rapidjson::GetParseError_En(doc.GetParseError()) +
                           " at offset " + std::to_string(doc.GetErrorOffset()) + ")"
                     : std::string())};
  }
  return doc;
}

// The adapter's agent in config's "agent" map (mode, system prompt, step limit, disabled
// tools), merged into what the user may already say about it (permissions, temperature...).
protocol::result<void> merge_agent(rapidjson::Document& config, int max_turns,
                                   const invocation& inv) {
  auto& a = config.GetAllocator();
  if (!config.HasMember("agent"))
    config.AddMember("agent", rapidjson::Value(rapidjson::kObjectType), a);
  auto& agents = config["agent"];
  if (!agents.IsObject()) {
    return {protocol::errc::invalid_value,
            std::string("opencode: \"agent\" in ") + config_env_var + " is not an object"};
  }
  if (!agents.HasMember(opencode_agent_name))
    agents.AddMember(rapidjson::StringRef(opencode_agent_name),
                     rapidjson::Value(rapidjson::kObjectType), a);
  auto& agent = agents[opencode_agent_name];
  if (!agent.IsObject())
    agent.SetObject();
  set_member(agent, "mode", rapidjson::Value(rapidjson::StringRef("primary")), a);
  if (!inv.system_prompt.empty())
    set_member(agent, "prompt",
               rapidjson::Value(inv.system_prompt.c_str(),
                                static_cast<rapidjson::SizeType>(inv.system_prompt.size()), a),
               a);
  if (max_turns > 0)
    set_member(agent, "steps", rapidjson::Value(max_turns), a);
  if (const auto& disallowed = inv.settings.disallowed_tools) {
    // An agent's "tools" map switches tools off by name (globs allowed, e.g. "mymcp_*").
    if (!agent.HasMember("tools") || !agent["tools"].IsObject())
      set_member(agent, "tools", rapidjson::Value(rapidjson::kObjectType), a);
    auto& tools = agent["tools"];
    for (const auto& name : *disallowed) {
      tools.RemoveMember(name.c_str());
      tools.AddMember(
          rapidjson::Value(name.c_str(), static_cast<rapidjson::SizeType>(name.size()), a),
          rapidjson::Value(false), a);
    }
  }
  return {};
}

// The command line for model ("" = OpenCode's default).
std::vector<std::string> opencode_argv(const std::string& program, const std::string& model,
                                       const invocation& inv) {
  // Error logs on stderr: OpenCode retries 5xx and 429 answers without limit and prints no
  // event meanwhile, so the stderr tail is what says why a run hit the harness timeout.
  std::vector<std::string> argv = {program,
                                   "run",
                                   "--format",
                                   "json",
                                   "--pure",
                                   "--auto",
                                   "--print-logs",
                                   "--log-level=ERROR",
                                   std::string("--agent=") + opencode_agent_name};
  if (!model.empty())
    argv.push_back("--model=" + model);
  // The "=" forms keep a value that starts with '-' from being read as a flag.
  if (inv.resume_session_id)
    argv.push_back("--session=" + *inv.resume_session_id);
  else
    argv.push_back("--title=" + title_of(inv.user_prompt));
  if (inv.agent_events)
    argv.push_back("--thinking"); // reasoning parts are printed only then
  if (const auto& extra = inv.settings.extra_args)
    argv.insert(argv.end(), extra->begin(), extra->end());
  return argv;
}

} // namespace

protocol::result<opencode_command> opencode_command_for(const std::string& program,
                                                        const harness_config& config,
                                                        const invocation& inv,
                                                        const output_schema* schema,
                                                        const std::string& user_config) {
  auto parsed = parse_user_config(user_config);
  if (!parsed.ok())
    return std::move(parsed).error();
  rapidjson::Document& doc = parsed.value();
  if (auto merged = merge_agent(doc, config.max_turns, inv); !merged.ok())
    return std::move(merged).error();
  if (const auto& servers = inv.settings.mcp_servers) {
    if (!doc.HasMember("mcp") || !doc["mcp"].IsObject())
      set_member(doc, "mcp", rapidjson::Value(rapidjson::kObjectType), doc.GetAllocator());
    if (auto added = add_mcp_servers(servers->json, doc["mcp"], doc.GetAllocator()); !added.ok())
      return std::move(added).error();
  }
  opencode_command cmd;
  cmd.config_content = json::dump(doc);
  cmd.model = qualified_model(inv.model, doc);
  cmd.argv = opencode_argv(program, cmd.model, inv);
  cmd.prompt = inv.user_prompt;
  if (schema)
    cmd.prompt += structured_output_instruction(*schema);
  return cmd;
}

opencode_harness::opencode_harness(harness_config config, std::string program)
    : process_harness(std::move(config)), program_(std::move(program)) {}

process_harness::prepared opencode_harness::prepare(const invocation& inv,
                                                    std::shared_ptr<const output_schema> schema,
                                                    const event_sink& sink,
                                                    process_run_options& opts) {
  auto command = opencode_command_for(program_, effective_config(config(), inv), inv, schema.get(),
                                      env_value(inv, config_env_var));
  if (!command.ok())
    return std::move(command).error();
  opencode_command& cmd = command.value();
  opts.spawn.argv = std::move(cmd.argv);
  opts.spawn.stdin_data = std::move(cmd.prompt);
  opts.spawn.env[config_env_var] = std::move(cmd.config_content);
  // OpenCode takes its working directory from $PWD; child_process sets PWD to the run's cwd.
  // A run must not replace the CLI under itself; the user can still say otherwise.
  if (!env_of(inv, "OPENCODE_DISABLE_AUTOUPDATE"))
    opts.spawn.env.emplace("OPENCODE_DISABLE_AUTOUPDATE", "1");
  // opencode (a Bun executable) unpacks a 5.5 MB native library into $TMPDIR at every run and
  // never removes it, so a long-lived sandbox's /tmp would fill up run by run. The run gets a
  // TMPDIR of its own, removed after it; its tools inherit it. An explicit TMPDIR in agent_env
  // is the user's choice and stays.
  if (inv.agent_env.count("TMPDIR") == 0) {
    auto tmp = run_dir::create("agentrt-opencode");
    if (!tmp.ok())
      return prefixed("opencode: ", std::move(tmp).error());
    opts.spawn.env["TMPDIR"] = tmp.value()->path().string();
    opts.keep_alive = std::shared_ptr<run_dir>(std::move(tmp).value());
  }
  return std::make_unique<opencode_parser>(sink, std::move(schema), std::move(cmd.model),
                                           inv.resume_session_id.value_or(""));
}

} // namespace agentrt::runtime::harness

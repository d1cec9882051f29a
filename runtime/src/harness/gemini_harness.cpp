// The Gemini CLI adapter, its stream-json parser and its per-run directory.
#include "harness/gemini_harness.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/json_builder.hpp"
#include "harness/adapter_support.hpp"
#include "harness/harness_errc.hpp"
#include "harness/immediate_run.hpp"
#include "harness/json_support.hpp"

namespace agentrt::runtime::harness {

namespace {

namespace fs = std::filesystem;

const char* const harness_name = "gemini";

// Stats keys that are not token counts; they go into the metadata on their own.
bool is_token_count_key(std::string_view key) {
  return key != "duration_ms" && key != "tool_calls";
}

} // namespace

gemini_parser::gemini_parser(event_sink sink, std::shared_ptr<const output_schema> schema)
    : sink_(std::move(sink)), schema_(std::move(schema)) {}

void gemini_parser::end_turn() {
  if (turn_text_.empty())
    return;
  last_turn_text_ = turn_text_;
  sink_.assistant({std::exchange(turn_text_, {})});
}

bool gemini_parser::on_line(std::string_view line) {
  rapidjson::Document doc;
  if (!json::parse(line, doc) || !doc.IsObject())
    return false;
  const auto type = json::string_member(doc, "type");
  if (!type)
    return false;
  if (*type == "init") {
    session_id_ = json::string_or_empty(doc, "session_id");
    model_ = json::string_or_empty(doc, "model");
    if (sink_.wants_events() && !session_id_.empty()) {
      protocol::json_builder w;
      w.add("session_id", session_id_).add("harness", harness_name);
      if (!model_.empty())
        w.add("model", model_);
      sink_.event("session", w.str());
    }
  } else if (*type == "message") {
    // The CLI streams the model's text in deltas and echoes the user's prompt; a turn's text
    // is complete when the turn calls a tool or the run ends.
    if (json::string_or_empty(doc, "role") == "assistant")
      turn_text_ += json::string_or_empty(doc, "content");
  } else if (*type == "tool_use") {
    end_turn();
    if (sink_.wants_events()) {
      protocol::json_builder w;
      w.add("id", json::string_or_empty(doc, "tool_id"))
          .add("name", json::string_or_empty(doc, "tool_name"));
      if (const auto* p = json::member(doc, "parameters"))
        w.add_raw("input", json::dump(*p));
      sink_.event("tool_use", w.str());
    }
  } else if (*type == "tool_result") {
    if (sink_.wants_events()) {
      const bool is_error = json::string_or_empty(doc, "status") == "error";
      std::string output = json::string_or_empty(doc, "output");
      if (is_error && output.empty()) {
        if (const auto* e = json::member(doc, "error"))
          output = json::string_or_empty(*e, "message");
      }
      sink_.event("tool_result", protocol::json_builder()
                                     .add("id", json::string_or_empty(doc, "tool_id"))
                                     .add("output", output)
                                     .add("is_error", is_error)
                                     .str());
    }
  } else if (*type == "error") {
    // Warnings (a retried request, a blocked hook) do not end the run; an "error" severity is
    // followed by a result line whose status is "error", often without a message of its own.
    const auto message = json::string_or_empty(doc, "message");
    const auto severity = json::string_or_empty(doc, "severity");
    if (severity == "error")
      last_error_ = message;
    sink_.log(std::string(harness_name) + " " + severity + ": " + message);
  } else if (*type == "result") {
    end_turn();
    result_.Swap(doc);
    have_result_ = true;
  }
  return true;
}

harness_outcome gemini_parser::finish(const process_end& end) {
  end_turn();
  if (!have_result_) {
    return process_failure(
        harness_name, end,
        {harness_errc::agent_exited, end.status.exit_code == 0 && end.status.term_signal == 0
                                         ? "gemini exited without a result line"
                                         : std::string()});
  }
  const auto& r = result_;
  protocol::json_builder meta;
  meta.add("harness", harness_name).add("session_id", session_id_);
  if (!model_.empty())
    meta.add("model", model_);
  if (const auto* stats = json::member(r, "stats"); stats && stats->IsObject()) {
    for (const char* key : {"duration_ms", "tool_calls"}) {
      if (const auto* v = json::member(*stats, key); v && v->IsNumber())
        meta.add_raw(key, json::dump(*v));
    }
    rapidjson::Document usage(rapidjson::kObjectType);
    for (const auto& m : stats->GetObject()) {
      if (!is_token_count_key(m.name.GetString()))
        continue;
      usage.AddMember(rapidjson::Value(m.name, usage.GetAllocator()),
                      rapidjson::Value(m.value, usage.GetAllocator()), usage.GetAllocator());
    }
    meta.add_raw("usage", json::dump(usage));
    if (sink_.wants_events())
      sink_.event("usage", json::dump(usage));
  }
  if (json::string_or_empty(r, "status") != "success") {
    harness_outcome out;
    out.error.code = harness_errc::agent_failed;
    std::string message = last_error_, type;
    if (const auto* e = json::member(r, "error"); e && e->IsObject()) {
      if (auto m = json::string_or_empty(*e, "message"); !m.empty())
        message = std::move(m);
      type = json::string_or_empty(*e, "type");
    }
    out.error.text = message.empty()
                         ? "gemini failed (status " + json::string_or_empty(r, "status") + ")"
                         : "gemini failed: " + message;
    if (!type.empty())
      meta.add("error_type", type);
    meta.add("exit_code", end.status.exit_code);
    if (!end.stderr_tail.empty())
      meta.add("stderr_tail", end.stderr_tail);
    out.error_metadata_json = meta.str();
    return out;
  }
  return final_answer(harness_name, last_turn_text_, schema_.get(), meta.str());
}

std::vector<std::string> gemini_argv(const std::string& program, const invocation& inv,
                                     const output_schema* schema) {
  std::string prompt = inv.user_prompt;
  if (schema) {
    prompt += "\n\nWhen you are done, reply with only one JSON object that conforms to this JSON "
              "schema (no code fences, no other text):\n" +
              schema->schema_json();
  }
  // The --name=value form keeps a prompt that starts with '-' from being read as a flag.
  const auto& h = inv.settings;
  std::vector<std::string> argv = {program, "--prompt=" + prompt, "--output-format", "stream-json",
                                   "--skip-trust"};
  // --yolo is --approval-mode=yolo; an invocation may choose another mode.
  argv.push_back(h.permission_mode ? "--approval-mode=" + *h.permission_mode : "--yolo");
  for (const auto& tool : h.allowed_tools.value_or(std::vector<std::string>{}))
    argv.push_back("--allowed-tools=" + tool);
  if (!inv.model.empty())
    argv.push_back("--model=" + inv.model);
  if (inv.resume_session_id)
    argv.push_back("--resume=" + *inv.resume_session_id);
  if (h.extra_args)
    argv.insert(argv.end(), h.extra_args->begin(), h.extra_args->end());
  return argv;
}

std::optional<std::string> gemini_settings_overlay(const std::string* user_settings,
                                                   const env_lookup& env) {
  auto set = [&env](const char* name) {
    const auto v = env(name);
    return v && !v->empty();
  };
  auto is_true = [&env](const char* name) { return env(name).value_or("") == "true"; };
  if (!set("GEMINI_API_KEY") || !set("GOOGLE_GEMINI_BASE_URL") ||
      is_true("GOOGLE_GENAI_USE_VERTEXAI") || is_true("GOOGLE_GENAI_USE_GCA"))
    return std::nullopt;
  rapidjson::Document doc(rapidjson::kObjectType);
  if (user_settings) {
    // The CLI reads settings.json with comments; a file it cannot read stays its business.
    doc.Parse<rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag |
              rapidjson::kParseFullPrecisionFlag>(user_settings->c_str(), user_settings->size());
    if (doc.HasParseError() || !doc.IsObject())
      return std::nullopt;
  }
  auto& a = doc.GetAllocator();
  if (json::member(doc, "selectedAuthType"))
    return std::nullopt; // the CLI's v1 layout
  auto child = [&a](rapidjson::Value& parent, const char* key) -> rapidjson::Value* {
    if (!parent.HasMember(key))
      parent.AddMember(rapidjson::StringRef(key), rapidjson::Value(rapidjson::kObjectType), a);
    auto& v = parent[key];
    return v.IsObject() ? &v : nullptr;
  };
  auto* security = child(doc, "security");
  auto* auth = security ? child(*security, "auth") : nullptr;
  if (!auth)
    return std::nullopt;
  // An empty or null choice counts as none, as it does for the CLI.
  if (const auto* chosen = json::member(*auth, "selectedType");
      chosen && !chosen->IsNull() && !(chosen->IsString() && chosen->GetStringLength() == 0))
    return std::nullopt;
  auth->RemoveMember("selectedType");
  auth->AddMember("selectedType", "gemini-api-key", a);
  return json::dump(doc);
}

protocol::result<std::optional<std::string>>
gemini_with_harness_settings(const std::string* settings, const protocol::harness_settings& h) {
  if (!h.max_turns && !h.disallowed_tools && !h.mcp_servers)
    return std::optional<std::string>();
  rapidjson::Document doc(rapidjson::kObjectType);
  if (settings && settings->find_first_not_of(" \t\r\n") != std::string::npos) {
    doc.Parse<rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag |
              rapidjson::kParseFullPrecisionFlag>(settings->c_str(), settings->size());
    if (doc.HasParseError() || !doc.IsObject() || json::member(doc, "selectedAuthType")) {
      return {protocol::errc::invalid_value,
              "gemini: cannot apply harness_settings: ~/.gemini/settings.json is not a JSON "
              "object in the CLI's current layout"};
    }
  }
  auto& a = doc.GetAllocator();
  // The object at parent[key], created (or replacing a non-object) when needed.
  auto child = [&a](rapidjson::Value& parent, const char* key) -> rapidjson::Value& {
    auto it = parent.FindMember(key);
    if (it == parent.MemberEnd()) {
      parent.AddMember(rapidjson::StringRef(key), rapidjson::Value(rapidjson::kObjectType), a);
      return parent[key];
    }
    if (!it->value.IsObject())
      it->value.SetObject();
    return it->value;
  };
  if (h.max_turns) {
    auto& model = child(doc, "model");
    model.RemoveMember("maxSessionTurns");
    model.AddMember("maxSessionTurns", *h.max_turns, a);
  }
  if (h.disallowed_tools) {
    auto& tools = child(doc, "tools");
    auto it = tools.FindMember("exclude");
    if (it == tools.MemberEnd()) {
      tools.AddMember("exclude", rapidjson::Value(rapidjson::kArrayType), a);
      it = tools.FindMember("exclude");
    }
    if (!it->value.IsArray())
      it->value.SetArray();
    for (const auto& name : *h.disallowed_tools)
      it->value.PushBack(
          rapidjson::Value(name.c_str(), static_cast<rapidjson::SizeType>(name.size()), a), a);
  }
  if (h.mcp_servers) {
    rapidjson::Document servers;
    if (!json::parse(h.mcp_servers->json, servers) || !servers.IsObject()) {
      return {protocol::errc::invalid_value,
              "gemini: harness_settings.mcp_servers is not a JSON object"};
    }
    auto& target = child(doc, "mcpServers");
    for (auto& m : servers.GetObject()) {
      target.RemoveMember(m.name);
      target.AddMember(rapidjson::Value(m.name, a), rapidjson::Value(m.value, a), a);
    }
  }
  return json::dump(doc);
}

namespace {

// Symlinks every entry of from into to, except the names in skip.
void link_entries(const fs::path& from, const fs::path& to,
                  std::initializer_list<const char*> skip) {
  std::error_code ec;
  for (fs::directory_iterator it(from, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    bool skipped = false;
    for (const char* s : skip)
      skipped |= name == s;
    std::error_code link_ec;
    if (!skipped)
      fs::create_symlink(it->path(), to / name, link_ec);
  }
}

// The Gemini CLI's notion of home: GEMINI_CLI_HOME, else HOME ("" when neither is set).
std::string gemini_home(const env_lookup& env) {
  if (auto h = env("GEMINI_CLI_HOME"); h && !h->empty())
    return *h;
  return env("HOME").value_or("");
}

} // namespace

protocol::result<std::unique_ptr<gemini_run_dir>>
gemini_run_dir::create(const fs::path& parent, const std::string& system_prompt,
                       const env_lookup& env, const protocol::harness_settings& harness) {
  const std::string home = gemini_home(env);
  std::optional<std::string> user_settings;
  if (!home.empty()) {
    std::ifstream in(fs::path(home) / ".gemini" / "settings.json", std::ios::binary);
    if (in) {
      std::ostringstream text;
      text << in.rdbuf();
      user_settings = text.str();
    }
  }
  auto settings = gemini_settings_overlay(user_settings ? &*user_settings : nullptr, env);
  auto merged = gemini_with_harness_settings(
      settings ? &*settings : (user_settings ? &*user_settings : nullptr), harness);
  if (!merged.ok())
    return std::move(merged).error();
  if (merged.value())
    settings = std::move(merged.value());
  if (system_prompt.empty() && !settings)
    return std::unique_ptr<gemini_run_dir>();

  auto private_dir = run_dir::create("agentrt-gemini", parent);
  if (!private_dir.ok())
    return std::move(private_dir).error();
  std::unique_ptr<gemini_run_dir> dir(new gemini_run_dir(std::move(private_dir).value()));
  if (!system_prompt.empty()) {
    // Only the runtime's user can read it: a system prompt can be confidential.
    const auto file = dir->path() / "system.md";
    if (auto written = write_private_file(file, system_prompt); !written.ok())
      return std::move(written).error();
    dir->env_["GEMINI_SYSTEM_MD"] = file.string();
  }
  if (settings) {
    if (auto written = dir->write_home_overlay(*settings, env); !written.ok())
      return std::move(written).error();
  }
  return dir;
}

protocol::result<void> gemini_run_dir::write_home_overlay(const std::string& settings,
                                                          const env_lookup& env) {
  const auto overlay = path() / "home";
  const auto overlay_gemini = overlay / ".gemini";
  std::error_code ec;
  fs::create_directories(overlay_gemini, ec);
  if (ec)
    return {ec, "cannot create " + overlay_gemini.string() + ": " + ec.message()};
  if (const std::string home = gemini_home(env); !home.empty()) {
    const fs::path real_gemini = fs::path(home) / ".gemini";
    // Sessions and per-project history must outlive this run (resume reads them), so their
    // directories exist in the user's store before they are linked; the CLI would create
    // exactly these on its first run.
    for (const char* d : {"tmp", "history"})
      fs::create_directories(real_gemini / d, ec);
    link_entries(home, overlay, {".gemini"});
    link_entries(real_gemini, overlay_gemini, {"settings.json"});
  }
  if (auto written = write_private_file(overlay_gemini / "settings.json", settings); !written.ok())
    return written;
  env_["GEMINI_CLI_HOME"] = overlay.string();
  return {};
}

gemini_harness::gemini_harness(harness_config config, std::string program)
    : process_harness(std::move(config)), program_(std::move(program)) {}

process_harness::prepared gemini_harness::prepare(const invocation& inv,
                                                  std::shared_ptr<const output_schema> schema,
                                                  const event_sink& sink,
                                                  process_run_options& opts) {
  const env_lookup env = [&inv](const std::string& name) { return env_of(inv, name); };
  auto created = gemini_run_dir::create({}, inv.system_prompt, env, inv.settings);
  if (!created.ok())
    return prefixed("gemini: ", std::move(created).error());
  std::unique_ptr<gemini_run_dir> dir = std::move(created).value();
  opts.spawn.argv = gemini_argv(program_, inv, schema.get());
  if (dir) {
    for (const auto& [k, v] : dir->env())
      opts.spawn.env[k] = v;
    if (auto it = dir->env().find("GEMINI_CLI_HOME"); it != dir->env().end())
      sink.log("gemini: settings overlay " + it->second + " (merged settings.json)");
  }
  opts.keep_alive = std::shared_ptr<gemini_run_dir>(std::move(dir));
  return std::make_unique<gemini_parser>(sink, std::move(schema));
}

} // namespace agentrt::runtime::harness

// Gemini CLI's stream-json replayed from streams recorded from the real CLI against
// fake_gemini_server (tests/runtime/data/gemini), the argv it is started with, the settings it
// is given, the per-run directory (system prompt file, GEMINI_CLI_HOME overlay) and a run of a
// stand-in script through the real process code.
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "harness/gemini_harness.hpp"
#include "harness_test_fixture.hpp"

namespace {

namespace fs = std::filesystem;
namespace hs = agentrt::runtime::harness;
using namespace agentrt::test; // harness_test_fixture.hpp

fs::path data_dir() {
  return fs::path(AGENTRT_TEST_DATA_DIR) / "gemini";
}

const char* const city_schema =
    R"({"type":"json_schema","schema":{"type":"object","properties":{"city":{"type":"string"},)"
    R"("population":{"type":"integer"}},"required":["city","population"]}})";

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Feeds a recorded stream to the parser and asks for the outcome.
hs::harness_outcome replay(const std::string& file, harness_record& rec,
                           const char* schema = nullptr, int exit_code = 0) {
  hs::gemini_parser parser(hs::event_sink(recording_callbacks(rec), true), parse_schema(schema));
  return feed(parser, recorded_lines(data_dir() / file), exited(exit_code));
}

TEST(HarnessGeminiParser, TextStream) {
  harness_record rec;
  auto out = replay("text.jsonl", rec);
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.data.type, agentrt::protocol::result_data::kind::text);
  EXPECT_EQ(out.data.text, "Hello from the fake model.");
  // Two deltas, one assistant message.
  EXPECT_EQ(rec.assistants,
            (std::vector<std::vector<std::string>>{{"Hello from the fake model."}}));
  EXPECT_EQ(event_kinds(rec), (std::vector<std::string>{"session", "usage"}));
  EXPECT_EQ(
      rec.events[0].second,
      R"({"session_id":"8514d4fa-e0bb-42b5-8027-44ad64056759","harness":"gemini","model":"gemini-2.5-flash"})");
  EXPECT_EQ(
      out.metadata_json,
      R"({"harness":"gemini","session_id":"8514d4fa-e0bb-42b5-8027-44ad64056759","model":"gemini-2.5-flash",)"
      R"("duration_ms":1432,"tool_calls":0,"usage":{"total_tokens":112,"input_tokens":100,"output_tokens":12,)"
      R"("cached":0,"input":100,"models":{"gemini-2.5-flash":{"total_tokens":112,"input_tokens":100,)"
      R"("output_tokens":12,"cached":0,"input":100}}}})");
  EXPECT_EQ(rec.events[1].second.rfind(R"({"total_tokens":112,"input_tokens":100,)", 0), 0u)
      << rec.events[1].second;
}

TEST(HarnessGeminiParser, ToolCallStream) {
  harness_record rec;
  auto out = replay("tool_call.jsonl", rec);
  ASSERT_TRUE(out.ok()) << out.error.text;
  // The answer is the last model turn, as in the CLI's own --output-format json.
  EXPECT_EQ(out.data.text, "Wrote the file.");
  EXPECT_EQ(rec.assistants, (std::vector<std::vector<std::string>>{{"I will write the file."},
                                                                   {"Wrote the file."}}));
  EXPECT_EQ(event_kinds(rec),
            (std::vector<std::string>{"session", "tool_use", "tool_result", "usage"}));
  EXPECT_EQ(
      rec.events[1].second,
      R"({"id":"run_shell_command__run_shell_command_1796109451874_0","name":"run_shell_command",)"
      R"("input":{"command":"echo made-by-gemini > proof.txt && echo ok","description":"write proof"}})");
  EXPECT_EQ(
      rec.events[2].second,
      R"({"id":"run_shell_command__run_shell_command_1796109451874_0","output":"ok","is_error":false})");
  EXPECT_NE(out.metadata_json.find(R"("tool_calls":1)"), std::string::npos) << out.metadata_json;
}

TEST(HarnessGeminiParser, FailedToolIsAnErrorResult) {
  harness_record rec;
  auto out = replay("tool_error.jsonl", rec);
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.data.text, "The file does not exist.");
  ASSERT_EQ(event_kinds(rec),
            (std::vector<std::string>{"session", "tool_use", "tool_result", "usage"}));
  EXPECT_EQ(
      rec.events[2].second.rfind(
          R"({"id":"read_file__read_file_1796109487544_0","output":"Path not in workspace: )", 0),
      0u)
      << rec.events[2].second;
  EXPECT_NE(rec.events[2].second.find(R"("is_error":true)"), std::string::npos);
}

TEST(HarnessGeminiParser, StructuredOutput) {
  harness_record rec;
  auto out = replay("structured.jsonl", rec, city_schema);
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.data.type, agentrt::protocol::result_data::kind::structured_output);
  EXPECT_EQ(out.data.structured_output.json, R"({"city":"Paris","population":2100000})");
}

TEST(HarnessGeminiParser, StructuredOutputInAFenceAfterAToolCall) {
  harness_record rec;
  auto out = replay("structured_fenced.jsonl", rec, city_schema);
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.data.structured_output.json, R"({"city":"Paris","population":2100000})");
}

TEST(HarnessGeminiParser, StructuredOutputMismatchQuotesTheValidationError) {
  harness_record rec;
  auto out = replay(
      "structured.jsonl", rec,
      R"({"type":"json_schema","schema":{"type":"object","properties":{"population":{"type":"string"}}}})");
  EXPECT_FALSE(out.ok());
  EXPECT_NE(out.error.text.find("/population fails \"type\""), std::string::npos) << out.error.text;
  EXPECT_NE(out.error_metadata_json.find(R"("answer":"{\"city\":\"Paris\")"), std::string::npos)
      << out.error_metadata_json;
}

TEST(HarnessGeminiParser, StructuredOutputWithoutJsonIsAnError) {
  harness_record rec;
  auto out = replay("text.jsonl", rec, city_schema);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text,
            "structured output requested but gemini's answer contains no JSON object");
}

TEST(HarnessGeminiParser, ApiErrorIsAnErrorWithTheCliMessage) {
  harness_record rec;
  // The CLI exits with the HTTP status, 400, truncated to 8 bits.
  auto out = replay("api_error.jsonl", rec, nullptr, 144);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text.rfind("gemini failed: [API Error: ", 0), 0u) << out.error.text;
  EXPECT_NE(out.error.text.find("API key not valid. Please pass a valid API key."),
            std::string::npos);
  EXPECT_NE(out.error_metadata_json.find(R"("error_type":"unknown","exit_code":144)"),
            std::string::npos)
      << out.error_metadata_json;
  EXPECT_NE(out.error_metadata_json.find(R"("session_id":"758c75ec-)"), std::string::npos);
}

TEST(HarnessGeminiParser, ErrorEventThenErrorResultUsesTheEventMessage) {
  harness_record rec;
  auto out = replay("empty_response.jsonl", rec);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text.rfind("gemini failed: The model returned an empty response", 0), 0u)
      << out.error.text;
  ASSERT_EQ(rec.logs.size(), 1u);
  EXPECT_EQ(rec.logs[0].rfind("gemini error: The model returned", 0), 0u) << rec.logs[0];
}

TEST(HarnessGeminiParser, NoResultLineUsesExitAndStderr) {
  hs::gemini_parser parser(hs::event_sink{}, nullptr);
  EXPECT_FALSE(
      parser.on_line("Error resuming session: No previous sessions found for this project."));
  EXPECT_FALSE(parser.on_line(R"(["not","an","event"])"));
  hs::process_end end;
  end.status.exit_code = 42;
  end.stderr_tail = "Error resuming session: No previous sessions found for this project.";
  auto out = parser.finish(end);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text,
            "gemini exited with status 42: Error resuming session: No previous sessions "
            "found for this project.");
  EXPECT_NE(out.error_metadata_json.find(R"("exit_code":42)"), std::string::npos);
}

TEST(HarnessGeminiParser, CleanExitWithoutResultIsAnError) {
  hs::gemini_parser parser(hs::event_sink{}, nullptr);
  EXPECT_TRUE(parser.on_line(R"({"type":"init","session_id":"s","model":"m"})"));
  auto out = parser.finish(hs::process_end{});
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text, "gemini exited without a result line");
}

TEST(HarnessGemini, Argv) {
  hs::invocation inv;
  inv.user_prompt = "-fix it";
  inv.model = "gemini-2.5-pro";
  inv.resume_session_id = "0b3c";
  auto schema = parse_schema(R"({"type":"json_schema","schema":{"type":"object"}})");
  EXPECT_EQ(
      hs::gemini_argv("gemini", inv, schema.get()),
      (std::vector<std::string>{
          "gemini",
          "--prompt=-fix it\n\nWhen you are done, reply with only one JSON object that conforms to "
          "this JSON schema (no code fences, no other text):\n{\"type\":\"object\"}",
          "--output-format", "stream-json", "--skip-trust", "--yolo", "--model=gemini-2.5-pro",
          "--resume=0b3c"}));
  inv = {};
  inv.user_prompt = "hi";
  EXPECT_EQ(hs::gemini_argv("/bin/gemini", inv, nullptr),
            (std::vector<std::string>{"/bin/gemini", "--prompt=hi", "--output-format",
                                      "stream-json", "--skip-trust", "--yolo"}));
}

hs::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    if (auto it = vars.find(name); it != vars.end())
      return it->second;
    return std::nullopt;
  };
}

TEST(HarnessGemini, SettingsOverlayOnlyWhenTheBaseUrlNeedsAnAuthType) {
  const std::map<std::string, std::string> gateway = {
      {"GEMINI_API_KEY", "k"}, {"GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:1"}};
  // Without a base URL the CLI finds gemini-api-key in the environment by itself.
  EXPECT_FALSE(hs::gemini_settings_overlay(nullptr, env_of({{"GEMINI_API_KEY", "k"}})));
  EXPECT_FALSE(
      hs::gemini_settings_overlay(nullptr, env_of({{"GOOGLE_GEMINI_BASE_URL", "http://x"}})));
  EXPECT_EQ(
      hs::gemini_settings_overlay(nullptr, env_of(gateway)),
      std::optional<std::string>(R"({"security":{"auth":{"selectedType":"gemini-api-key"}}})"));
  auto vertex = gateway;
  vertex["GOOGLE_GENAI_USE_VERTEXAI"] = "true";
  EXPECT_FALSE(hs::gemini_settings_overlay(nullptr, env_of(vertex)));

  // The user's settings are kept (comments and trailing commas are fine, as for the CLI).
  const std::string user = "// mine\n{\"privacy\":{\"usageStatisticsEnabled\":false},\n"
                           " \"security\":{\"folderTrust\":{\"enabled\":false},},}";
  EXPECT_EQ(hs::gemini_settings_overlay(&user, env_of(gateway)),
            std::optional<std::string>(
                R"({"privacy":{"usageStatisticsEnabled":false},"security":)"
                R"({"folderTrust":{"enabled":false},"auth":{"selectedType":"gemini-api-key"}}})"));
  // A choice of the user's own wins; an empty one counts as none.
  const std::string oauth = R"({"security":{"auth":{"selectedType":"oauth-personal"}}})";
  EXPECT_FALSE(hs::gemini_settings_overlay(&oauth, env_of(gateway)));
  const std::string empty_choice = R"({"security":{"auth":{"selectedType":""}}})";
  EXPECT_EQ(
      hs::gemini_settings_overlay(&empty_choice, env_of(gateway)),
      std::optional<std::string>(R"({"security":{"auth":{"selectedType":"gemini-api-key"}}})"));
  // A file the CLI will refuse anyway is left for it to report.
  const std::string broken = "{not json";
  EXPECT_FALSE(hs::gemini_settings_overlay(&broken, env_of(gateway)));
}

TEST(HarnessGemini, RunDirMirrorsTheUsersHomeAndIsRemoved) {
  agentrt::test::harness_env env;
  const auto home = env.dir / "home";
  fs::create_directories(home / ".gemini");
  const std::string user_settings = R"({"privacy":{"usageStatisticsEnabled":false}})";
  std::ofstream(home / ".gemini" / "settings.json") << user_settings;
  std::ofstream(home / ".gemini" / "GEMINI.md") << "be nice";
  std::ofstream(home / ".env") << "FOO=1";
  const auto vars = env_of({{"HOME", home.string()},
                            {"GEMINI_API_KEY", "k"},
                            {"GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:1"}});
  fs::path dir_path;
  {
    auto created = hs::gemini_run_dir::create(env.dir, "You are a test agent.", vars);
    ASSERT_TRUE(created.ok()) << created.error().text;
    const auto& dir = created.value();
    ASSERT_TRUE(dir);
    dir_path = dir->path();
    EXPECT_EQ(dir_path.parent_path(), env.dir);
    struct stat st {};
    ASSERT_EQ(::stat(dir_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);

    const auto system_md = dir->env().at("GEMINI_SYSTEM_MD");
    EXPECT_EQ(read_text(system_md), "You are a test agent.");
    ASSERT_EQ(::stat(system_md.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    const fs::path overlay = dir->env().at("GEMINI_CLI_HOME");
    EXPECT_EQ(
        read_text(overlay / ".gemini" / "settings.json"),
        R"({"privacy":{"usageStatisticsEnabled":false},"security":{"auth":{"selectedType":"gemini-api-key"}}})");
    EXPECT_FALSE(fs::is_symlink(overlay / ".gemini" / "settings.json"));
    EXPECT_TRUE(fs::is_symlink(overlay / ".env"));
    EXPECT_EQ(read_text(overlay / ".env"), "FOO=1");
    EXPECT_TRUE(fs::is_symlink(overlay / ".gemini" / "GEMINI.md"));
    // The session store is the user's: created there and linked.
    EXPECT_TRUE(fs::is_directory(home / ".gemini" / "tmp"));
    EXPECT_EQ(fs::read_symlink(overlay / ".gemini" / "tmp"), home / ".gemini" / "tmp");
    std::ofstream(overlay / ".gemini" / "tmp" / "written-through") << "x";
  }
  EXPECT_FALSE(fs::exists(dir_path));
  // Removing the overlay removed links, not what they point to.
  EXPECT_EQ(read_text(home / ".gemini" / "settings.json"), user_settings);
  EXPECT_EQ(read_text(home / ".gemini" / "GEMINI.md"), "be nice");
  EXPECT_EQ(read_text(home / ".env"), "FOO=1");
  EXPECT_TRUE(fs::exists(home / ".gemini" / "tmp" / "written-through"));
}

TEST(HarnessGemini, RunDirOnlyWhenNeeded) {
  agentrt::test::harness_env env;
  auto none = hs::gemini_run_dir::create(env.dir, "", env_of({{"GEMINI_API_KEY", "k"}}));
  ASSERT_TRUE(none.ok()) << none.error().text;
  EXPECT_FALSE(none.value());
  // A system prompt alone needs no overlay: the user's home is used as it is.
  auto created = hs::gemini_run_dir::create(env.dir, "sys", env_of({{"GEMINI_API_KEY", "k"}}));
  ASSERT_TRUE(created.ok()) << created.error().text;
  const auto& dir = created.value();
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir->env().size(), 1u);
  EXPECT_EQ(dir->env().count("GEMINI_SYSTEM_MD"), 1u);
  auto missing = hs::gemini_run_dir::create(env.dir / "missing", "sys", env_of({}));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().text.find("cannot create a run directory in "), std::string::npos)
      << missing.error().text;
  EXPECT_EQ(missing.error().code, std::error_code(ENOENT, std::generic_category()));
}

// The value after "key=" in the run's log lines (the stand-in script prints them to stderr).
std::string logged(const harness_record& rec, const std::string& key) {
  for (const auto& l : rec.logs) {
    const auto at = l.find(key + "=");
    if (at != std::string::npos)
      return l.substr(at + key.size() + 1);
  }
  return "";
}

hs::invocation script_invocation(const agentrt::test::harness_env& env) {
  hs::invocation inv;
  inv.user_prompt = "write a file";
  inv.system_prompt = "You are a test agent.";
  inv.agent_events = true;
  inv.agent_env = {{"HOME", (env.dir / "home").string()},
                   {"GEMINI_API_KEY", "k"},
                   {"GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:9"}};
  fs::create_directories(env.dir / "home");
  return inv;
}

TEST(HarnessGemini, RunsAFakeGeminiScript) {
  // A stand-in executable that replays a recorded stream proves the process side end to end,
  // and shows what the CLI would see of its run directory.
  agentrt::test::harness_env env;
  const auto recorded = (data_dir() / "tool_call.jsonl").string();
  const auto fake = env.write_script(
      "gemini", "#!/bin/sh\n"
                "echo \"sysmd=$(cat \"$GEMINI_SYSTEM_MD\")\" >&2\n"
                "echo \"home=$GEMINI_CLI_HOME\" >&2\n"
                "echo \"settings=$(cat \"$GEMINI_CLI_HOME/.gemini/settings.json\")\" >&2\n"
                "cat '" +
                    recorded + "'\n");
  hs::harness_config cfg;
  cfg.workdir = env.dir.string();
  hs::gemini_harness h(cfg, fake);
  auto rec = env.run(h, script_invocation(env));
  ASSERT_TRUE(rec.outcome && rec.outcome->ok()) << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.text, "Wrote the file.");
  EXPECT_EQ(rec.assistants.size(), 2u);
  EXPECT_EQ(logged(rec, "sysmd"), "You are a test agent.");
  EXPECT_EQ(logged(rec, "settings"), R"({"security":{"auth":{"selectedType":"gemini-api-key"}}})");
  const fs::path overlay = logged(rec, "home");
  ASSERT_FALSE(overlay.empty()) << rec.logs_text();
  EXPECT_NE(rec.logs_text().find("gemini: settings overlay " + overlay.string()),
            std::string::npos);
  EXPECT_TRUE(
      env.run_until([&] { return !fs::exists(overlay.parent_path()); }, std::chrono::seconds(5)))
      << overlay.parent_path() << " left behind";
}

TEST(HarnessGemini, CancelRemovesTheRunDir) {
  agentrt::test::harness_env env;
  const auto fake =
      env.write_script("gemini", "#!/bin/sh\necho \"home=$GEMINI_CLI_HOME\" >&2\nsleep 30\n");
  hs::gemini_harness h(hs::harness_config{}, fake);
  bool scope_empty = false;
  auto rec = env.run_and_cancel(
      h, script_invocation(env), [](const harness_record& r) { return !logged(r, "home").empty(); },
      scope_empty);
  EXPECT_TRUE(scope_empty);
  EXPECT_EQ(rec.done_calls, 0);
  const fs::path overlay = logged(rec, "home");
  ASSERT_FALSE(overlay.empty()) << rec.logs_text();
  EXPECT_TRUE(
      env.run_until([&] { return !fs::exists(overlay.parent_path()); }, std::chrono::seconds(5)))
      << overlay.parent_path() << " left behind";
}

TEST(HarnessGemini, MissingProgramIsAClearError) {
  agentrt::test::harness_env env;
  hs::gemini_harness h(hs::harness_config{}, (env.dir / "no-such-gemini").string());
  hs::invocation inv;
  inv.user_prompt = "hi";
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text.rfind("failed to start gemini (", 0), 0u)
      << rec.outcome->error.text;
}

TEST(HarnessFactory, GeminiByName) {
  hs::harness_config cfg;
  cfg.agent = "gemini";
  auto choice = hs::make_harness(cfg);
  ASSERT_TRUE(choice.ok()) << choice.error().text;
  ASSERT_TRUE(choice->chosen);
  EXPECT_EQ(choice->chosen->name(), "gemini");
  EXPECT_EQ(choice->startup_line.rfind("harness: gemini (", 0), 0u) << choice->startup_line;
}

TEST(HarnessGemini, HarnessSettingsMergeIntoTheSettingsFile) {
  agentrt::protocol::harness_settings h;
  auto merged = hs::gemini_with_harness_settings(nullptr, h);
  ASSERT_TRUE(merged.ok()) << merged.error().text;
  EXPECT_FALSE(merged.value()); // nothing asked for
  h.max_turns = 7;
  h.disallowed_tools = std::vector<std::string>{"run_shell_command"};
  h.mcp_servers = agentrt::protocol::json_text{R"({"fs":{"command":"mcp-fs","args":["/w"]}})"};
  const std::string user =
      R"({/* mine */ "model":{"name":"m"},"tools":{"exclude":["web_fetch"]},"mcpServers":{"old":{"command":"o"}},})";
  merged = hs::gemini_with_harness_settings(&user, h);
  ASSERT_TRUE(merged.ok()) << merged.error().text;
  EXPECT_EQ(
      merged.value(),
      std::optional<std::string>(
          R"({"model":{"name":"m","maxSessionTurns":7},"tools":{"exclude":["web_fetch","run_shell_command"]},)"
          R"("mcpServers":{"old":{"command":"o"},"fs":{"command":"mcp-fs","args":["/w"]}}})"));
  merged = hs::gemini_with_harness_settings(nullptr, h);
  ASSERT_TRUE(merged.ok()) << merged.error().text;
  EXPECT_EQ(merged.value(),
            std::optional<std::string>(
                R"({"model":{"maxSessionTurns":7},"tools":{"exclude":["run_shell_command"]},)"
                R"("mcpServers":{"fs":{"command":"mcp-fs","args":["/w"]}}})"));
  const std::string v1 = R"({"selectedAuthType":"gemini-api-key"})";
  merged = hs::gemini_with_harness_settings(&v1, h);
  ASSERT_FALSE(merged.ok());
  EXPECT_NE(merged.error().text.find("cannot apply harness_settings"), std::string::npos)
      << merged.error().text;
  EXPECT_EQ(merged.error().code, agentrt::protocol::errc::invalid_value);
}

} // namespace

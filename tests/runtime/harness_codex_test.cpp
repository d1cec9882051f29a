// Codex's `exec --json` events replayed from streams recorded from the real CLI against
// fake_responses_server (tests/runtime/data/codex), the argv it is started with, and the
// process side (schema file, environment, garbage, missing CLI, timeout) through stand-in
// scripts.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "harness/codex_harness.hpp"
#include "harness_test_fixture.hpp"

namespace {

namespace hs = agentrt::runtime::harness;
using namespace agentrt::test; // harness_test_fixture.hpp
using namespace std::chrono_literals;

std::filesystem::path data_dir() {
  return std::filesystem::path(AGENTRT_TEST_DATA_DIR) / "codex";
}

const char* const city_schema =
    R"({"type":"json_schema","schema":{"type":"object","properties":{"city":{"type":"string"},)"
    R"("population":{"type":"integer"}},"required":["city","population"]}})";

// Feeds a recorded stream to the parser and asks for the outcome.
hs::harness_outcome replay(const std::string& file, harness_record& rec,
                           const char* schema = nullptr, int exit_code = 0,
                           std::string model = {}) {
  hs::codex_parser parser(hs::event_sink(recording_callbacks(rec), true), parse_schema(schema),
                          std::move(model));
  return feed(parser, recorded_lines(data_dir() / file), exited(exit_code));
}

TEST(HarnessCodexParser, TextStream) {
  harness_record rec;
  auto out = replay("text.jsonl", rec, nullptr, 0, "gpt-5.5");
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.data.type, agentrt::protocol::result_data::kind::text);
  EXPECT_EQ(out.data.text, "Hello from the fake model.");
  EXPECT_EQ(rec.assistants,
            (std::vector<std::vector<std::string>>{{"Hello from the fake model."}}));
  EXPECT_EQ(event_kinds(rec), (std::vector<std::string>{"session", "usage"}));
  EXPECT_EQ(
      rec.events[0].second,
      R"({"session_id":"01a23076-e429-7e43-8b75-f8b3bbf92ce8","harness":"codex","model":"gpt-5.5"})");
  EXPECT_EQ(
      out.metadata_json,
      R"({"harness":"codex","session_id":"01a23076-e429-7e43-8b75-f8b3bbf92ce8","usage":{"input_tokens":12,)"
      R"("cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":7,"reasoning_output_tokens":0}})");
}

TEST(HarnessCodexParser, ToolCallStream) {
  harness_record rec;
  auto out = replay("tool_call.jsonl", rec);
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.data.text, "There are two files: a.txt and b.txt.");
  EXPECT_EQ(rec.assistants,
            (std::vector<std::vector<std::string>>{{"Let me look at the directory."},
                                                   {"There are two files: a.txt and b.txt."}}));
  // item.started and item.completed of the command give one tool_use and one tool_result.
  EXPECT_EQ(event_kinds(rec),
            (std::vector<std::string>{"session", "reasoning", "tool_use", "tool_result", "usage"}));
  EXPECT_EQ(rec.events[0].second,
            R"({"session_id":"01a23076-e772-7ea1-95be-62f7e51eab69","harness":"codex"})");
  EXPECT_EQ(rec.events[1].second, R"({"text":"I should list the files."})");
  EXPECT_EQ(
      rec.events[2].second,
      R"({"id":"item_2","name":"command_execution","input":{"command":"/bin/bash -lc \"printf 'a.txt\\\\nb.txt\\\\n'\""}})");
  EXPECT_EQ(rec.events[3].second,
            R"({"id":"item_2","output":"a.txt\nb.txt\n","is_error":false,"exit_code":0})");
  EXPECT_NE(out.metadata_json.find(R"("usage":{"input_tokens":24,)"), std::string::npos)
      << out.metadata_json;
}

TEST(HarnessCodexParser, FileChangeMcpFailedCommandAndWebSearch) {
  harness_record rec;
  auto out = replay("other_items.jsonl", rec);
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.data.text, "Done.");
  std::vector<std::string> expected = {"session"};
  for (int i = 0; i < 4; ++i)
    expected.insert(expected.end(), {"tool_use", "tool_result"});
  expected.push_back("usage");
  ASSERT_EQ(event_kinds(rec), expected);
  EXPECT_EQ(
      rec.events[1].second,
      R"({"id":"item_0","name":"file_change","input":{"changes":[{"path":"/tmp/cx/rec/work/hello.txt","kind":"add"}]}})");
  EXPECT_EQ(rec.events[2].second,
            R"({"id":"item_0","output":"add /tmp/cx/rec/work/hello.txt","is_error":false})");
  EXPECT_EQ(rec.events[3].second,
            R"({"id":"item_1","name":"mcp__echo__shout","input":{"text":"hello"}})");
  EXPECT_EQ(rec.events[4].second, R"({"id":"item_1","output":"HELLO","is_error":false})");
  EXPECT_EQ(rec.events[6].second,
            R"({"id":"item_2","output":"oops\n","is_error":true,"exit_code":3})");
  // A web_search item carries its id twice; the first one (codex's item id) counts.
  EXPECT_EQ(rec.events[7].second,
            R"({"id":"item_3","name":"web_search","input":{"query":"weather in paris"}})");
  EXPECT_EQ(rec.events[8].second, R"({"id":"item_3","output":"","is_error":false})");
}

TEST(HarnessCodexParser, ErrorItemsAreWarnings) {
  // Recorded with an unknown `-c request_max_retries=0`: codex warns in error items, then works.
  harness_record rec;
  auto out = replay("warning.jsonl", rec);
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.data.text, "Hello despite the warning.");
  ASSERT_EQ(rec.logs.size(), 2u);
  EXPECT_EQ(rec.logs[0].rfind(
                "codex: warning: Codex is ignoring 1 unrecognized configuration setting.", 0),
            0u)
      << rec.logs[0];
}

TEST(HarnessCodexParser, ReconnectErrorEventIsNotFatal) {
  // Recorded with a first stream cut before response.completed: codex says "Reconnecting..."
  // in a top-level error event, asks again and completes the turn.
  harness_record rec;
  auto out = replay("reconnect.jsonl", rec);
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.data.text, "Recovered.");
  EXPECT_EQ(rec.assistants, (std::vector<std::vector<std::string>>{{"partial"}, {"Recovered."}}));
  ASSERT_EQ(rec.logs.size(), 1u);
  EXPECT_EQ(rec.logs[0].rfind("codex: Reconnecting... 1/5 (stream disconnected", 0), 0u)
      << rec.logs[0];
}

TEST(HarnessCodexParser, StructuredOutput) {
  harness_record rec;
  auto out = replay("structured.jsonl", rec, city_schema);
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.data.type, agentrt::protocol::result_data::kind::structured_output);
  EXPECT_EQ(out.data.structured_output.json, R"({"city":"Paris","population":2100000})");
  EXPECT_NE(out.metadata_json.find(R"("session_id":"01a23076-eb6d-7c71-bc90-41c2ac6f6d0f")"),
            std::string::npos);
}

TEST(HarnessCodexParser, StructuredOutputMismatch) {
  harness_record rec;
  auto out = replay(
      "structured.jsonl", rec,
      R"({"type":"json_schema","schema":{"type":"object","properties":{"population":{"type":"string"}}}})");
  EXPECT_FALSE(out.ok());
  EXPECT_NE(out.error.text.find("/population fails \"type\""), std::string::npos) << out.error.text;
}

TEST(HarnessCodexParser, StructuredOutputWithoutJsonIsAnError) {
  harness_record rec;
  auto out = replay("text.jsonl", rec, city_schema);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text,
            "structured output requested but codex's answer contains no JSON object");
}

TEST(HarnessCodexParser, TurnFailedIsAnErrorWithTheProvidersMessage) {
  harness_record rec;
  auto out = replay("api_error.jsonl", rec, nullptr, 1);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text, "codex failed: The requested model 'gpt-5.5' does not exist.");
  EXPECT_NE(out.error_metadata_json.find(R"("session_id":"01a23076-eee4-7952-a7b9-f887b5d2a188")"),
            std::string::npos);
  EXPECT_NE(out.error_metadata_json.find(R"("exit_code":1)"), std::string::npos);
  // The provider's whole error document stays available.
  EXPECT_NE(out.error_metadata_json.find(R"("codex_error":"{\"error\":{\"message\":)"),
            std::string::npos)
      << out.error_metadata_json;
  ASSERT_EQ(rec.logs.size(), 1u); // the error event before turn.failed
}

TEST(HarnessCodexParser, ResumedStreamKeepsTheThreadId) {
  harness_record rec;
  auto out = replay("resume.jsonl", rec);
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.data.text, "second");
  // The same thread as text.jsonl, which it resumed; usage counts the whole thread.
  EXPECT_EQ(rec.assistants, (std::vector<std::vector<std::string>>{{"second"}}));
  EXPECT_NE(out.metadata_json.find(R"("session_id":"01a23076-e429-7e43-8b75-f8b3bbf92ce8")"),
            std::string::npos);
  EXPECT_NE(out.metadata_json.find(R"("input_tokens":24)"), std::string::npos);
}

TEST(HarnessCodexParser, EventsOnlyWhenAsked) {
  harness_record rec;
  hs::harness_callbacks cb = recording_callbacks(rec);
  hs::codex_parser parser(hs::event_sink(cb, false), nullptr);
  for (const auto& line : recorded_lines(data_dir() / "other_items.jsonl"))
    parser.on_line(line);
  EXPECT_TRUE(parser.finish(hs::process_end{}).ok());
  EXPECT_TRUE(rec.events.empty());
  EXPECT_EQ(rec.assistants, (std::vector<std::vector<std::string>>{{"Done."}}));
}

TEST(HarnessCodexParser, NonZeroExitWithoutTurnFailedUsesExitAndStderr) {
  hs::codex_parser parser(hs::event_sink{}, nullptr);
  EXPECT_FALSE(parser.on_line("Error: something broke"));
  EXPECT_FALSE(parser.on_line("[1, 2]"));
  EXPECT_FALSE(parser.on_line(R"({"no_type":true})"));
  hs::process_end end;
  end.status.exit_code = 1;
  end.stderr_tail = "Error: thread/resume: thread/resume failed: no rollout found for thread id x";
  auto out = parser.finish(end);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text,
            "codex exited with status 1: Error: thread/resume: thread/resume failed: no "
            "rollout found for thread id x");
  EXPECT_NE(out.error_metadata_json.find(R"("stderr_tail":"Error: thread/resume)"),
            std::string::npos);
}

TEST(HarnessCodexParser, CleanExitWithoutTurnCompletedIsAnError) {
  hs::codex_parser parser(hs::event_sink{}, nullptr);
  std::ifstream in(data_dir() / "text.jsonl");
  std::string line;
  std::getline(in, line); // thread.started only
  EXPECT_TRUE(parser.on_line(line));
  auto out = parser.finish(hs::process_end{});
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text, "codex exited without completing the turn");
}

TEST(HarnessCodex, TomlString) {
  EXPECT_EQ(hs::toml_string("plain"), "\"plain\"");
  EXPECT_EQ(hs::toml_string("say \"hi\"\n\\ \t\x01 é"), "\"say \\\"hi\\\"\\n\\\\ \\t\\u0001 é\"");
  // Text that would otherwise parse as another TOML type stays a string.
  EXPECT_EQ(hs::toml_string("true"), "\"true\"");
}

TEST(HarnessCodex, ArgvWithoutProvider) {
  hs::invocation inv;
  inv.user_prompt = "-fix it";
  EXPECT_EQ(
      hs::codex_argv("codex", inv, hs::codex_provider{}, ""),
      (std::vector<std::string>{"codex", "exec", "--json", "--skip-git-repo-check",
                                "--dangerously-bypass-approvals-and-sandbox", "--", "-fix it"}));
}

TEST(HarnessCodex, ArgvWithEverything) {
  hs::invocation inv;
  inv.user_prompt = "fix it";
  inv.system_prompt = "Be \"brief\".";
  inv.model = "gpt-5.5";
  hs::codex_provider provider{"http://127.0.0.1:9/v1", true};
  EXPECT_EQ(hs::codex_argv("/x/codex", inv, provider, "/tmp/d/output-schema.json"),
            (std::vector<std::string>{"/x/codex",
                                      "exec",
                                      "--json",
                                      "--skip-git-repo-check",
                                      "--dangerously-bypass-approvals-and-sandbox",
                                      "-m",
                                      "gpt-5.5",
                                      "-c",
                                      R"(developer_instructions="Be \"brief\".")",
                                      "-c",
                                      R"(model_provider="agentrt")",
                                      "-c",
                                      R"(model_providers.agentrt.name="agentrt")",
                                      "-c",
                                      R"(model_providers.agentrt.base_url="http://127.0.0.1:9/v1")",
                                      "-c",
                                      R"(model_providers.agentrt.wire_api="responses")",
                                      "-c",
                                      R"(model_providers.agentrt.env_key="OPENAI_API_KEY")",
                                      "--disable",
                                      "plugins",
                                      "-c",
                                      "analytics.enabled=false",
                                      "--output-schema",
                                      "/tmp/d/output-schema.json",
                                      "--",
                                      "fix it"}));
}

TEST(HarnessCodex, ArgvResume) {
  hs::invocation inv;
  inv.user_prompt = "again";
  inv.resume_session_id = "01a23076-e429-7e43-8b75-f8b3bbf92ce8";
  hs::codex_provider provider{"http://h/v1", false};
  const auto argv = hs::codex_argv("codex", inv, provider, "");
  ASSERT_GE(argv.size(), 6u);
  EXPECT_EQ(std::vector<std::string>(argv.begin(), argv.begin() + 4),
            (std::vector<std::string>{"codex", "exec", "resume", "--json"}));
  EXPECT_EQ(std::vector<std::string>(argv.end() - 3, argv.end()),
            (std::vector<std::string>{"--", "01a23076-e429-7e43-8b75-f8b3bbf92ce8", "again"}));
  // Without OPENAI_API_KEY the provider sends no key (local servers need none).
  for (const auto& a : argv)
    EXPECT_EQ(a.find("env_key"), std::string::npos) << a;
}

TEST(HarnessCodex, ProviderFromAgentEnvOverTheEnvironment) {
  const char* old = std::getenv("AGENTRT_CODEX_BASE_URL");
  const std::string saved = old ? old : "";
  ::setenv("AGENTRT_CODEX_BASE_URL", "http://from-runtime/v1", 1);
  hs::invocation inv;
  EXPECT_EQ(hs::codex_provider_of(inv).base_url, "http://from-runtime/v1");
  inv.agent_env["AGENTRT_CODEX_BASE_URL"] = "http://from-agent-env/v1";
  inv.agent_env["OPENAI_API_KEY"] = "k";
  auto p = hs::codex_provider_of(inv);
  EXPECT_EQ(p.base_url, "http://from-agent-env/v1");
  EXPECT_TRUE(p.api_key_from_env);
  // An empty value switches it off for one invocation.
  inv.agent_env["AGENTRT_CODEX_BASE_URL"] = "";
  inv.agent_env["OPENAI_API_KEY"] = "";
  p = hs::codex_provider_of(inv);
  EXPECT_EQ(p.base_url, "");
  EXPECT_FALSE(p.api_key_from_env);
  if (old)
    ::setenv("AGENTRT_CODEX_BASE_URL", saved.c_str(), 1);
  else
    ::unsetenv("AGENTRT_CODEX_BASE_URL");
}

TEST(HarnessCodex, EnvHandsOpenaiApiKeyToCodexOnlyWithoutCredentials) {
  agentrt::test::harness_env env; // for its temporary directory
  const auto codex_home = env.dir / "codex-home";
  std::filesystem::create_directories(codex_home);
  hs::invocation inv;
  inv.agent_env = {{"CODEX_HOME", codex_home.string()},
                   {"OPENAI_API_KEY", "sk-1"},
                   {"CODEX_API_KEY", ""},
                   {"RUST_LIB_BACKTRACE", ""}};
  using env_map = std::map<std::string, std::string>;
  EXPECT_EQ(hs::codex_env(inv, {}),
            (env_map{{"CODEX_API_KEY", "sk-1"}, {"RUST_LIB_BACKTRACE", "0"}}));
  // A stored login stays in charge.
  std::ofstream(codex_home / "auth.json") << "{}";
  EXPECT_EQ(hs::codex_env(inv, {}), (env_map{{"RUST_LIB_BACKTRACE", "0"}}));
  std::filesystem::remove(codex_home / "auth.json");
  // So does a CODEX_API_KEY of the user's.
  inv.agent_env["CODEX_API_KEY"] = "ck-1";
  EXPECT_EQ(hs::codex_env(inv, {}), (env_map{{"RUST_LIB_BACKTRACE", "0"}}));
  // A configured endpoint reads OPENAI_API_KEY itself (env_key).
  inv.agent_env["CODEX_API_KEY"] = "";
  EXPECT_EQ(hs::codex_env(inv, hs::codex_provider{"http://h/v1", true}),
            (env_map{{"RUST_LIB_BACKTRACE", "0"}}));
  inv.agent_env["RUST_LIB_BACKTRACE"] = "1";
  inv.agent_env["OPENAI_API_KEY"] = "";
  EXPECT_EQ(hs::codex_env(inv, {}), env_map{});
}

class HarnessCodexScript : public ::testing::Test {
protected:
  hs::codex_harness harness(const std::string& program, std::chrono::milliseconds timeout = 0ms) {
    hs::harness_config cfg;
    cfg.workdir = env_.dir.string();
    cfg.timeout = timeout;
    cfg.kill_grace = 500ms;
    return hs::codex_harness(cfg, program);
  }
  agentrt::test::harness_env env_;
};

TEST_F(HarnessCodexScript, RunsAFakeCodexWithASchemaFile) {
  // A stand-in that shows its arguments, the schema file and its environment on stderr, then
  // replays a recorded stream: proves the process side end to end.
  const auto recorded = (data_dir() / "structured.jsonl").string();
  const auto fake = env_.write_script(
      "codex", "#!/bin/sh\n"
               "for a; do last=$a; done\n"
               "while [ $# -gt 0 ]; do [ \"$1\" = --output-schema ] && schema=$2; shift; done\n"
               "echo \"schema=$schema\" >&2; echo \"content=$(cat \"$schema\")\" >&2\n"
               "echo \"RUST_LIB_BACKTRACE=$RUST_LIB_BACKTRACE prompt=$last cwd=$(pwd)\" >&2\n"
               "cat '" +
                   recorded + "'\n");
  auto h = harness(fake);
  hs::invocation inv;
  inv.user_prompt = "which city?";
  inv.output_schema_json = city_schema;
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.structured_output.json, R"({"city":"Paris","population":2100000})");
  const auto logs = rec.logs_text();
  EXPECT_NE(logs.find(R"(content={"type":"object","properties":{"city")"), std::string::npos)
      << logs;
  EXPECT_NE(logs.find("prompt=which city? cwd=" + env_.dir.string()), std::string::npos) << logs;
  if (!std::getenv("RUST_LIB_BACKTRACE")) {
    EXPECT_NE(logs.find("RUST_LIB_BACKTRACE=0"), std::string::npos) << logs;
  }
  // The schema lived in a private directory of the run, gone now.
  const auto at = logs.find("schema=");
  ASSERT_NE(at, std::string::npos);
  const auto path = logs.substr(at + 7, logs.find('\n', at) - at - 7);
  EXPECT_EQ(std::filesystem::path(path).filename(), "output-schema.json");
  EXPECT_EQ(
      std::filesystem::path(path).parent_path().filename().string().rfind("agentrt-codex-", 0), 0u);
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(path).parent_path())) << path;
}

TEST_F(HarnessCodexScript, CancelRemovesTheSchemaDirectory) {
  const auto fake =
      env_.write_script("codex", "#!/bin/sh\nwhile [ $# -gt 0 ]; do [ \"$1\" = --output-schema ] "
                                 "&& echo \"schema=$2\" >&2; shift; done\n"
                                 "exec sleep 300\n");
  auto h = harness(fake);
  hs::invocation inv;
  inv.user_prompt = "x";
  inv.output_schema_json = city_schema;
  bool scope_empty = false;
  auto rec = env_.run_and_cancel(
      h, inv, [](const harness_record& r) { return !r.logs.empty(); }, scope_empty);
  ASSERT_FALSE(rec.logs.empty());
  const auto& line = rec.logs.front();
  const auto dir = std::filesystem::path(line.substr(line.find("schema=") + 7)).parent_path();
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
  EXPECT_TRUE(scope_empty);
  EXPECT_EQ(rec.done_calls, 0);
}

TEST_F(HarnessCodexScript, GarbageOutputIsAnError) {
  const auto fake = env_.write_script(
      "codex", "#!/bin/sh\necho 'this is not json'\necho '<html>'\necho 'oops' >&2\n");
  auto h = harness(fake);
  hs::invocation inv;
  inv.user_prompt = "x";
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "codex exited without completing the turn: oops");
  EXPECT_NE(rec.outcome->error_metadata_json.find(R"("ignored_lines":2)"), std::string::npos)
      << rec.outcome->error_metadata_json;
}

TEST_F(HarnessCodexScript, MissingCliIsAnError) {
  auto h = harness((env_.dir / "no-such-codex").string());
  hs::invocation inv;
  inv.user_prompt = "x";
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text.rfind(
                "failed to start codex (" + (env_.dir / "no-such-codex").string() + "): ", 0),
            0u)
      << rec.outcome->error.text;
}

TEST_F(HarnessCodexScript, HangPastTheTimeoutIsAnError) {
  const auto fake =
      env_.write_script("codex", "#!/bin/sh\necho 'still thinking' >&2\nexec sleep 300\n");
  auto h = harness(fake, 300ms);
  hs::invocation inv;
  inv.user_prompt = "x";
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "codex timed out after 0.3 s: still thinking");
}

TEST(HarnessFactory, CodexByName) {
  hs::harness_config cfg;
  cfg.agent = "codex";
  auto choice = hs::make_harness(cfg);
  ASSERT_TRUE(choice.ok()) << choice.error().text;
  ASSERT_TRUE(choice->chosen);
  EXPECT_EQ(choice->chosen->name(), "codex");
  EXPECT_EQ(choice->startup_line.rfind("harness: codex (", 0), 0u) << choice->startup_line;
}

TEST(HarnessCodex, UnsupportedSettingFailsWithItsOwnCode) {
  harness_env env;
  hs::harness_config cfg;
  cfg.workdir = env.dir.string();
  hs::codex_harness h(cfg, (env.dir / "no-such-codex").string());
  hs::invocation inv;
  inv.user_prompt = "say hi";
  inv.settings.max_turns = 3;
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_EQ(rec.outcome->error.code, hs::harness_errc::unsupported_setting);
  EXPECT_EQ(rec.outcome->error.text.rfind(
                "agent \"codex\" cannot honour harness_settings.max_turns (it supports: ", 0),
            0u)
      << rec.outcome->error.text;
}

} // namespace

// OpenCode's `run --format json` events replayed from streams recorded from the real CLI against
// the fake Anthropic server (tests/runtime/data/opencode, via AGENTRT_RECORD_OPENCODE in
// tests/harness/harness_cli_opencode_test.cpp), the command an invocation becomes (argv, stdin
// prompt, the agent merged into the user's config, the model's provider), and the process side
// with stand-in scripts: what reaches the CLI, exit codes, stderr, garbage, timeout.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "harness/opencode_harness.hpp"
#include "harness_test_fixture.hpp"

namespace {

namespace hs = agentrt::runtime::harness;
using namespace agentrt::test; // harness_test_fixture.hpp
using namespace std::chrono_literals;

std::filesystem::path data_dir() {
  return std::filesystem::path(AGENTRT_TEST_DATA_DIR) / "opencode";
}

std::vector<std::string> recorded(const std::string& file) {
  return recorded_lines(data_dir() / file);
}

const char* const city_schema =
    R"({"type":"json_schema","schema":{"type":"object","properties":{"city":{"type":"string"},"population":{"type":"integer"}},"required":["city","population"]}})";

struct replay_options {
  const char* schema = nullptr;
  int exit_code = 0;
  int term_signal = 0;
  std::string stderr_tail;
  bool agent_events = true;
  std::string resumed_session;
};

// Feeds lines to a parser (as the run would) and asks for the outcome.
hs::harness_outcome replay(const std::vector<std::string>& lines, harness_record& rec,
                           const replay_options& o = {}) {
  hs::opencode_parser parser(hs::event_sink(recording_callbacks(rec), o.agent_events),
                             parse_schema(o.schema), "anthropic/claude-sonnet-4-5",
                             o.resumed_session);
  hs::process_end end = exited(o.exit_code);
  end.status.term_signal = o.term_signal;
  end.stderr_tail = o.stderr_tail;
  return feed(parser, lines, end);
}

TEST(HarnessOpencodeParser, TextStream) {
  harness_record rec;
  auto out = replay(recorded("text.jsonl"), rec);
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.data.type, agentrt::protocol::result_data::kind::text);
  EXPECT_EQ(out.data.text, "Hello from the fake model.");
  EXPECT_EQ(rec.assistants,
            (std::vector<std::vector<std::string>>{{"Hello from the fake model."}}));
  EXPECT_EQ(event_kinds(rec), (std::vector<std::string>{"session", "usage"}));
  EXPECT_EQ(
      rec.events[0].second,
      R"({"session_id":"ses_dcf78c464ffe1zUbjKlxaarSAO","harness":"opencode","model":"anthropic/claude-sonnet-4-5"})");
  const std::string usage =
      R"({"input":10,"output":12,"reasoning":0,"cache":{"read":0,"write":0},"total":22})";
  EXPECT_EQ(rec.events[1].second, usage);
  EXPECT_EQ(
      out.metadata_json,
      R"({"harness":"opencode","session_id":"ses_dcf78c464ffe1zUbjKlxaarSAO","model":"anthropic/claude-sonnet-4-5",)"
      R"("num_turns":1,"total_cost_usd":0.00021,"usage":)" +
          usage + "}");
}

TEST(HarnessOpencodeParser, ToolCallStream) {
  harness_record rec;
  auto out = replay(recorded("tool_call.jsonl"), rec);
  ASSERT_TRUE(out.ok()) << out.error.text;
  // Texts of earlier steps are assistant messages; the answer is the last step's text.
  EXPECT_EQ(out.data.text, "Wrote the file.");
  EXPECT_EQ(rec.assistants, (std::vector<std::vector<std::string>>{{"Wrote the file."}}));
  EXPECT_EQ(event_kinds(rec),
            (std::vector<std::string>{"session", "reasoning", "tool_use", "tool_result", "tool_use",
                                      "tool_result", "tool_use", "tool_result", "usage"}));
  EXPECT_EQ(rec.events[1].second, R"({"text":"I should write the proof file."})");
  EXPECT_EQ(
      rec.events[2].second,
      R"({"id":"toolu_1","name":"bash","input":{"command":"echo made-by-opencode > proof.txt && echo ok","description":"write proof"}})");
  EXPECT_EQ(rec.events[3].second,
            R"({"id":"toolu_1","output":"ok\n","is_error":false,"exit_code":0})");
  // A command that exits non-zero is a completed tool call with an error result.
  EXPECT_EQ(
      rec.events[5].second,
      R"({"id":"toolu_2","output":"cat: missing.txt: No such file or directory\n","is_error":true,"exit_code":1})");
  // A tool that failed (status "error") carries OpenCode's error text as its output.
  EXPECT_EQ(rec.events[7].second.rfind(R"({"id":"toolu_3","output":"File not found: /tmp/)", 0), 0u)
      << rec.events[7].second;
  EXPECT_NE(rec.events[7].second.find(R"(/work/missing.txt","is_error":true})"), std::string::npos);
  EXPECT_EQ(rec.events[8].second,
            R"({"input":40,"output":48,"reasoning":0,"cache":{"read":0,"write":0},"total":88})");
  EXPECT_NE(out.metadata_json.find(R"("num_turns":4,"total_cost_usd":0.00084)"), std::string::npos)
      << out.metadata_json;
}

TEST(HarnessOpencodeParser, EventsOnlyWhenAsked) {
  harness_record rec;
  replay_options o;
  o.agent_events = false;
  auto out = replay(recorded("tool_call.jsonl"), rec, o);
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_TRUE(rec.events.empty());
  EXPECT_EQ(rec.assistants.size(), 1u);
  // The metadata does not depend on the capability.
  EXPECT_NE(out.metadata_json.find(R"("session_id":"ses_dcf784208ffe88UbhojuIE8Vlr")"),
            std::string::npos);
}

TEST(HarnessOpencodeParser, StructuredOutput) {
  harness_record rec;
  replay_options o;
  o.schema = city_schema;
  auto out = replay(recorded("structured.jsonl"), rec, o);
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.data.type, agentrt::protocol::result_data::kind::structured_output);
  EXPECT_EQ(out.data.structured_output.json, R"({"city":"Paris","population":2100000})");
  EXPECT_NE(out.metadata_json.find(R"("session_id":"ses_dcf77d0fcffeCT29SdFBq7t7NT")"),
            std::string::npos);
}

TEST(HarnessOpencodeParser, StructuredOutputMismatchQuotesTheValidationError) {
  harness_record rec;
  replay_options o;
  o.schema = city_schema;
  auto out = replay(recorded("structured_mismatch.jsonl"), rec, o);
  EXPECT_FALSE(out.ok());
  EXPECT_NE(out.error.text.find("/population fails \"type\""), std::string::npos) << out.error.text;
  EXPECT_NE(
      out.error_metadata_json.find(R"("answer":"{\"city\":\"Paris\",\"population\":\"many\"}")"),
      std::string::npos)
      << out.error_metadata_json;
}

TEST(HarnessOpencodeParser, StructuredOutputRequestedButAnswerIsProse) {
  harness_record rec;
  replay_options o;
  o.schema = city_schema;
  auto out = replay(recorded("text.jsonl"), rec, o);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text,
            "structured output requested but opencode's answer contains no JSON object");
}

TEST(HarnessOpencodeParser, ApiErrorIsAnErrorWithStatus) {
  harness_record rec;
  replay_options o;
  o.exit_code = 1;
  auto out = replay(recorded("api_error.jsonl"), rec, o);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text, "opencode failed (APIError): invalid x-api-key");
  EXPECT_EQ(
      out.error_metadata_json,
      R"({"harness":"opencode","session_id":"ses_dcf77394cffe0JEsYuIWLFYMQ3","model":"anthropic/claude-sonnet-4-5",)"
      R"("num_turns":0,"error_name":"APIError","api_error_status":401,"exit_code":1})");
  EXPECT_EQ(event_kinds(rec), (std::vector<std::string>{"session"}));
}

TEST(HarnessOpencodeParser, KilledMidStepIsAProcessFailure) {
  // What a cancelled run had printed: a step that never finished.
  harness_record rec;
  replay_options o;
  o.term_signal = 15;
  auto out = replay(recorded("cancelled.jsonl"), rec, o);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text.rfind("opencode was killed by signal 15", 0), 0u) << out.error.text;
}

TEST(HarnessOpencodeParser, CleanExitWithoutAFinishedStepIsAnError) {
  harness_record rec;
  auto out = replay(recorded("cancelled.jsonl"), rec);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text, "opencode exited without finishing a step");
}

TEST(HarnessOpencodeParser, LastStepNotStoppedIsAnError) {
  // The recorded text stream with its finish reason changed to the AI SDK's "length" (the
  // model hit its output limit), which the fake server cannot produce.
  auto lines = recorded("text.jsonl");
  const std::string stop = R"("reason":"stop")";
  ASSERT_NE(lines.back().find(stop), std::string::npos);
  lines.back().replace(lines.back().find(stop), stop.size(), R"("reason":"length")");
  harness_record rec;
  auto out = replay(lines, rec);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text, "opencode stopped before the answer (finish reason \"length\")");
  EXPECT_NE(out.error_metadata_json.find(R"("finish_reason":"length")"), std::string::npos);
}

TEST(HarnessOpencodeParser, ResumedSessionIsChecked) {
  harness_record rec;
  replay_options o;
  o.resumed_session = "ses_dcf78c464ffe1zUbjKlxaarSAO";
  auto out = replay(recorded("text.jsonl"), rec, o);
  EXPECT_TRUE(out.ok()) << out.error.text;
  o.resumed_session = "ses_other";
  out = replay(recorded("text.jsonl"), rec, o);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(
      out.error.text,
      "opencode ran session ses_dcf78c464ffe1zUbjKlxaarSAO instead of the requested ses_other");
  EXPECT_NE(out.error_metadata_json.find(R"("requested_session_id":"ses_other")"),
            std::string::npos);
}

TEST(HarnessOpencodeParser, GarbageAndAnsiColouredStderr) {
  hs::opencode_parser parser(hs::event_sink{}, nullptr, "");
  EXPECT_FALSE(parser.on_line("Error: something broke"));
  EXPECT_FALSE(parser.on_line("[1, 2]"));
  EXPECT_FALSE(parser.on_line(R"({"no_type":true})"));
  hs::process_end end;
  end.status.exit_code = 1;
  // As OpenCode prints "Session not found" for an unknown -s.
  end.stderr_tail = "\x1b[91m\x1b[1mError: \x1b[0mSession not found";
  end.ignored_lines = 3;
  auto out = parser.finish(end);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text, "opencode exited with status 1: Error: Session not found");
  EXPECT_NE(out.error_metadata_json.find(R"("ignored_lines":3)"), std::string::npos);
}

TEST(HarnessOpencode, CommandMergesTheAgentIntoTheUserConfig) {
  hs::harness_config cfg;
  cfg.max_turns = 7;
  hs::invocation inv;
  inv.user_prompt = "fix \"it\"  now\nand more";
  inv.system_prompt = "sys";
  inv.model = "gpt-5";
  auto schema = parse_schema(R"({"type":"json_schema","schema":{"type":"object"}})");
  // JSONC as OpenCode accepts it; the user's own settings for our agent and others stay.
  const std::string user = R"({
    // the user's provider
    "provider": {"openai": {"options": {"baseURL": "http://127.0.0.1:1/v1"}}},
    "model": "openai/gpt-4.1",
    "agent": {"agentrt": {"temperature": 0.2, "prompt": "theirs"}, "review": {"mode": "subagent"}},
  })";
  auto command = hs::opencode_command_for("opencode", cfg, inv, schema.get(), user);
  ASSERT_TRUE(command.ok()) << command.error().text;
  const hs::opencode_command& cmd = command.value();
  EXPECT_EQ(
      cmd.config_content,
      R"({"provider":{"openai":{"options":{"baseURL":"http://127.0.0.1:1/v1"}}},"model":"openai/gpt-4.1",)"
      R"("agent":{"agentrt":{"temperature":0.2,"prompt":"sys","mode":"primary","steps":7},"review":{"mode":"subagent"}}})");
  EXPECT_EQ(cmd.model, "openai/gpt-5");
  EXPECT_EQ(cmd.argv,
            (std::vector<std::string>{"opencode", "run", "--format", "json", "--pure", "--auto",
                                      "--print-logs", "--log-level=ERROR", "--agent=agentrt",
                                      "--model=openai/gpt-5", "--title=fix \"it\"  now"}));
  EXPECT_EQ(cmd.prompt,
            "fix \"it\"  now\nand more\n\nAnswer with a single JSON object and nothing else (no "
            "prose, no code "
            "fence). It must validate against this JSON schema:\n{\"type\":\"object\"}");
}

TEST(HarnessOpencode, CommandWithoutUserConfigResumeAndEvents) {
  hs::harness_config cfg;
  cfg.max_turns = 0;
  hs::invocation inv;
  inv.user_prompt = "-v";
  inv.resume_session_id = "-ses_1";
  inv.agent_events = true;
  auto command = hs::opencode_command_for("/bin/opencode", cfg, inv, nullptr, "  ");
  ASSERT_TRUE(command.ok()) << command.error().text;
  const hs::opencode_command& cmd = command.value();
  // No system prompt: the agent keeps OpenCode's own prompt. No turn limit: no "steps".
  EXPECT_EQ(cmd.config_content, R"({"agent":{"agentrt":{"mode":"primary"}}})");
  EXPECT_EQ(cmd.model, "");
  // A resumed session keeps its title; values are attached with '=' so "-ses_1" stays a value.
  EXPECT_EQ(cmd.argv,
            (std::vector<std::string>{"/bin/opencode", "run", "--format", "json", "--pure",
                                      "--auto", "--print-logs", "--log-level=ERROR",
                                      "--agent=agentrt", "--session=-ses_1", "--thinking"}));
  EXPECT_EQ(cmd.prompt, "-v");
}

TEST(HarnessOpencode, ModelProviderChoice) {
  hs::harness_config cfg;
  hs::invocation inv;
  auto model_for = [&](const std::string& model, const std::string& user) {
    inv.model = model;
    auto cmd = hs::opencode_command_for("opencode", cfg, inv, nullptr, user);
    EXPECT_TRUE(cmd.ok()) << cmd.error().text;
    return cmd.ok() ? cmd->model : std::string();
  };
  EXPECT_EQ(model_for("openrouter/anthropic/claude-3.5", R"({"model":"openai/gpt-5"})"),
            "openrouter/anthropic/claude-3.5");
  EXPECT_EQ(model_for("claude-sonnet-4-5", ""), "anthropic/claude-sonnet-4-5");
  EXPECT_EQ(model_for("llama3", R"({"provider":{"ollama":{}}})"), "ollama/llama3");
  EXPECT_EQ(model_for("m", R"({"provider":{"ollama":{},"lmstudio":{}}})"), "anthropic/m");
  EXPECT_EQ(model_for("m", R"({"provider":{"ollama":{}},"model":"lmstudio/x"})"), "lmstudio/m");
}

TEST(HarnessOpencode, TitleIsTheFirstLineCutOnACharacter) {
  hs::harness_config cfg;
  hs::invocation inv;
  // After the leading blanks, 59 ASCII bytes then a 2-byte character across the 60-byte limit.
  inv.user_prompt = "  " + std::string(59, 'a') + "\xc3\xa9tail\nsecond line";
  auto cmd = hs::opencode_command_for("opencode", cfg, inv, nullptr, "");
  ASSERT_TRUE(cmd.ok()) << cmd.error().text;
  EXPECT_EQ(cmd->argv.back(), "--title=" + std::string(59, 'a') + "...");
  inv.user_prompt = std::string(58, 'a') + "\xc3\xa9tail";
  cmd = hs::opencode_command_for("opencode", cfg, inv, nullptr, "");
  ASSERT_TRUE(cmd.ok()) << cmd.error().text;
  EXPECT_EQ(cmd->argv.back(), "--title=" + std::string(58, 'a') + "\xc3\xa9...");
  inv.user_prompt = "\n";
  cmd = hs::opencode_command_for("opencode", cfg, inv, nullptr, "");
  ASSERT_TRUE(cmd.ok()) << cmd.error().text;
  EXPECT_EQ(cmd->argv.back(), "--title=agentrt");
}

TEST(HarnessOpencode, UnusableUserConfigFailsTheInvocation) {
  hs::harness_config cfg;
  hs::invocation inv;
  auto cmd = hs::opencode_command_for("opencode", cfg, inv, nullptr, "{\"provider\": ");
  ASSERT_FALSE(cmd.ok());
  EXPECT_EQ(cmd.error().text.rfind("opencode: OPENCODE_CONFIG_CONTENT is not a JSON object (", 0),
            0u)
      << cmd.error().text;
  EXPECT_EQ(cmd.error().code, agentrt::protocol::errc::invalid_value);
  cmd = hs::opencode_command_for("opencode", cfg, inv, nullptr, "[]");
  ASSERT_FALSE(cmd.ok());
  EXPECT_EQ(cmd.error().text, "opencode: OPENCODE_CONFIG_CONTENT is not a JSON object");
  cmd = hs::opencode_command_for("opencode", cfg, inv, nullptr, R"({"agent":"x"})");
  ASSERT_FALSE(cmd.ok());
  EXPECT_EQ(cmd.error().text, "opencode: \"agent\" in OPENCODE_CONFIG_CONTENT is not an object");

  // Through start(): an error_message before anything is spawned.
  agentrt::test::harness_env env;
  hs::opencode_harness h(cfg, "/nonexistent/opencode");
  inv.agent_env["OPENCODE_CONFIG_CONTENT"] = "nope";
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(
      rec.outcome->error.text.rfind("opencode: OPENCODE_CONFIG_CONTENT is not a JSON object", 0),
      0u);
}

TEST(HarnessOpencode, RunsAFakeOpencodeScript) {
  // A stand-in executable shows what reaches the CLI (stdin, environment) and replays a
  // recorded stream, proving the process side end to end.
  agentrt::test::harness_env env;
  const auto recorded = (data_dir() / "tool_call.jsonl").string();
  const auto seen = env.dir / "seen";
  const auto fake = env.write_script(
      "opencode",
      "#!/bin/sh\ncat > '" + seen.string() +
          ".stdin'\nprintf '%s' \"$OPENCODE_CONFIG_CONTENT\" > '" + seen.string() +
          ".config'\necho \"autoupdate=$OPENCODE_DISABLE_AUTOUPDATE\" >&2\n"
          // The environment as exec'd: sh itself would correct a wrong PWD.
          "tr '\\0' '\\n' < /proc/$$/environ | grep '^PWD=' >&2\n"
          // What Bun leaves in $TMPDIR must go with the run.
          "echo \"tmpdir=$TMPDIR\" >&2\necho leftover > \"$TMPDIR/.native-lib.so\"\ncat '" +
          recorded + "'\n");
  hs::harness_config cfg;
  cfg.workdir = env.dir.string();
  cfg.max_turns = 3;
  hs::opencode_harness h(cfg, fake);
  hs::invocation inv;
  inv.user_prompt = "list  \"files\"\n";
  inv.system_prompt = "be brief";
  inv.agent_env["OPENCODE_CONFIG_CONTENT"] =
      R"({"provider":{"anthropic":{"options":{"apiKey":"k"}}}})";
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok()) << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.text, "Wrote the file.");
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  EXPECT_EQ(slurp(seen.string() + ".stdin"), "list  \"files\"\n");
  EXPECT_EQ(
      slurp(seen.string() + ".config"),
      R"({"provider":{"anthropic":{"options":{"apiKey":"k"}}},"agent":{"agentrt":{"mode":"primary","prompt":"be brief","steps":3}}})");
  EXPECT_NE(rec.logs_text().find("opencode: autoupdate=1"), std::string::npos) << rec.logs_text();
  // OpenCode runs its tools in $PWD, so it must name the run's directory.
  EXPECT_NE(rec.logs_text().find("opencode: PWD=" + env.dir.string() + "\n"), std::string::npos)
      << rec.logs_text();
  const auto logs = rec.logs_text();
  const auto at = logs.find("opencode: tmpdir=");
  ASSERT_NE(at, std::string::npos) << logs;
  const auto tmpdir = logs.substr(at + 17, logs.find('\n', at) - at - 17);
  EXPECT_NE(tmpdir.find("agentrt-opencode-"), std::string::npos) << tmpdir;
  EXPECT_FALSE(std::filesystem::exists(tmpdir)) << "the run's TMPDIR outlived it: " << tmpdir;
}

TEST(HarnessOpencode, UserConfigFromTheRuntimeEnvironment) {
  agentrt::test::harness_env env;
  const auto seen = env.dir / "config";
  const auto fake = env.write_script(
      "opencode", "#!/bin/sh\nprintf '%s' \"$OPENCODE_CONFIG_CONTENT\" > '" + seen.string() +
                      "'\necho \"autoupdate=$OPENCODE_DISABLE_AUTOUPDATE\" >&2\nexit 3\n");
  const char* old = std::getenv("OPENCODE_CONFIG_CONTENT");
  const std::string saved = old ? old : "";
  ::setenv("OPENCODE_CONFIG_CONTENT", R"({"model":"ollama/qwen3"})", 1);
  hs::harness_config cfg;
  cfg.max_turns = 0;
  hs::opencode_harness h(cfg, fake);
  hs::invocation inv;
  inv.user_prompt = "hi";
  inv.model = "llama3";
  inv.agent_env["OPENCODE_DISABLE_AUTOUPDATE"] = "0"; // the user's choice wins
  auto rec = env.run(h, inv);
  if (old)
    ::setenv("OPENCODE_CONFIG_CONTENT", saved.c_str(), 1);
  else
    ::unsetenv("OPENCODE_CONFIG_CONTENT");
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "opencode exited with status 3: autoupdate=0");
  std::ifstream in(seen);
  std::string config;
  std::getline(in, config);
  EXPECT_EQ(config, R"({"model":"ollama/qwen3","agent":{"agentrt":{"mode":"primary"}}})");
}

TEST(HarnessOpencode, FactoryRow) {
  hs::harness_config cfg;
  cfg.agent = "opencode";
  auto choice = hs::make_harness(cfg);
  ASSERT_TRUE(choice.ok()) << choice.error().text;
  ASSERT_TRUE(choice->chosen);
  EXPECT_EQ(choice->chosen->name(), "opencode");
  EXPECT_EQ(choice->startup_line.rfind("harness: opencode (", 0), 0u) << choice->startup_line;
  cfg.agent = "nonesuch";
  choice = hs::make_harness(cfg);
  ASSERT_FALSE(choice.ok());
  EXPECT_NE(choice.error().text.find("opencode"), std::string::npos) << choice.error().text;
}

TEST(HarnessOpencode, MissingCliAndTimeout) {
  agentrt::test::harness_env env;
  hs::harness_config cfg;
  hs::invocation inv;
  inv.user_prompt = "hi";
  {
    hs::opencode_harness h(cfg, (env.dir / "no-such-opencode").string());
    auto rec = env.run(h, inv);
    ASSERT_TRUE(rec.outcome);
    EXPECT_FALSE(rec.outcome->ok());
    EXPECT_EQ(rec.outcome->error.text.rfind("failed to start opencode (", 0), 0u)
        << rec.outcome->error.text;
  }
  {
    const auto fake =
        env.write_script("opencode", "#!/bin/sh\necho 'stuck at step 1' >&2\nexec sleep 30\n");
    cfg.timeout = 300ms;
    cfg.kill_grace = 200ms;
    hs::opencode_harness h(cfg, fake);
    auto rec = env.run(h, inv);
    ASSERT_TRUE(rec.outcome);
    EXPECT_FALSE(rec.outcome->ok());
    EXPECT_EQ(rec.outcome->error.text, "opencode timed out after 0.3 s: stuck at step 1");
  }
}

} // namespace

// Claude Code's stream-json replayed from recorded streams (tests/runtime/data/claude), the argv
// it is started with, and harness selection (make_harness).
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "harness/claude_harness.hpp"
#include "harness_test_fixture.hpp"

namespace {

namespace hs = agentrt::runtime::harness;
using namespace agentrt::test; // harness_test_fixture.hpp

std::filesystem::path data_dir() {
  return AGENTRT_TEST_DATA_DIR;
}

// Feeds a recorded stream to the parser and asks for the outcome.
hs::harness_outcome replay(const std::string& file, harness_record& rec,
                           const char* schema = nullptr, int exit_code = 0) {
  hs::claude_parser parser(hs::event_sink(recording_callbacks(rec), true), parse_schema(schema));
  return feed(parser, recorded_lines(data_dir() / "claude" / file), exited(exit_code));
}

TEST(HarnessClaudeParser, ToolCallStream) {
  harness_record rec;
  auto out = replay("tool_call.jsonl", rec);
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.data.text, "There are two files: a.txt and b.txt.");
  EXPECT_EQ(rec.assistants,
            (std::vector<std::vector<std::string>>{{"Let me look at the directory."},
                                                   {"There are two files: a.txt and b.txt."}}));
  EXPECT_EQ(event_kinds(rec),
            (std::vector<std::string>{"session", "reasoning", "tool_use", "tool_result", "usage"}));
  EXPECT_EQ(
      rec.events[0].second,
      R"({"session_id":"7f3c2a9e-1b2d-4c5e-8f90-123456789abc","harness":"claude","model":"claude-sonnet-4-5"})");
  EXPECT_EQ(
      rec.events[2].second,
      R"({"id":"toolu_01ABC","name":"Bash","input":{"command":"ls","description":"List files"}})");
  EXPECT_EQ(rec.events[3].second,
            R"({"id":"toolu_01ABC","output":"a.txt\nb.txt","is_error":false})");
  EXPECT_EQ(
      out.metadata_json.rfind(
          R"({"harness":"claude","session_id":"7f3c2a9e-1b2d-4c5e-8f90-123456789abc","duration_ms":2345,)"
          R"("duration_api_ms":2100,"num_turns":2,"total_cost_usd":0.00123,"usage":{"input_tokens":52,)",
          0),
      0u)
      << out.metadata_json;
}

TEST(HarnessClaudeParser, StructuredOutput) {
  harness_record rec;
  auto out = replay(
      "structured.jsonl", rec,
      R"({"type":"json_schema","schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}})");
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.data.type, agentrt::protocol::result_data::kind::structured_output);
  EXPECT_EQ(out.data.structured_output.json, R"({"city":"Paris","population":2100000})");
}

TEST(HarnessClaudeParser, StructuredOutputMismatch) {
  harness_record rec;
  auto out = replay(
      "structured.jsonl", rec,
      R"({"type":"json_schema","schema":{"type":"object","properties":{"population":{"type":"string"}}}})");
  EXPECT_FALSE(out.ok());
  EXPECT_NE(out.error.text.find("/population fails \"type\""), std::string::npos) << out.error.text;
}

TEST(HarnessClaudeParser, ApiErrorIsAnErrorWithStatus) {
  harness_record rec;
  auto out = replay("api_error.jsonl", rec, nullptr, 1);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text.rfind("claude failed (success): API Error: 401", 0), 0u)
      << out.error.text;
  EXPECT_NE(out.error_metadata_json.find(R"("api_error_status":401)"), std::string::npos);
  EXPECT_NE(out.error_metadata_json.find(R"("session_id":"99999999-)"), std::string::npos);
}

TEST(HarnessClaudeParser, NonSuccessSubtypeIsAnError) {
  harness_record rec;
  auto out = replay("max_turns.jsonl", rec);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text, "claude failed (error_max_turns)");
  EXPECT_NE(out.error_metadata_json.find(R"("subtype":"error_max_turns")"), std::string::npos);
}

TEST(HarnessClaudeParser, NoResultLineUsesExitAndStderr) {
  hs::claude_parser parser(hs::event_sink{}, nullptr);
  EXPECT_FALSE(parser.on_line("Error: something broke"));
  hs::process_end end;
  end.status.exit_code = 1;
  end.stderr_tail = "Invalid API key";
  auto out = parser.finish(end);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.error.text, "claude exited with status 1: Invalid API key");
}

TEST(HarnessClaude, Argv) {
  hs::harness_config cfg;
  cfg.max_turns = 7;
  hs::invocation inv;
  inv.user_prompt = "fix it";
  inv.system_prompt = "sys";
  inv.model = "claude-sonnet-4-5";
  inv.resume_session_id = "sess-1";
  auto schema = parse_schema(R"({"type":"json_schema","schema":{"type":"object"}})");
  EXPECT_EQ(
      hs::claude_argv("claude", cfg, inv, schema.get()),
      (std::vector<std::string>{"claude", "-p", "fix it", "--output-format", "stream-json",
                                "--verbose", "--permission-mode", "bypassPermissions", "--model",
                                "claude-sonnet-4-5", "--system-prompt", "sys", "--json-schema",
                                R"({"type":"object"})", "--resume", "sess-1", "--max-turns", "7"}));
}

TEST(HarnessClaude, RunsAFakeClaudeScript) {
  // A stand-in executable that replays a recorded stream proves the process side end to end.
  agentrt::test::harness_env env;
  const auto recorded = (data_dir() / "claude" / "tool_call.jsonl").string();
  const auto fake = env.write_script(
      "claude", "#!/bin/sh\necho \"IS_SANDBOX=$IS_SANDBOX\" >&2\ncat '" + recorded + "'\n");
  hs::harness_config cfg;
  cfg.workdir = env.dir.string();
  hs::claude_harness h(cfg, fake);
  hs::invocation inv;
  inv.user_prompt = "list";
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok()) << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.text, "There are two files: a.txt and b.txt.");
  EXPECT_EQ(rec.assistants.size(), 2u);
  if (::geteuid() == 0) {
    EXPECT_NE(rec.logs_text().find("IS_SANDBOX=1"), std::string::npos);
  }
}

TEST(HarnessFactory, SelectionAndErrors) {
  hs::harness_config cfg;
  cfg.agent = "claude";
  cfg.handler_path = "/bin/true";
  auto choice = hs::make_harness(cfg);
  ASSERT_FALSE(choice.ok());
  EXPECT_EQ(choice.error().text, "--agent and --handler are mutually exclusive");
  EXPECT_EQ(choice.error().code, agentrt::protocol::errc::invalid_value);

  cfg = {};
  cfg.agent = "nonesuch";
  choice = hs::make_harness(cfg);
  ASSERT_FALSE(choice.ok());
  EXPECT_NE(choice.error().text.find("unknown agent \"nonesuch\""), std::string::npos);
  EXPECT_EQ(choice.error().code, agentrt::protocol::errc::invalid_value);

  cfg = {};
  cfg.handler_path = "/bin/true";
  choice = hs::make_harness(cfg);
  ASSERT_TRUE(choice.ok());
  ASSERT_TRUE(choice->chosen);
  EXPECT_EQ(choice->chosen->name(), "handler");
  EXPECT_EQ(choice->startup_line, "harness: custom handler /bin/true");

  cfg = {};
  cfg.agent = "openai";
  choice = hs::make_harness(cfg);
  ASSERT_TRUE(choice.ok());
  ASSERT_TRUE(choice->chosen);
  EXPECT_EQ(choice->chosen->name(), "openai");
}

TEST(HarnessFactory, NothingFoundFailsInvocationsListingWhatWasLookedFor) {
  // An empty PATH and no OpenAI variables: nothing can be found.
  const std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  const char* base = std::getenv("OPENAI_BASE_URL");
  const char* key = std::getenv("OPENAI_API_KEY");
  const std::string old_base = base ? base : "", old_key = key ? key : "";
  ::setenv("PATH", "/nonexistent", 1);
  ::unsetenv("OPENAI_BASE_URL");
  ::unsetenv("OPENAI_API_KEY");
  auto choice = hs::make_harness(hs::harness_config{});
  ::setenv("PATH", old_path.c_str(), 1);
  if (base)
    ::setenv("OPENAI_BASE_URL", old_base.c_str(), 1);
  if (key)
    ::setenv("OPENAI_API_KEY", old_key.c_str(), 1);
  ASSERT_TRUE(choice.ok());
  ASSERT_TRUE(choice->chosen);
  EXPECT_EQ(choice->chosen->name(), "none");
  // The startup log says the same as every invocation.
  EXPECT_EQ(choice->startup_line.rfind("no agent harness available: looked for claude", 0), 0u)
      << choice->startup_line;
  agentrt::test::harness_env env;
  auto rec = env.run(*choice->chosen, hs::invocation{});
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.code, hs::harness_errc::agent_unavailable);
  EXPECT_EQ(rec.outcome->error.text, choice->startup_line);
  // Every CLI adapter's program is named, then the OpenAI variables.
  EXPECT_NE(rec.outcome->error.text.find("looked for claude"), std::string::npos)
      << rec.outcome->error.text;
  EXPECT_NE(rec.outcome->error.text.find(" on PATH and for OPENAI_BASE_URL or OPENAI_API_KEY"),
            std::string::npos)
      << rec.outcome->error.text;
}

} // namespace

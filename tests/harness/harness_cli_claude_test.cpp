// The REAL Claude Code CLI (installed by tests/harness/install-clis.sh) against a fake
// Anthropic server on 127.0.0.1: text, a real Bash tool call, structured output, an API error,
// cancel mid-run and resume. Skipped when the CLI is not installed. Run on their own with
// --gtest_filter='HarnessCli*' (or ctest -R HarnessCli).
#include <cstdio>
#include <cstdlib>
#include <optional>

#include <gtest/gtest.h>

#include "harness/claude_harness.hpp"
#include "harness/cli_test_support.hpp"
#include "runtime/harness_test_fixture.hpp"
#include "support/fake_anthropic_server.hpp"

namespace {

namespace hs = agentrt::runtime::harness;
using agentrt::test::cli_path;
using agentrt::test::fake_anthropic_server;
using agentrt::test::fake_anthropic_turn;
using agentrt::test::harness_env;
using agentrt::test::session_of;
using namespace std::chrono_literals;

class HarnessCliClaudeBase : public ::testing::Test {
public:
  void SetUp() override {
    program_ = cli_path("claude");
    if (program_.empty())
      GTEST_SKIP() << "claude not installed; run tests/harness/install-clis.sh claude";
    std::filesystem::create_directories(env_.dir / "work");
  }

  hs::invocation invocation(const std::string& prompt) {
    hs::invocation inv;
    inv.user_prompt = prompt;
    inv.system_prompt = "You are a test agent.";
    inv.model = "claude-sonnet-4-5";
    inv.workdir = (env_.dir / "work").string();
    inv.agent_events = true;
    inv.agent_env = agentrt::test::isolated_home_env(env_.dir / "home");
    inv.agent_env.insert({{"ANTHROPIC_BASE_URL", server_.base_url()},
                          {"ANTHROPIC_API_KEY", "dummy"},
                          {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"},
                          {"CLAUDE_CODE_MAX_RETRIES", "0"}});
    return inv;
  }

  hs::claude_harness harness() {
    hs::harness_config cfg;
    cfg.kill_grace = 1000ms;
    cfg.timeout = 120s;
    cfg.max_turns = 10;
    return hs::claude_harness(cfg, program_);
  }

  std::string program_;
  harness_env env_;
  fake_anthropic_server server_;
};
using HarnessCliClaude = HarnessCliClaudeBase;

TEST_F(HarnessCliClaude, TextAnswer) {
  server_.script({fake_anthropic_turn::say("Hello from the fake model.")});
  auto h = harness();
  auto rec = env_.run(h, invocation("say hello"));
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  ASSERT_TRUE(rec.outcome->ok()) << rec.outcome->error.text << "\n" << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.text, "Hello from the fake model.");
  EXPECT_FALSE(rec.assistants.empty());
  EXPECT_FALSE(session_of(*rec.outcome).empty()) << rec.outcome->metadata_json;
  EXPECT_NE(rec.outcome->metadata_json.find("\"num_turns\""), std::string::npos);
}

TEST_F(HarnessCliClaude, RealShellToolCall) {
  server_.script(
      {fake_anthropic_turn::tool(
           "toolu_1", "Bash",
           R"({"command":"echo made-by-claude > proof.txt && echo ok","description":"write proof"})"),
       fake_anthropic_turn::say("Wrote the file.")});
  auto h = harness();
  auto rec = env_.run(h, invocation("write a file"));
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  EXPECT_TRUE(std::filesystem::exists(env_.dir / "work" / "proof.txt"));
  bool saw_use = false, saw_result = false;
  for (const auto& [e, d] : rec.events) {
    saw_use |= e == "tool_use" && d.find("\"name\":\"Bash\"") != std::string::npos;
    saw_result |= e == "tool_result" && d.find("toolu_1") != std::string::npos;
  }
  EXPECT_TRUE(saw_use);
  EXPECT_TRUE(saw_result);
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(HarnessCliClaude, StructuredOutput) {
  server_.script({fake_anthropic_turn::tool("toolu_so", "StructuredOutput",
                                            R"({"city":"Paris","population":2100000})"),
                  fake_anthropic_turn::say("Done.")});
  auto h = harness();
  auto inv = invocation("which city?");
  inv.output_schema_json =
      R"({"type":"json_schema","schema":{"type":"object","properties":{"city":{"type":"string"},"population":{"type":"integer"}},"required":["city","population"]}})";
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.type, agentrt::protocol::result_data::kind::structured_output);
  EXPECT_EQ(rec.outcome->data.structured_output.json, R"({"city":"Paris","population":2100000})");
}

TEST_F(HarnessCliClaude, ApiError) {
  server_.script({fake_anthropic_turn::error(401, "authentication_error", "invalid x-api-key")});
  auto h = harness();
  auto rec = env_.run(h, invocation("hi"));
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  EXPECT_FALSE(rec.outcome->ok());
  // Claude Code words a 401 itself ("Invalid API key · ..."); the subtype and status are ours.
  EXPECT_EQ(rec.outcome->error.text.rfind("claude failed (", 0), 0u) << rec.outcome->error.text;
  EXPECT_NE(rec.outcome->error.text.find("API key"), std::string::npos) << rec.outcome->error.text;
}

TEST_F(HarnessCliClaude, CancelMidRunLeavesNoProcess) {
  server_.script(
      {fake_anthropic_turn::tool(
           "toolu_s", "Bash",
           R"({"command":"echo started > started.txt; sleep 300","description":"wait"})"),
       fake_anthropic_turn::say("never")});
  auto h = harness();
  bool scope_empty = false;
  auto rec = env_.run_and_cancel(
      h, invocation("wait"),
      [&](const auto&) { return std::filesystem::exists(env_.dir / "work" / "started.txt"); },
      scope_empty);
  EXPECT_TRUE(std::filesystem::exists(env_.dir / "work" / "started.txt")) << rec.logs_text();
  EXPECT_TRUE(scope_empty);
  EXPECT_EQ(rec.done_calls, 0);
}

TEST_F(HarnessCliClaude, Resume) {
  server_.script({fake_anthropic_turn::say("first"), fake_anthropic_turn::say("second")});
  auto h = harness();
  auto first = env_.run(h, invocation("one"));
  ASSERT_TRUE(first.outcome && first.outcome->ok())
      << (first.outcome ? first.outcome->error.text : "") << first.logs_text();
  const auto session = session_of(*first.outcome);
  ASSERT_FALSE(session.empty());
  auto inv = invocation("two");
  inv.resume_session_id = session;
  auto second = env_.run(h, inv);
  ASSERT_TRUE(second.outcome && second.outcome->ok())
      << (second.outcome ? second.outcome->error.text : "") << second.logs_text();
  EXPECT_EQ(second.outcome->data.text, "second");
  // The resumed conversation carries the first exchange.
  const auto bodies = server_.request_bodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_NE(bodies[1].find("first"), std::string::npos);
}

// ---- per-invocation harness_settings -----------------------------------------------------------

// Whether the tool_result event of tool id was an error (nullopt: no such event).
std::optional<bool> tool_result_error(const agentrt::test::harness_record& rec,
                                      const std::string& id) {
  for (const auto& [e, d] : rec.events)
    if (e == "tool_result" && d.find("\"id\":\"" + id + "\"") != std::string::npos)
      return d.find("\"is_error\":true") != std::string::npos;
  return std::nullopt;
}

TEST_F(HarnessCliClaude, MaxTurnsOfTheInvocationStopsAModelThatKeepsCallingTools) {
  // Every answer is another tool call: only the turn limit ends the run.
  server_.script({fake_anthropic_turn::tool("toolu_loop", "Bash",
                                            R"({"command":"echo again","description":"loop"})")});
  auto h = harness(); // --max-turns 10
  auto inv = invocation("loop");
  inv.settings.max_turns = 2;
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_NE(rec.outcome->error.text.find("error_max_turns"), std::string::npos)
      << rec.outcome->error.text;
  EXPECT_LE(server_.request_count(), 3u);
  std::printf("[ figures  ] max_turns=2: %zu model requests\n", server_.request_count());
}

TEST_F(HarnessCliClaude, DisallowedToolsAreNotRun) {
  server_.script(
      {fake_anthropic_turn::tool("toolu_d", "Bash",
                                 R"({"command":"echo x > denied.txt","description":"write"})"),
       fake_anthropic_turn::say("Done.")});
  auto h = harness();
  auto inv = invocation("write a file");
  inv.settings.disallowed_tools = std::vector<std::string>{"Bash"};
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  EXPECT_FALSE(std::filesystem::exists(env_.dir / "work" / "denied.txt"));
  EXPECT_EQ(tool_result_error(rec, "toolu_d"), std::optional<bool>(true));
}

// In the default permission mode nothing may run without asking, and -p cannot ask: a call is
// denied unless allowed_tools allows it.
void permission_case(HarnessCliClaudeBase& t, bool allow) {
  t.server_.script(
      {fake_anthropic_turn::tool("toolu_p", "Bash",
                                 R"({"command":"echo x > perm.txt","description":"write"})"),
       fake_anthropic_turn::say("Done.")});
  auto h = t.harness();
  auto inv = t.invocation("write a file");
  inv.settings.permission_mode = "default";
  if (allow)
    inv.settings.allowed_tools = std::vector<std::string>{"Bash"};
  auto rec = t.env_.run(h, inv);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  EXPECT_EQ(std::filesystem::exists(t.env_.dir / "work" / "perm.txt"), allow);
  EXPECT_EQ(tool_result_error(rec, "toolu_p"), std::optional<bool>(!allow));
}

TEST_F(HarnessCliClaude, PermissionModeDefaultDeniesATool) {
  permission_case(*this, false);
}
TEST_F(HarnessCliClaude, AllowedToolsAllowItInPermissionModeDefault) {
  permission_case(*this, true);
}

TEST_F(HarnessCliClaude, McpServersAreStarted) {
  server_.script({fake_anthropic_turn::say("Hello.")});
  auto h = harness();
  agentrt::test::expect_mcp_probe_started(env_, h, invocation("hi"));
}

TEST_F(HarnessCliClaude, ExtraArgsAndBudgetReachTheCli) {
  server_.script({fake_anthropic_turn::say("Hello.")});
  auto h = harness();
  auto inv = invocation("hi");
  inv.settings.extra_args = std::vector<std::string>{"--append-system-prompt", "EXTRA-ARG-MARKER"};
  inv.settings.max_budget_usd = 5;
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  const auto bodies = server_.request_bodies();
  ASSERT_FALSE(bodies.empty());
  EXPECT_NE(bodies[0].find("EXTRA-ARG-MARKER"), std::string::npos);
}

TEST_F(HarnessCliClaude, ATinyBudgetStopsTheRun) {
  server_.script({fake_anthropic_turn::tool("toolu_b", "Bash",
                                            R"({"command":"echo again","description":"loop"})")});
  auto h = harness();
  auto inv = invocation("loop");
  inv.settings.max_budget_usd = 0.000001;
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_NE(rec.outcome->error.text.find("budget"), std::string::npos) << rec.outcome->error.text;
  std::printf("[ figures  ] max_budget_usd=0.000001: %zu model requests\n",
              server_.request_count());
}

TEST_F(HarnessCliClaude, ASettingClaudeCannotHonourFailsBeforeItStarts) {
  auto h = harness();
  auto inv = invocation("hi");
  inv.settings.token_budget = 1000;
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text.rfind(
                "agent \"claude\" cannot honour harness_settings.token_budget", 0),
            0u)
      << rec.outcome->error.text;
  EXPECT_EQ(server_.request_count(), 0u);
}

} // namespace

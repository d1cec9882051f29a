// The REAL Gemini CLI (installed by tests/harness/install-clis.sh) against a fake Gemini API on
// 127.0.0.1: text (with the system prompt replacing the CLI's own), a real shell tool call,
// structured output asked for in the prompt (and a mismatch), an API error, cancel mid-run and
// resume. Skipped when the CLI is not installed. Run on their own with
// --gtest_filter='HarnessCli*' (or ctest -R HarnessCli).
#include <cstdio>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "harness/cli_test_support.hpp"
#include "harness/gemini_harness.hpp"
#include "runtime/harness_test_fixture.hpp"
#include "support/fake_gemini_server.hpp"

namespace {

namespace fs = std::filesystem;
namespace hs = agentrt::runtime::harness;
using agentrt::test::cli_path;
using agentrt::test::fake_gemini_server;
using agentrt::test::fake_gemini_turn;
using agentrt::test::harness_env;
using agentrt::test::harness_record;
using agentrt::test::session_of;
using namespace std::chrono_literals;

const char* const city_schema =
    R"({"type":"json_schema","schema":{"type":"object","properties":{"city":{"type":"string"},)"
    R"("population":{"type":"integer"}},"required":["city","population"]}})";

// The user's own settings: usage statistics off, so that the CLI contacts nothing but the fake
// server. The adapter must add its auth choice without touching this file.
const char* const user_settings = R"({"privacy":{"usageStatisticsEnabled":false}})";

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The run directory named by the adapter's "settings overlay DIR/home" log line.
fs::path run_dir_of(const harness_record& rec) {
  const std::string marker = "gemini: settings overlay ";
  for (const auto& l : rec.logs) {
    if (l.rfind(marker, 0) != 0)
      continue;
    return fs::path(l.substr(marker.size(), l.find(' ', marker.size()) - marker.size()))
        .parent_path();
  }
  return {};
}

class HarnessCliGemini : public ::testing::Test {
protected:
  void SetUp() override {
    program_ = cli_path("gemini");
    if (program_.empty())
      GTEST_SKIP() << "gemini not installed; run tests/harness/install-clis.sh gemini";
    fs::create_directories(env_.dir / "work");
    fs::create_directories(env_.dir / "home" / ".gemini");
    fs::create_directories(env_.dir / "tmp");
    std::ofstream(env_.dir / "home" / ".gemini" / "settings.json") << user_settings;
  }

  hs::invocation invocation(const std::string& prompt) {
    hs::invocation inv;
    inv.user_prompt = prompt;
    inv.system_prompt = "You are a test agent.";
    inv.model = "gemini-2.5-flash";
    inv.workdir = (env_.dir / "work").string();
    inv.agent_events = true;
    inv.agent_env = agentrt::test::isolated_home_env(env_.dir / "home");
    // TMPDIR: the CLI writes an error report with the whole conversation to the temp dir on an
    // API error; keep it inside the test's directory.
    inv.agent_env.insert({{"GOOGLE_GEMINI_BASE_URL", server_.base_url()},
                          {"GEMINI_API_KEY", "dummy"},
                          {"TMPDIR", (env_.dir / "tmp").string()}});
    return inv;
  }

  hs::gemini_harness harness() {
    hs::harness_config cfg;
    cfg.kill_grace = 1000ms;
    cfg.timeout = 120s;
    return hs::gemini_harness(cfg, program_);
  }

  void expect_run_dir_removed(const harness_record& rec) {
    const auto dir = run_dir_of(rec);
    ASSERT_FALSE(dir.empty()) << rec.logs_text();
    EXPECT_TRUE(env_.run_until([&] { return !fs::exists(dir); }, 5s)) << dir << " left behind";
  }

  std::string program_;
  harness_env env_;
  fake_gemini_server server_;
};

TEST_F(HarnessCliGemini, TextAnswer) {
  server_.script({fake_gemini_turn::say("Hello from the fake model.")});
  const auto started = std::chrono::steady_clock::now();
  auto h = harness();
  auto rec = env_.run(h, invocation("say hello"), 150s);
  std::cout << "[ figures ] text answer: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count()
            << " ms for one CLI run" << std::endl;
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  ASSERT_TRUE(rec.outcome->ok()) << rec.outcome->error.text << "\n" << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.text, "Hello from the fake model.");
  EXPECT_EQ(rec.assistants,
            (std::vector<std::vector<std::string>>{{"Hello from the fake model."}}));
  EXPECT_FALSE(session_of(*rec.outcome).empty()) << rec.outcome->metadata_json;
  EXPECT_NE(rec.outcome->metadata_json.find(R"("usage":{"total_tokens":112,)"), std::string::npos)
      << rec.outcome->metadata_json;
  ASSERT_EQ(server_.request_count(), 1u);
  // GEMINI_SYSTEM_MD replaced the CLI's own system prompt (which starts "You are a
  // non-interactive CLI agent ..." for this model) with ours.
  const auto body = server_.request_bodies().at(0);
  EXPECT_NE(body.find(R"("systemInstruction":{"parts":[{"text":"You are a test agent.")"),
            std::string::npos)
      << body.substr(0, 2000);
  EXPECT_EQ(body.find("non-interactive CLI agent"), std::string::npos);
  // The user's privacy choice reached the CLI through the overlay (the CLI adds this header
  // only with usage statistics on), and the user's file was not touched.
  EXPECT_EQ(server_.request_headers().at(0).count("x-gemini-api-privileged-user-id"), 0u);
  EXPECT_EQ(read_text(env_.dir / "home" / ".gemini" / "settings.json"), user_settings);
  expect_run_dir_removed(rec);
}

TEST_F(HarnessCliGemini, RealShellToolCall) {
  server_.script(
      {fake_gemini_turn::call(
           "run_shell_command",
           R"({"command":"echo made-by-gemini > proof.txt && echo ok","description":"write proof"})",
           "I will write the file."),
       fake_gemini_turn::say("Wrote the file.")});
  auto h = harness();
  auto rec = env_.run(h, invocation("write a file"), 150s);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.text, "Wrote the file.");
  EXPECT_EQ(read_text(env_.dir / "work" / "proof.txt"), "made-by-gemini\n");
  std::string use_id, result;
  for (const auto& [e, d] : rec.events) {
    if (e == "tool_use" && d.find(R"("name":"run_shell_command")") != std::string::npos)
      use_id = d;
    if (e == "tool_result")
      result = d;
  }
  EXPECT_NE(use_id.find(R"("input":{"command":"echo made-by-gemini > proof.txt && echo ok")"),
            std::string::npos)
      << use_id;
  EXPECT_NE(result.find(R"("output":"ok","is_error":false)"), std::string::npos) << result;
  ASSERT_EQ(server_.request_count(), 2u);
  // The tool's real output went back to the model.
  EXPECT_NE(server_.request_bodies().at(1).find(R"("functionResponse")"), std::string::npos);
  EXPECT_NE(server_.request_bodies().at(1).find("Output: ok"), std::string::npos);
}

TEST_F(HarnessCliGemini, StructuredOutput) {
  server_.script({fake_gemini_turn::say(R"({"city":"Paris","population":2100000})")});
  auto inv = invocation("which city?");
  inv.output_schema_json = city_schema;
  auto h = harness();
  auto rec = env_.run(h, inv, 150s);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.type, agentrt::protocol::result_data::kind::structured_output);
  EXPECT_EQ(rec.outcome->data.structured_output.json, R"({"city":"Paris","population":2100000})");
  // The model was told the schema in the prompt.
  EXPECT_NE(server_.request_bodies().at(0).find(
                R"(reply with only one JSON object that conforms to this JSON schema)"),
            std::string::npos);
}

TEST_F(HarnessCliGemini, StructuredOutputMismatch) {
  server_.script({fake_gemini_turn::say(R"({"city":"Paris","population":"many"})")});
  auto inv = invocation("which city?");
  inv.output_schema_json = city_schema;
  auto h = harness();
  auto rec = env_.run(h, inv, 150s);
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_NE(rec.outcome->error.text.find("/population fails \"type\""), std::string::npos)
      << rec.outcome->error.text;
}

TEST_F(HarnessCliGemini, ApiError) {
  server_.script({fake_gemini_turn::error(400, "INVALID_ARGUMENT",
                                          "API key not valid. Please pass a valid API key.")});
  auto h = harness();
  auto rec = env_.run(h, invocation("hi"), 150s);
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text.rfind("gemini failed: ", 0), 0u) << rec.outcome->error.text;
  EXPECT_NE(rec.outcome->error.text.find("API key not valid"), std::string::npos)
      << rec.outcome->error.text;
  EXPECT_NE(rec.outcome->error_metadata_json.find(R"("exit_code":144)"), std::string::npos)
      << rec.outcome->error_metadata_json;
  EXPECT_EQ(server_.request_count(), 1u); // a 400 is not retried
  expect_run_dir_removed(rec);
}

TEST_F(HarnessCliGemini, CancelMidRunLeavesNoProcess) {
  server_.script(
      {fake_gemini_turn::call(
           "run_shell_command",
           R"({"command":"echo started > started.txt; sleep 300","description":"wait"})"),
       fake_gemini_turn::say("never")});
  auto h = harness();
  bool scope_empty = false;
  auto rec = env_.run_and_cancel(
      h, invocation("wait"),
      [&](const auto&) { return fs::exists(env_.dir / "work" / "started.txt"); }, scope_empty,
      150s);
  EXPECT_TRUE(fs::exists(env_.dir / "work" / "started.txt")) << rec.logs_text();
  EXPECT_TRUE(scope_empty);
  EXPECT_EQ(rec.done_calls, 0);
  expect_run_dir_removed(rec);
}

TEST_F(HarnessCliGemini, Resume) {
  server_.script({fake_gemini_turn::say("first answer"), fake_gemini_turn::say("second answer")});
  auto h = harness();
  auto first = env_.run(h, invocation("one"), 150s);
  ASSERT_TRUE(first.outcome && first.outcome->ok())
      << (first.outcome ? first.outcome->error.text : "") << first.logs_text();
  const auto session = session_of(*first.outcome);
  ASSERT_FALSE(session.empty());
  auto inv = invocation("two");
  inv.resume_session_id = session;
  auto second = env_.run(h, inv, 150s);
  ASSERT_TRUE(second.outcome && second.outcome->ok())
      << (second.outcome ? second.outcome->error.text : "") << second.logs_text();
  EXPECT_EQ(second.outcome->data.text, "second answer");
  EXPECT_EQ(session_of(*second.outcome), session);
  // The resumed conversation carries the first exchange, and the session was stored in the
  // user's own Gemini home (the per-run overlay only linked it).
  const auto bodies = server_.request_bodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_NE(bodies[1].find(R"({"parts":[{"text":"first answer"}],"role":"model"})"),
            std::string::npos)
      << bodies[1].substr(bodies[1].size() > 1500 ? bodies[1].size() - 1500 : 0);
  EXPECT_NE(bodies[1].find(R"({"text":"one"})"), std::string::npos);
  EXPECT_TRUE(fs::is_directory(env_.dir / "home" / ".gemini" / "tmp" / "work" / "chats"));
}

TEST_F(HarnessCliGemini, ResumeOfAnUnknownSessionIsAClearError) {
  // Sessions are stored per Gemini home and per working directory; here there is none. The
  // CLI prints nothing on stdout and exits 42, so the stderr tail is the message.
  server_.script({fake_gemini_turn::say("never")});
  auto inv = invocation("two");
  inv.resume_session_id = "00000000-0000-4000-8000-000000000000";
  auto h = harness();
  auto rec = env_.run(h, inv, 150s);
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text.rfind("gemini exited with status 42: ", 0), 0u)
      << rec.outcome->error.text;
  EXPECT_NE(rec.outcome->error.text.find("Error resuming session"), std::string::npos)
      << rec.outcome->error.text;
  EXPECT_EQ(server_.request_count(), 0u);
}

// ---- per-invocation harness_settings -----------------------------------------------------------

TEST_F(HarnessCliGemini, PlanApprovalModeRunsNoShellCommand) {
  server_.script(
      {fake_gemini_turn::call("run_shell_command",
                              R"({"command":"echo x > planned.txt","description":"write"})",
                              "I will write the file."),
       fake_gemini_turn::say("Done.")});
  auto h = harness();
  auto inv = invocation("write a file");
  inv.settings.permission_mode = "plan";
  auto rec = env_.run(h, inv, 150s);
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  EXPECT_FALSE(fs::exists(env_.dir / "work" / "planned.txt")) << rec.logs_text();
}

TEST_F(HarnessCliGemini, ExtraArgsReachTheCli) {
  server_.script({fake_gemini_turn::say("Hello.")});
  auto h = harness();
  auto inv = invocation("hi");
  // gemini names its session after --session-id: the id in the result shows the flag arrived.
  const std::string id = "5b0c3f0e-8e2a-4c1e-9d3f-2a6b7c8d9e0f";
  inv.settings.extra_args = std::vector<std::string>{"--session-id=" + id};
  auto rec = env_.run(h, inv, 150s);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  EXPECT_EQ(session_of(*rec.outcome), id) << rec.outcome->metadata_json;
}

TEST_F(HarnessCliGemini, SettingsGeminiCannotHonourFailBeforeItStarts) {
  auto h = harness();
  auto inv = invocation("hi");
  inv.settings.max_budget_usd = 1;
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text,
            "agent \"gemini\" cannot honour harness_settings.max_budget_usd (it "
            "supports: max_turns, timeout_s, permission_mode, allowed_tools, "
            "disallowed_tools, mcp_servers, extra_args)");
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(HarnessCliGemini, McpServersAreStarted) {
  server_.script({fake_gemini_turn::say("Hello.")});
  const auto marker = env_.dir / "mcp-started";
  auto h = harness();
  auto inv = invocation("hi");
  // gemini waits for every MCP server to answer before it starts: this one leaves its marker
  // and exits at once (gemini reports it as failed and goes on).
  inv.settings.mcp_servers = agentrt::protocol::json_text{
      R"({"probe":{"command":"/bin/sh","args":["-c","touch )" + marker.string() + R"("]}})"};
  auto rec = env_.run(h, inv, 150s);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  EXPECT_TRUE(fs::exists(marker)) << rec.logs_text();
  expect_run_dir_removed(rec);
}

TEST_F(HarnessCliGemini, DisallowedToolsAreNotOfferedToTheModel) {
  server_.script({fake_gemini_turn::say("Hello.")});
  auto h = harness();
  auto inv = invocation("hi");
  inv.settings.disallowed_tools = std::vector<std::string>{"run_shell_command"};
  auto rec = env_.run(h, inv, 150s);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  auto plain = env_.run(h, invocation("hi"), 150s);
  ASSERT_TRUE(plain.outcome && plain.outcome->ok())
      << (plain.outcome ? plain.outcome->error.text : "");
  const auto bodies = server_.request_bodies();
  ASSERT_GE(bodies.size(), 2u);
  EXPECT_EQ(bodies.front().find("\"run_shell_command\""), std::string::npos);
  EXPECT_NE(bodies.back().find("\"run_shell_command\""), std::string::npos);
}

TEST_F(HarnessCliGemini, MaxTurnsStopsAModelThatKeepsCallingTools) {
  server_.script({fake_gemini_turn::call(
      "run_shell_command", R"({"command":"echo again","description":"loop"})", "Again.")});
  auto h = harness();
  auto inv = invocation("loop");
  inv.settings.max_turns = 2;
  auto rec = env_.run(h, inv, 150s);
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_NE(rec.outcome->error.text.find("max session turns"), std::string::npos)
      << rec.outcome->error.text;
  EXPECT_LE(server_.request_count(), 3u);
  std::printf("[ figures  ] gemini max_turns=2: %zu model requests, outcome %s: %s\n",
              server_.request_count(), rec.outcome->ok() ? "ok" : "error",
              rec.outcome->error.text.c_str());
}
} // namespace

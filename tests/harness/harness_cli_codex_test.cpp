// The REAL Codex CLI (installed by tests/harness/install-clis.sh) against a fake OpenAI
// Responses API on 127.0.0.1, reached only through agent_env (AGENTRT_CODEX_BASE_URL): text with
// developer instructions, a real exec_command tool call, structured output (and a mismatch), an
// API error, an unknown resume id, cancel mid-run and resume. Skipped when the CLI is not
// installed. Run on their own with --gtest_filter='HarnessCli*' (or ctest -R HarnessCli).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "harness/cli_test_support.hpp"
#include "harness/codex_harness.hpp"
#include "runtime/harness_test_fixture.hpp"
#include "support/fake_responses_server.hpp"

namespace {

namespace hs = agentrt::runtime::harness;
using agentrt::test::cli_path;
using agentrt::test::fake_responses_server;
using agentrt::test::fake_responses_turn;
using agentrt::test::harness_env;
using agentrt::test::session_of;
using namespace std::chrono_literals;

const char* const city_schema =
    R"({"type":"json_schema","schema":{"type":"object","properties":{"city":{"type":"string"},)"
    R"("population":{"type":"integer"}},"required":["city","population"],"additionalProperties":false}})";

class HarnessCliCodex : public ::testing::Test {
protected:
  void SetUp() override {
    program_ = cli_path("codex");
    if (program_.empty())
      GTEST_SKIP() << "codex not installed; run tests/harness/install-clis.sh codex";
    std::filesystem::create_directories(env_.dir / "work");
  }

  hs::invocation invocation(const std::string& prompt) {
    hs::invocation inv;
    inv.user_prompt = prompt;
    inv.system_prompt = "You are a test agent named Quill.";
    inv.model = "gpt-5.5";
    inv.workdir = (env_.dir / "work").string();
    inv.agent_events = true;
    const auto home = env_.dir / "home";
    inv.agent_env = agentrt::test::isolated_home_env(home);
    // CODEX_HOME too: a CODEX_HOME in the test runner's environment must not leak in.
    inv.agent_env.insert({{"CODEX_HOME", (home / ".codex").string()},
                          {"AGENTRT_CODEX_BASE_URL", server_.base_url()},
                          {"OPENAI_API_KEY", "dummy"}});
    std::filesystem::create_directories(home / ".codex");
    return inv;
  }

  hs::codex_harness harness() {
    hs::harness_config cfg;
    cfg.kill_grace = 1000ms;
    cfg.timeout = 120s;
    return hs::codex_harness(cfg, program_);
  }

  std::string program_;
  harness_env env_;
  fake_responses_server server_;
};

TEST_F(HarnessCliCodex, TextAnswer) {
  server_.script({fake_responses_turn::say("Hello from the fake model.")});
  auto h = harness();
  auto rec = env_.run(h, invocation("say hello"));
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  ASSERT_TRUE(rec.outcome->ok()) << rec.outcome->error.text << "\n" << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.text, "Hello from the fake model.");
  EXPECT_EQ(rec.assistants,
            (std::vector<std::vector<std::string>>{{"Hello from the fake model."}}));
  EXPECT_FALSE(session_of(*rec.outcome).empty()) << rec.outcome->metadata_json;
  EXPECT_NE(rec.outcome->metadata_json.find("\"usage\":{\"input_tokens\":12"), std::string::npos)
      << rec.outcome->metadata_json;
  // The system prompt reached the model (as a developer message), and so did the prompt.
  const auto bodies = server_.request_bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_NE(bodies[0].find("\"role\":\"developer\",\"content\":[{\"type\":\"input_text\",\"text\":"
                           "\"You are a test agent named Quill.\""),
            std::string::npos);
  EXPECT_NE(bodies[0].find("\"text\":\"say hello\""), std::string::npos);
  EXPECT_NE(bodies[0].find("\"model\":\"gpt-5.5\""), std::string::npos);
}

TEST_F(HarnessCliCodex, RealShellToolCall) {
  server_.script({fake_responses_turn::exec("call_1", "echo made-by-codex > proof.txt && echo ok"),
                  fake_responses_turn::say("Wrote the file.")});
  auto h = harness();
  auto rec = env_.run(h, invocation("write a file"));
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.text, "Wrote the file.");
  const auto proof = env_.dir / "work" / "proof.txt";
  ASSERT_TRUE(std::filesystem::exists(proof));
  std::ifstream in(proof);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "made-by-codex");
  std::string use_id, result;
  for (const auto& [e, d] : rec.events) {
    if (e == "tool_use" && d.find("\"name\":\"command_execution\"") != std::string::npos &&
        d.find("echo made-by-codex > proof.txt") != std::string::npos)
      use_id = d.substr(7, d.find('"', 7) - 7);
    if (e == "tool_result")
      result = d;
  }
  ASSERT_FALSE(use_id.empty());
  EXPECT_EQ(result, R"({"id":")" + use_id + R"(","output":"ok\n","is_error":false,"exit_code":0})");
  // The command's output went back to the model in the second request.
  const auto bodies = server_.request_bodies();
  ASSERT_EQ(bodies.size(), 2u);
  const auto output = bodies[1].find("\"type\":\"function_call_output\"");
  ASSERT_NE(output, std::string::npos);
  EXPECT_NE(bodies[1].find("\"call_id\":\"call_1\",\"output\":\"", output), std::string::npos);
}

TEST_F(HarnessCliCodex, StructuredOutput) {
  server_.script({fake_responses_turn::say(R"({"city":"Paris","population":2100000})")});
  auto h = harness();
  auto inv = invocation("which city?");
  inv.output_schema_json = city_schema;
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.type, agentrt::protocol::result_data::kind::structured_output);
  EXPECT_EQ(rec.outcome->data.structured_output.json, R"({"city":"Paris","population":2100000})");
  // --output-schema put the schema into the request as a strict json_schema text format.
  const auto bodies = server_.request_bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_NE(
      bodies[0].find(R"("format":{"type":"json_schema","strict":true,"schema":{"type":"object",)"),
      std::string::npos);
}

TEST_F(HarnessCliCodex, StructuredOutputMismatchIsAnError) {
  // A provider that ignores the format: the answer is checked here, not trusted.
  server_.script({fake_responses_turn::say(R"({"city":"Paris","population":"two million"})")});
  auto h = harness();
  auto inv = invocation("which city?");
  inv.output_schema_json = city_schema;
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_NE(rec.outcome->error.text.find("/population fails \"type\""), std::string::npos)
      << rec.outcome->error.text;
}

TEST_F(HarnessCliCodex, UsersOwnCodexHomeWithOnlyOpenaiApiKey) {
  // No AGENTRT_CODEX_BASE_URL: codex runs on the user's own $CODEX_HOME/config.toml, whose
  // provider stands in for OpenAI (requires_openai_auth: it takes OpenAI credentials), and the
  // user has nothing but OPENAI_API_KEY, which codex exec alone would not send.
  server_.script({fake_responses_turn::say("Hello, user.")});
  auto inv = invocation("hi");
  inv.agent_env["AGENTRT_CODEX_BASE_URL"] = "";
  inv.agent_env["CODEX_API_KEY"] = "";
  inv.agent_env["OPENAI_API_KEY"] = "sk-user-key";
  std::ofstream(std::filesystem::path(inv.agent_env["CODEX_HOME"]) / "config.toml")
      << "model_provider = \"stand_in_openai\"\n"
         "analytics.enabled = false\n"
         "[features]\nplugins = false\n"
         "[model_providers.stand_in_openai]\nname = \"stand-in\"\nbase_url = \""
      << server_.base_url() << "\"\nwire_api = \"responses\"\nrequires_openai_auth = true\n";
  auto h = harness();
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.text, "Hello, user.");
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].headers.count("authorization") ? requests[0].headers.at("authorization")
                                                       : "",
            "Bearer sk-user-key");
}

TEST_F(HarnessCliCodex, ApiError) {
  // 400 is not retried by codex (401, 403, 404 and 5xx are, for seconds).
  server_.script({fake_responses_turn::error(400, "The requested model does not exist.")});
  auto h = harness();
  auto rec = env_.run(h, invocation("hi"));
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text.rfind("codex failed: ", 0), 0u) << rec.outcome->error.text;
  EXPECT_NE(rec.outcome->error.text.find("The requested model does not exist."), std::string::npos)
      << rec.outcome->error.text;
  EXPECT_NE(rec.outcome->error_metadata_json.find("\"exit_code\":1"), std::string::npos)
      << rec.outcome->error_metadata_json;
  EXPECT_FALSE(session_of(*rec.outcome).empty());
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(HarnessCliCodex, ResumeOfAnUnknownSessionFailsClearly) {
  server_.script({fake_responses_turn::say("never")});
  auto h = harness();
  auto inv = invocation("two");
  inv.resume_session_id = "01a23067-0000-7bd2-91f0-41a3831d4eef";
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text.rfind("codex exited with status 1: ", 0), 0u)
      << rec.outcome->error.text;
  EXPECT_NE(rec.outcome->error.text.find(
                "no rollout found for thread id 01a23067-0000-7bd2-91f0-41a3831d4eef"),
            std::string::npos)
      << rec.outcome->error.text;
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(HarnessCliCodex, CancelMidRunLeavesNoProcess) {
  fake_responses_turn waiting;
  waiting.hang = true;
  server_.script(
      {fake_responses_turn::exec("call_s", "echo started > started.txt; sleep 300"), waiting});
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

TEST_F(HarnessCliCodex, Resume) {
  server_.script({fake_responses_turn::say("first"), fake_responses_turn::say("second")});
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
  EXPECT_EQ(session_of(*second.outcome), session);
  // The resumed conversation carries the first exchange, then the new prompt.
  const auto bodies = server_.request_bodies();
  ASSERT_EQ(bodies.size(), 2u);
  const auto first_answer = bodies[1].find(R"("text":"first")");
  ASSERT_NE(first_answer, std::string::npos);
  EXPECT_NE(bodies[1].find(R"("text":"two")", first_answer), std::string::npos);
}

// ---- per-invocation harness_settings -----------------------------------------------------------

TEST_F(HarnessCliCodex, McpServersAreStarted) {
  server_.script({fake_responses_turn::say("Hello.")});
  auto h = harness();
  agentrt::test::expect_mcp_probe_started(env_, h, invocation("hi"));
}

TEST_F(HarnessCliCodex, PermissionModeIsTheSandboxTheModelIsToldAbout) {
  server_.script({fake_responses_turn::say("Hello.")});
  auto h = harness();
  auto inv = invocation("hi");
  inv.settings.permission_mode = "read-only";
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  auto plain = env_.run(h, invocation("hi"));
  ASSERT_TRUE(plain.outcome && plain.outcome->ok())
      << (plain.outcome ? plain.outcome->error.text : "");
  const auto bodies = server_.request_bodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_NE(bodies[0].find("read-only"), std::string::npos);
  EXPECT_EQ(bodies[0].find("danger-full-access"), std::string::npos);
  EXPECT_NE(bodies[1].find("danger-full-access"), std::string::npos);
}

TEST_F(HarnessCliCodex, AnUnknownSandboxModeFailsBeforeItStarts) {
  auto h = harness();
  auto inv = invocation("hi");
  inv.settings.permission_mode = "plan";
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text,
            "codex: harness_settings.permission_mode \"plan\" is not a codex "
            "sandbox mode (read-only, workspace-write, danger-full-access)");
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(HarnessCliCodex, ExtraArgsReachTheCli) {
  server_.script({fake_responses_turn::say("Hello.")});
  auto h = harness();
  auto inv = invocation("hi");
  // A later -c wins: the developer message is the extra argument's.
  inv.settings.extra_args =
      std::vector<std::string>{"-c", "developer_instructions=\"EXTRA-ARG-MARKER\""};
  auto rec = env_.run(h, inv);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  const auto bodies = server_.request_bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_NE(bodies[0].find("EXTRA-ARG-MARKER"), std::string::npos);
}

TEST_F(HarnessCliCodex, SettingsCodexCannotHonourFailBeforeItStarts) {
  auto h = harness();
  for (const char* which : {"max_turns", "allowed_tools", "max_budget_usd"}) {
    auto inv = invocation("hi");
    const std::string w = which;
    if (w == "max_turns")
      inv.settings.max_turns = 3;
    if (w == "allowed_tools")
      inv.settings.allowed_tools = std::vector<std::string>{"shell"};
    if (w == "max_budget_usd")
      inv.settings.max_budget_usd = 1;
    auto rec = env_.run(h, inv);
    ASSERT_TRUE(rec.outcome);
    EXPECT_FALSE(rec.outcome->ok());
    EXPECT_EQ(rec.outcome->error.text,
              "agent \"codex\" cannot honour harness_settings." + w +
                  " (it supports: timeout_s, permission_mode, mcp_servers, extra_args)");
  }
  EXPECT_EQ(server_.request_count(), 0u);
}

} // namespace

// The REAL OpenCode CLI (installed by tests/harness/install-clis.sh) against the fake Anthropic
// server on 127.0.0.1, configured the way a user would: a provider in OPENCODE_CONFIG_CONTENT,
// which the adapter must extend with its agent and keep. Text, a real bash tool call (and
// failing tools), structured output by instruction (valid and mismatching), an API error,
// cancel mid-run, resume, and resuming an unknown session. Skipped when the CLI is not
// installed. The npm registry OpenCode installs its plugin package from is a local server that
// never answers, which keeps the runs offline and shows that the install cannot hold a run.
// With AGENTRT_RECORD_OPENCODE=DIR each run's stdout is also appended to DIR/<test>.jsonl
// (how tests/runtime/data/opencode was recorded).
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "harness/cli_test_support.hpp"
#include "harness/opencode_harness.hpp"
#include "runtime/harness_test_fixture.hpp"
#include "support/fake_anthropic_server.hpp"

namespace {

namespace hs = agentrt::runtime::harness;
using agentrt::test::cli_path;
using agentrt::test::fake_anthropic_server;
using agentrt::test::fake_anthropic_turn;
using agentrt::test::harness_env;
using agentrt::test::http_response;
using agentrt::test::http_test_server;
using agentrt::test::session_of;
using namespace std::chrono_literals;

// The package OpenCode 1.18 fetches at startup; any other path gets a quick 404.
const char* const plugin_package_path = "/@opencode-ai%2fplugin";
// A run on the shared 2-core test machine can take tens of seconds.
constexpr auto run_limit = 240s;

bool has_event(const agentrt::test::harness_record& rec, const std::string& event,
               const std::string& fragment) {
  for (const auto& [e, d] : rec.events)
    if (e == event && d.find(fragment) != std::string::npos)
      return true;
  return false;
}

class HarnessCliOpencode : public ::testing::Test {
protected:
  void SetUp() override {
    program_ = cli_path("opencode");
    if (program_.empty())
      GTEST_SKIP() << "opencode not installed; run tests/harness/install-clis.sh opencode";
    std::filesystem::create_directories(env_.dir / "work");
    http_response never;
    never.hang = true;
    registry_.route(plugin_package_path, never);
    if (const char* dir = std::getenv("AGENTRT_RECORD_OPENCODE")) {
      const std::string file = std::string(dir) + "/" +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name() +
                               ".jsonl";
      program_ =
          env_.write_script("opencode-recorder", "#!/bin/bash\nset -o pipefail\n'" + program_ +
                                                     "' \"$@\" | tee -a '" + file + "'\n");
    }
  }

  hs::invocation invocation(const std::string& prompt) {
    hs::invocation inv;
    inv.user_prompt = prompt;
    inv.system_prompt = "You are a test agent.";
    // No provider prefix: the adapter takes the config's only provider.
    inv.model = "claude-sonnet-4-5";
    inv.workdir = (env_.dir / "work").string();
    inv.agent_events = true;
    inv.agent_env = agentrt::test::isolated_home_env(env_.dir / "home");
    inv.agent_env.insert(
        {{"OPENCODE_CONFIG_CONTENT", R"({"provider":{"anthropic":{"options":{"baseURL":")" +
                                         server_.base_url() + R"(/v1","apiKey":"dummy"}}}})"},
         {"OPENCODE_DISABLE_AUTOUPDATE", "1"},
         {"OPENCODE_DISABLE_DEFAULT_PLUGINS", "1"},
         {"OPENCODE_DISABLE_LSP_DOWNLOAD", "1"},
         {"OPENCODE_DISABLE_SHARE", "1"},
         {"OPENCODE_DISABLE_MODELS_FETCH", "1"},
         {"npm_config_registry", registry_.url("/")}});
    return inv;
  }

  hs::opencode_harness harness() {
    hs::harness_config cfg;
    cfg.kill_grace = 1000ms;
    cfg.timeout = run_limit - 10s;
    cfg.max_turns = 10;
    return hs::opencode_harness(cfg, program_);
  }

  std::string program_;
  harness_env env_;
  fake_anthropic_server server_;
  http_test_server registry_;
};

TEST_F(HarnessCliOpencode, TextAnswer) {
  server_.script({fake_anthropic_turn::say("Hello from the fake model.")});
  auto h = harness();
  const auto started = std::chrono::steady_clock::now();
  auto rec = env_.run(h, invocation("say hello"), run_limit);
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  ASSERT_TRUE(rec.outcome->ok()) << rec.outcome->error.text << "\n" << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.text, "Hello from the fake model.");
  EXPECT_EQ(rec.assistants,
            (std::vector<std::vector<std::string>>{{"Hello from the fake model."}}));
  const auto session = session_of(*rec.outcome);
  EXPECT_EQ(session.rfind("ses_", 0), 0u) << rec.outcome->metadata_json;
  EXPECT_NE(rec.outcome->metadata_json.find(
                R"("model":"anthropic/claude-sonnet-4-5","num_turns":1,"total_cost_usd":)"),
            std::string::npos)
      << rec.outcome->metadata_json;
  EXPECT_TRUE(
      has_event(rec, "session", R"({"session_id":")" + session + R"(","harness":"opencode")"));
  EXPECT_TRUE(has_event(rec, "usage", R"("input":10,"output":12)"));
  // One request: the title came from the prompt, so OpenCode did not ask the model for one.
  ASSERT_EQ(server_.request_count(), 1u);
  const auto body = server_.request_bodies()[0];
  // The user's provider settings reached OpenCode (the request came here) and so did the
  // system prompt, through the merged agent, in place of OpenCode's own.
  EXPECT_NE(body.find("You are a test agent."), std::string::npos);
  EXPECT_EQ(body.find("You are OpenCode"), std::string::npos);
  EXPECT_NE(body.find(R"("model":"claude-sonnet-4-5")"), std::string::npos);
  // The plugin install asked the registry, got no answer, and did not hold the run; nothing
  // of the run is left running.
  EXPECT_GE(registry_.request_count(plugin_package_path), 1u);
  EXPECT_TRUE(env_.scope->empty());
  std::printf("[ figures ] opencode text answer: %.1f s\n", seconds);
}

TEST_F(HarnessCliOpencode, RealShellToolCall) {
  const auto work = env_.dir / "work";
  server_.script(
      {fake_anthropic_turn::tool(
           "toolu_1", "bash",
           R"({"command":"echo made-by-opencode > proof.txt && echo ok","description":"write proof"})")
           .with_thinking("I should write the proof file."),
       fake_anthropic_turn::tool("toolu_2", "bash",
                                 R"({"command":"cat missing.txt","description":"fail"})"),
       fake_anthropic_turn::tool("toolu_3", "read",
                                 R"({"filePath":")" + (work / "missing.txt").string() + R"("})"),
       fake_anthropic_turn::say("Wrote the file.")});
  auto h = harness();
  auto rec = env_.run(h, invocation("write a file"), run_limit);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.text, "Wrote the file.");
  std::ifstream proof(work / "proof.txt");
  std::string content;
  std::getline(proof, content);
  EXPECT_EQ(content, "made-by-opencode");
  EXPECT_TRUE(has_event(rec, "reasoning", R"({"text":"I should write the proof file."})"));
  EXPECT_TRUE(
      has_event(rec, "tool_use",
                R"({"id":"toolu_1","name":"bash","input":{"command":"echo made-by-opencode)"));
  EXPECT_TRUE(has_event(rec, "tool_result",
                        R"({"id":"toolu_1","output":"ok\n","is_error":false,"exit_code":0})"));
  EXPECT_TRUE(has_event(rec, "tool_result", R"("is_error":true,"exit_code":1})"))
      << "cat missing.txt";
  EXPECT_TRUE(has_event(rec, "tool_result", R"({"id":"toolu_3","output":"File not found)"));
  EXPECT_NE(rec.outcome->metadata_json.find(R"("num_turns":4)"), std::string::npos)
      << rec.outcome->metadata_json;
  EXPECT_EQ(server_.request_count(), 4u);
}

const char* const city_schema =
    R"({"type":"json_schema","schema":{"type":"object","properties":{"city":{"type":"string"},"population":{"type":"integer"}},"required":["city","population"]}})";

TEST_F(HarnessCliOpencode, StructuredOutput) {
  server_.script({fake_anthropic_turn::say(R"({"city":"Paris","population":2100000})")});
  auto h = harness();
  auto inv = invocation("which city?");
  inv.output_schema_json = city_schema;
  auto rec = env_.run(h, inv, run_limit);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.type, agentrt::protocol::result_data::kind::structured_output);
  EXPECT_EQ(rec.outcome->data.structured_output.json, R"({"city":"Paris","population":2100000})");
  // The schema reached the model inside the prompt (JSON-escaped in the request body).
  ASSERT_EQ(server_.request_count(), 1u);
  EXPECT_NE(server_.request_bodies()[0].find(R"(which city?\n\nAnswer with a single JSON object)"),
            std::string::npos);
  EXPECT_NE(server_.request_bodies()[0].find(R"(\"required\":[\"city\",\"population\"])"),
            std::string::npos);
}

TEST_F(HarnessCliOpencode, StructuredOutputMismatchIsAnError) {
  server_.script({fake_anthropic_turn::say(R"({"city":"Paris","population":"many"})")});
  auto h = harness();
  auto inv = invocation("which city?");
  inv.output_schema_json = city_schema;
  auto rec = env_.run(h, inv, run_limit);
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_NE(rec.outcome->error.text.find("/population fails \"type\""), std::string::npos)
      << rec.outcome->error.text;
}

TEST_F(HarnessCliOpencode, ApiError) {
  server_.script({fake_anthropic_turn::error(401, "authentication_error", "invalid x-api-key")});
  auto h = harness();
  auto rec = env_.run(h, invocation("hi"), run_limit);
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "opencode failed (APIError): invalid x-api-key");
  EXPECT_NE(rec.outcome->error_metadata_json.find(R"("api_error_status":401)"), std::string::npos)
      << rec.outcome->error_metadata_json;
  EXPECT_NE(rec.outcome->error_metadata_json.find(R"("exit_code":1)"), std::string::npos);
  EXPECT_EQ(session_of(*rec.outcome).rfind("ses_", 0), 0u) << rec.outcome->error_metadata_json;
}

TEST_F(HarnessCliOpencode, CancelMidRunLeavesNoProcess) {
  server_.script(
      {fake_anthropic_turn::tool(
           "toolu_s", "bash",
           R"({"command":"echo started > started.txt; sleep 300","description":"wait"})"),
       fake_anthropic_turn::say("never")});
  auto h = harness();
  bool scope_empty = false;
  auto rec = env_.run_and_cancel(
      h, invocation("wait"),
      [&](const auto&) { return std::filesystem::exists(env_.dir / "work" / "started.txt"); },
      scope_empty, run_limit);
  EXPECT_TRUE(std::filesystem::exists(env_.dir / "work" / "started.txt")) << rec.logs_text();
  EXPECT_TRUE(scope_empty);
  EXPECT_EQ(rec.done_calls, 0);
}

TEST_F(HarnessCliOpencode, Resume) {
  server_.script({fake_anthropic_turn::say("first"), fake_anthropic_turn::say("second")});
  auto h = harness();
  auto first = env_.run(h, invocation("one"), run_limit);
  ASSERT_TRUE(first.outcome && first.outcome->ok())
      << (first.outcome ? first.outcome->error.text : "") << first.logs_text();
  const auto session = session_of(*first.outcome);
  ASSERT_FALSE(session.empty());
  auto inv = invocation("two");
  inv.resume_session_id = session;
  auto second = env_.run(h, inv, run_limit);
  ASSERT_TRUE(second.outcome && second.outcome->ok())
      << (second.outcome ? second.outcome->error.text : "") << second.logs_text();
  EXPECT_EQ(second.outcome->data.text, "second");
  // The events of the resumed run name the same session.
  EXPECT_EQ(session_of(*second.outcome), session);
  // The resumed conversation carries the first exchange.
  const auto bodies = server_.request_bodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_NE(bodies[1].find("first"), std::string::npos);
  EXPECT_NE(bodies[1].find("two"), std::string::npos);
}

TEST_F(HarnessCliOpencode, ResumeUnknownSessionFails) {
  server_.script({fake_anthropic_turn::say("unused")});
  auto h = harness();
  auto inv = invocation("two");
  inv.resume_session_id = "ses_doesnotexist";
  auto rec = env_.run(h, inv, run_limit);
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "opencode exited with status 1: Error: Session not found");
  EXPECT_EQ(server_.request_count(), 0u);
}

// ---- per-invocation harness_settings -----------------------------------------------------------

TEST_F(HarnessCliOpencode, McpServersAreStarted) {
  server_.script({fake_anthropic_turn::say("Hello.")});
  auto h = harness();
  agentrt::test::expect_mcp_probe_started(env_, h, invocation("hi"), run_limit);
}

TEST_F(HarnessCliOpencode, DisallowedToolsAreNotOfferedToTheModel) {
  server_.script({fake_anthropic_turn::say("Hello.")});
  auto h = harness();
  auto inv = invocation("hi");
  inv.settings.disallowed_tools = std::vector<std::string>{"bash"};
  auto rec = env_.run(h, inv, run_limit);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  auto plain = env_.run(h, invocation("hi"), run_limit);
  ASSERT_TRUE(plain.outcome && plain.outcome->ok())
      << (plain.outcome ? plain.outcome->error.text : "");
  const auto bodies = server_.request_bodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(bodies[0].find(R"("name":"bash")"), std::string::npos);
  EXPECT_NE(bodies[1].find(R"("name":"bash")"), std::string::npos);
}

TEST_F(HarnessCliOpencode, APermissionModeFailsNamingTheSetting) {
  auto h = harness();
  auto inv = invocation("hi");
  inv.settings.permission_mode = "plan";
  auto rec = env_.run(h, inv, run_limit);
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text,
            "agent \"opencode\" cannot honour harness_settings.permission_mode "
            "(it supports: max_turns, timeout_s, disallowed_tools, mcp_servers, "
            "extra_args)");
  EXPECT_EQ(server_.request_count(), 0u);
}

} // namespace

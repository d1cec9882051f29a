// The invocation's "agent" and "harness_settings" fields end to end through the real runtime:
// two invocations on one runtime run on different agents (the --handler default and the
// native openai loop against a fake OpenAI server), an unknown or unavailable agent fails
// listing what is available, a setting the chosen agent cannot honour fails naming it, and
// the settings reach the harness (the handler sees them on its stdin line).
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "agentrt/protocol/codec.hpp"
#include "support/fake_openai_server.hpp"
#include "support/protocol_helpers.hpp"
#include "support/runtime_process.hpp"
#include "support/ws_test_client.hpp"

namespace agentrt::test {
namespace {

namespace p = agentrt::protocol;

// Keeps the invocation line it was given (in $SEEN) and answers with a fixed text.
constexpr const char* handler_script = R"SH(#!/bin/sh
IFS= read -r line
printf '%s\n' "$line" > "$SEEN"
printf '%s\n' '{"type":"result","data":{"type":"text","text":"from the handler"},"metadata":{}}'
)SH";

class HarnessAgentSelect : public ::testing::Test {
protected:
  void SetUp() override {
    root_ = make_temp_dir("agentrt-agent-");
    handler_ = root_ + "/handler.sh";
    std::ofstream(handler_) << handler_script;
    ASSERT_EQ(::chmod(handler_.c_str(), 0755), 0);
    // A PATH without any agent CLI and no OpenAI endpoint: what is available is known.
    rt_ = std::make_unique<runtime_process>(
        std::vector<std::string>{"--handler", handler_, "--kill-grace", "1"},
        std::vector<std::string>{"PATH=/usr/bin:/bin", "OPENAI_BASE_URL=", "OPENAI_API_KEY="});
    auto r = ws_test_client::connect(rt_->url());
    ASSERT_TRUE(r.client) << r.error;
    c_ = std::move(r.client);
  }
  void TearDown() override { std::system(("rm -rf " + root_).c_str()); }

  p::invocation_message invocation(const std::string& prompt) const {
    p::invocation_message m;
    m.system_prompt = "be brief";
    m.user_prompt = prompt;
    m.model = "fake-model";
    m.agent_env = p::string_map{{"SEEN", root_ + "/seen.json"}};
    return m;
  }

  // The terminal message of one invocation.
  p::message run(const p::invocation_message& m) {
    c_->send(m);
    auto msgs = c_->receive_until_terminal();
    EXPECT_FALSE(msgs.empty());
    return msgs.empty() ? p::message{p::error_message{"no answer", {}}} : msgs.back();
  }

  std::string seen() const {
    std::ifstream in(root_ + "/seen.json");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string root_;
  std::string handler_;
  std::unique_ptr<runtime_process> rt_;
  std::unique_ptr<ws_test_client> c_;
};

TEST_F(HarnessAgentSelect, TwoInvocationsOnOneRuntimeRunOnDifferentAgents) {
  fake_openai_server openai;
  openai.script({fake_chat_turn::say("from the openai loop")});

  auto first = run(invocation("who are you"));
  auto* r1 = as<p::result_message>(first);
  ASSERT_NE(r1, nullptr) << p::encode(first);
  EXPECT_EQ(r1->data.text, "from the handler");

  auto m = invocation("who are you");
  m.agent = "openai";
  m.agent_env->insert({{"OPENAI_BASE_URL", openai.base_url()}, {"OPENAI_API_KEY", "sk-test"}});
  auto second = run(m);
  auto* r2 = as<p::result_message>(second);
  ASSERT_NE(r2, nullptr) << p::encode(second);
  EXPECT_EQ(r2->data.text, "from the openai loop");
  EXPECT_EQ(openai.request_count(), 1u);
  EXPECT_NE(r2->metadata.json.find("\"harness\":\"openai\""), std::string::npos)
      << r2->metadata.json;

  // Naming the default agent explicitly is the default.
  auto third_msg = invocation("again");
  third_msg.agent = "handler";
  auto third = run(third_msg);
  auto* r3 = as<p::result_message>(third);
  ASSERT_NE(r3, nullptr) << p::encode(third);
  EXPECT_EQ(r3->data.text, "from the handler");
  EXPECT_EQ(openai.request_count(), 1u);

  // /metrics counts each run under the agent that ran it.
  const std::string page = http_get(rt_->port(), "/metrics").second;
  EXPECT_NE(page.find("agentrt_harness_runs_total{agent=\"handler\",outcome=\"success\"} 2\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("agentrt_harness_runs_total{agent=\"openai\",outcome=\"success\"} 1\n"),
            std::string::npos)
      << page;
}

TEST_F(HarnessAgentSelect, AnUnknownAgentFailsListingTheAvailableOnes) {
  auto m = invocation("hi");
  m.agent = "gpt-pilot";
  auto out = run(m);
  auto* e = as<p::error_message>(out);
  ASSERT_NE(e, nullptr) << p::encode(out);
  EXPECT_EQ(e->error, "unknown agent \"gpt-pilot\" (available on this runtime: handler)");
  EXPECT_NE(e->metadata.json.find("\"available\":\"handler\""), std::string::npos)
      << e->metadata.json;
  EXPECT_EQ(seen(), "") << "the handler must not have run";
}

TEST_F(HarnessAgentSelect, AnAgentThatIsNotInstalledOrConfiguredFailsSayingWhy) {
  auto cli = invocation("hi");
  cli.agent = "claude";
  auto out = run(cli);
  auto* e = as<p::error_message>(out);
  ASSERT_NE(e, nullptr) << p::encode(out);
  EXPECT_EQ(e->error, "agent \"claude\" is not available: claude is not on PATH (available on "
                      "this runtime: handler)");

  auto openai = invocation("hi");
  openai.agent = "openai";
  out = run(openai);
  e = as<p::error_message>(out);
  ASSERT_NE(e, nullptr) << p::encode(out);
  EXPECT_EQ(e->error, "agent \"openai\" is not available: neither OPENAI_BASE_URL nor "
                      "OPENAI_API_KEY is set (in the runtime's environment or the invocation's "
                      "agent_env) (available on this runtime: handler)");
}

TEST_F(HarnessAgentSelect, ASettingTheAgentCannotHonourFailsNamingIt) {
  fake_openai_server openai;
  openai.script({fake_chat_turn::say("never")});
  auto m = invocation("hi");
  m.agent = "openai";
  m.agent_env->insert({{"OPENAI_BASE_URL", openai.base_url()}});
  m.settings.emplace().allowed_tools = std::vector<std::string>{"shell"};
  auto out = run(m);
  auto* e = as<p::error_message>(out);
  ASSERT_NE(e, nullptr) << p::encode(out);
  EXPECT_EQ(e->error, "agent \"openai\" cannot honour harness_settings.allowed_tools (it "
                      "supports: max_turns, timeout_s, token_budget)");
  EXPECT_EQ(openai.request_count(), 0u);
}

TEST_F(HarnessAgentSelect, TheSettingsReachTheHarness) {
  auto m = invocation("hi");
  auto& s = m.settings.emplace();
  s.max_turns = 3;
  s.timeout_s = 30;
  s.permission_mode = "plan";
  s.allowed_tools = std::vector<std::string>{"Read", "Bash(git diff:*)"};
  s.disallowed_tools = std::vector<std::string>{"WebFetch"};
  s.max_budget_usd = 0.25;
  s.token_budget = 5000;
  s.mcp_servers = p::json_text{R"({"files":{"command":"mcp-files","args":["--root","/w"]}})"};
  s.extra_args = std::vector<std::string>{"--verbose", "-x"};
  auto out = run(m);
  ASSERT_NE(as<p::result_message>(out), nullptr) << p::encode(out);
  EXPECT_NE(seen().find(
                R"("harness_settings":{"max_turns":3,"timeout_s":30.0,"permission_mode":"plan",)"
                R"x("allowed_tools":["Read","Bash(git diff:*)"],"disallowed_tools":["WebFetch"],)x"
                R"("max_budget_usd":0.25,"token_budget":5000,)"
                R"("mcp_servers":{"files":{"command":"mcp-files","args":["--root","/w"]}},)"
                R"("extra_args":["--verbose","-x"]})"),
            std::string::npos)
      << seen();
}

TEST_F(HarnessAgentSelect, AnInvocationWithoutTheFieldsSendsTheHandlerWhatItAlwaysDid) {
  auto out = run(invocation("hi"));
  ASSERT_NE(as<p::result_message>(out), nullptr) << p::encode(out);
  EXPECT_NE(seen().find("\"user_prompt\":\"hi\""), std::string::npos) << seen();
  EXPECT_EQ(seen().find("harness_settings"), std::string::npos) << seen();
}

TEST_F(HarnessAgentSelect, InvalidSettingsAreRefusedByTheDecoderNamingTheField) {
  // Sent as raw JSON: the C++ types cannot carry a wrong type.
  c_->send_text(R"({"message_type":"invocation_message","system_prompt":"","user_prompt":"hi",)"
                R"("model":"m","secrets_to_redact":[],"harness_settings":{"max_turns":0}})");
  auto msgs = c_->receive_until_terminal();
  ASSERT_FALSE(msgs.empty());
  auto* e = as<p::error_message>(msgs.back());
  ASSERT_NE(e, nullptr) << p::encode(msgs.back());
  EXPECT_NE(e->error.find("harness_settings.max_turns: must be >= 1"), std::string::npos)
      << e->error;
  EXPECT_EQ(seen(), "");
}

} // namespace
} // namespace agentrt::test

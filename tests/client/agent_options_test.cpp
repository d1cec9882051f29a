// The agentrt extensions of a query reach the wire: agent, harness_settings,
// resume_session_id and announce_existing_artifacts from the C++ client's options and from
// agentrt-client's flags, checked in the frame a scripted runtime received; and a query that
// sets none of them sends none of them (what a runtimeuse runtime has always seen).
#include <gtest/gtest.h>

#include <fstream>

#include "agentrt/client/client.hpp"
#include "agentrt/protocol/codec.hpp"
#include "support/program_run.hpp"
#include "support/runtime_process.hpp"
#include "support/scripted_peer.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;

// A runtime that answers one invocation with a text result, then ends the session.
std::vector<scripted_peer::step> one_query() {
  p::result_message r;
  r.data.text = "ok";
  return {scripted_peer::expect("invocation_message"), scripted_peer::send(p::message{r}),
          scripted_peer::expect("end_session_message"),
          scripted_peer::send(p::message{p::end_session_confirm_message{}})};
}

// The invocation frame the peer received.
std::string invocation_frame(const scripted_peer& peer) {
  for (const auto& f : peer.received())
    if (f.find("\"invocation_message\"") != std::string::npos)
      return f;
  return "";
}

program_result run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), AGENTRT_CLIENT_BINARY);
  return run_program(args);
}

TEST(ClientAgentOptions, QueryOptionsCarryTheAgentAndItsSettings) {
  scripted_peer peer(one_query());
  client::query_options q;
  q.agent = "codex";
  q.resume_session_id = "thread-7";
  q.announce_existing_artifacts = false;
  auto& h = q.harness_settings.emplace();
  h.max_turns = 4;
  h.timeout_s = 90;
  h.permission_mode = "read-only";
  h.allowed_tools = std::vector<std::string>{"Read"};
  h.disallowed_tools = std::vector<std::string>{"Bash"};
  h.max_budget_usd = 1.5;
  h.token_budget = 20000;
  h.mcp_servers = p::json_text{R"({"fs":{"command":"mcp-fs"}})"};
  h.extra_args = std::vector<std::string>{"--x"};
  client::connect_options c{peer.url()};
  c.durable = false;
  auto [result, error] = client::client(c).query("hi", q);
  ASSERT_FALSE(error) << error.message << " " << peer.failure();
  EXPECT_EQ(result.text, "ok");
  const auto frame = invocation_frame(peer);
  EXPECT_NE(frame.find(R"("announce_existing_artifacts":false)"), std::string::npos) << frame;
  EXPECT_NE(
      frame.find(
          R"("resume_session_id":"thread-7","agent":"codex",)"
          R"("harness_settings":{"max_turns":4,"timeout_s":90,"permission_mode":"read-only",)"
          R"("allowed_tools":["Read"],"disallowed_tools":["Bash"],"max_budget_usd":1.5,)"
          R"("token_budget":20000,"mcp_servers":{"fs":{"command":"mcp-fs"}},"extra_args":["--x"]})"),
      std::string::npos)
      << frame;
  // The frame decodes back to the same fields.
  auto decoded = p::decode(frame);
  ASSERT_TRUE(decoded.msg) << decoded.error;
  const auto* m = std::get_if<p::invocation_message>(&*decoded.msg);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->agent, std::optional<std::string>("codex"));
  ASSERT_TRUE(m->settings);
  EXPECT_EQ(m->settings->max_turns, std::optional<int>(4));
  EXPECT_EQ(m->settings->token_budget, std::optional<std::int64_t>(20000));
  EXPECT_EQ(m->settings->mcp_servers->json, R"({"fs":{"command":"mcp-fs"}})");
  EXPECT_EQ(m->settings->extra_args, std::optional<std::vector<std::string>>({"--x"}));
}

TEST(ClientAgentOptions, AQueryWithoutThemSendsNoneOfThem) {
  scripted_peer peer(one_query());
  client::connect_options c{peer.url()};
  c.durable = false;
  auto [result, error] = client::client(c).query("hi");
  ASSERT_FALSE(error) << error.message;
  const auto frame = invocation_frame(peer);
  ASSERT_FALSE(frame.empty());
  for (const char* field :
       {"\"agent\"", "harness_settings", "resume_session_id", "announce_existing_artifacts"})
    EXPECT_EQ(frame.find(field), std::string::npos) << field << " in " << frame;
}

TEST(ClientAgentOptions, QueryFlagsReachTheWire) {
  scripted_peer peer(one_query());
  const std::string mcp = make_temp_dir("agentrt-mcp-") + "/mcp.json";
  // Claude Code's own --mcp-config shape is unwrapped to the map.
  std::ofstream(mcp) << R"({"mcpServers":{"fs":{"command":"mcp-fs","args":["/w"]}}})";
  auto r = run_cli({"query",
                    peer.url(),
                    "--no-durable",
                    "--prompt",
                    "hi",
                    "--agent",
                    "claude",
                    "--resume-session-id",
                    "s-1",
                    "--max-turns",
                    "3",
                    "--harness-timeout",
                    "45",
                    "--permission-mode",
                    "plan",
                    "--allowed-tool",
                    "Read",
                    "--allowed-tool",
                    "Bash(git diff:*)",
                    "--disallowed-tool",
                    "WebFetch",
                    "--max-budget-usd",
                    "0.5",
                    "--token-budget",
                    "1000",
                    "--mcp-config",
                    mcp,
                    "--agent-arg=--verbose",
                    "--agent-arg",
                    "x",
                    "--no-announce-existing"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "ok\n");
  const auto frame = invocation_frame(peer);
  EXPECT_NE(frame.find(R"("announce_existing_artifacts":false)"), std::string::npos) << frame;
  EXPECT_NE(
      frame.find(R"("resume_session_id":"s-1","agent":"claude",)"
                 R"("harness_settings":{"max_turns":3,"timeout_s":45,"permission_mode":"plan",)"
                 R"x("allowed_tools":["Read","Bash(git diff:*)"],"disallowed_tools":["WebFetch"],)x"
                 R"("max_budget_usd":0.5,"token_budget":1000,)"
                 R"("mcp_servers":{"fs":{"command":"mcp-fs","args":["/w"]}},)"
                 R"("extra_args":["--verbose","x"]})"),
      std::string::npos)
      << frame;
}

TEST(ClientAgentOptions, BadAgentFlagsAreUsageErrors) {
  EXPECT_EQ(run_cli({"query", "ws://127.0.0.1:1/", "--prompt", "hi", "--agent", "gpt"}).code, 64);
  EXPECT_EQ(run_cli({"query", "ws://127.0.0.1:1/", "--prompt", "hi", "--max-turns", "0"}).code, 64);
  const std::string bad = make_temp_dir("agentrt-mcp-") + "/bad.json";
  std::ofstream(bad) << "[1,2]";
  auto r = run_cli({"query", "ws://127.0.0.1:1/", "--prompt", "hi", "--mcp-config", bad});
  EXPECT_EQ(r.code, 64);
  EXPECT_NE(r.err.find("--mcp-config: not a JSON object"), std::string::npos) << r.err;
}

TEST(ClientAgentOptions, ExecSendsAnnounceExistingArtifactsOnlyWhenAsked) {
  p::command_execution_result_message done;
  done.results.push_back({"true", 0, std::string(), false});
  const std::vector<scripted_peer::step> one_exec = {
      scripted_peer::expect("command_execution_message"), scripted_peer::send(p::message{done}),
      scripted_peer::expect("end_session_message"),
      scripted_peer::send(p::message{p::end_session_confirm_message{}})};
  scripted_peer peer(std::vector<scripted_peer::connection>{{one_exec}, {one_exec}});
  EXPECT_EQ(
      run_cli({"exec", peer.url(), "--no-durable", "--no-announce-existing", "--", "true"}).code,
      0);
  EXPECT_EQ(run_cli({"exec", peer.url(), "--no-durable", "--", "true"}).code, 0);
  const auto frames = peer.received();
  std::vector<std::string> execs;
  for (const auto& f : frames)
    if (f.find("command_execution_message") != std::string::npos)
      execs.push_back(f);
  ASSERT_EQ(execs.size(), 2u);
  EXPECT_NE(execs[0].find(R"("announce_existing_artifacts":false)"), std::string::npos) << execs[0];
  EXPECT_EQ(execs[1].find("announce_existing_artifacts"), std::string::npos) << execs[1];
}

} // namespace
} // namespace agentrt::test

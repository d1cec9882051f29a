// The native openai loop's edit_file tool against the fake OpenAI server (a model that creates,
// edits, inserts into and views a file; and one that tries to leave the working directory),
// rate limits (429 with Retry-After) and the per-invocation token budget.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/openai_harness.hpp"
#include "harness_test_fixture.hpp"
#include "openai_test_helpers.hpp"
#include "support/fake_openai_server.hpp"

namespace {

namespace fs = std::filesystem;
namespace hs = agentrt::runtime::harness;
using agentrt::test::fake_chat_turn;
using agentrt::test::fake_openai_server;
using agentrt::test::harness_env;
using namespace std::chrono_literals;

hs::harness_config config_for(harness_env& env) {
  return agentrt::test::openai_config(env, 20, 2);
}

hs::invocation invocation_for(const fake_openai_server& server) {
  return agentrt::test::openai_invocation(server);
}

fake_chat_turn edit_call(const std::string& id, const std::string& args) {
  fake_chat_turn t;
  t.tool_calls.push_back({id, "edit_file", args});
  return t;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The tool_result events' outputs, in order.
std::vector<std::pair<std::string, bool>> tool_results(const agentrt::test::harness_record& rec) {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& [kind, data] : rec.events) {
    if (kind != "tool_result")
      continue;
    rapidjson::Document d;
    d.Parse(data.c_str());
    out.emplace_back(d["output"].GetString(), d["is_error"].GetBool());
  }
  return out;
}

TEST(HarnessOpenAiTools, AModelCreatesEditsInsertsAndViewsAFile) {
  harness_env env;
  fake_openai_server server;
  server.script({
      edit_call("c1", R"({"command":"create","path":"src/app.py","file_text":)"
                      R"("def main():\n    print(\"helo\")\n"})"),
      edit_call("c2", R"({"command":"str_replace","path":"src/app.py","old_str":"helo",)"
                      R"("new_str":"hello"})"),
      edit_call("c3", R"({"command":"insert","path":"src/app.py","insert_line":0,)"
                      R"("new_str":"import sys"})"),
      edit_call("c4", R"({"command":"view","path":")" + (env.dir / "src/app.py").string() +
                          R"(","view_range":[2,-1]})"),
      fake_chat_turn::say("edited"),
  });
  ::chmod(env.dir.c_str(), 0755);
  hs::openai_harness h(config_for(env));
  auto rec = env.run(h, invocation_for(server));
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : rec.logs_text());
  EXPECT_EQ(read(env.dir / "src/app.py"), "import sys\ndef main():\n    print(\"hello\")\n");
  const auto results = tool_results(rec);
  ASSERT_EQ(results.size(), 4u);
  for (const auto& [text, is_error] : results)
    EXPECT_FALSE(is_error) << text;
  EXPECT_EQ(results[0].first, "created src/app.py (30 bytes)");
  EXPECT_EQ(results[1].first, "edited src/app.py: replaced 1 occurrence at line 2");
  EXPECT_EQ(results[3].first, "     2\tdef main():\n     3\t    print(\"hello\")\n");
  // What the model read back went to the API as the tool message.
  const auto bodies = server.request_bodies();
  ASSERT_EQ(bodies.size(), 5u);
  EXPECT_NE(bodies[4].find(R"("tool_call_id":"c4","content":"     2\tdef main():)"),
            std::string::npos)
      << bodies[4];
  EXPECT_NE(bodies[0].find(R"("name":"edit_file")"), std::string::npos);
  EXPECT_NE(bodies[0].find(R"("name":"shell")"), std::string::npos);
  // No temporary file is left beside the target.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(env.dir / "src"))
    ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(HarnessOpenAiTools, EditsStayInsideTheWorkingDirectory) {
  harness_env env;
  const fs::path outside =
      fs::temp_directory_path() / ("agentrt-edit-outside-" + std::to_string(::getpid()));
  fs::create_directories(outside);
  std::ofstream(outside / "secret.txt") << "secret\n";
  fs::create_directory_symlink(outside, env.dir / "link");
  fs::create_symlink(outside / "secret.txt", env.dir / "alias.txt");
  ASSERT_EQ(::mkfifo((env.dir / "pipe").c_str(), 0644), 0);
  std::ofstream(env.dir / "dup.txt") << "x\nx\n";
  fake_openai_server server;
  server.script({
      edit_call("a", R"({"command":"create","path":"../escape.txt","file_text":"x"})"),
      edit_call("b", R"({"command":"create","path":"/etc/agentrt-edit-test","file_text":"x"})"),
      edit_call("c", R"({"command":"create","path":"link/new.txt","file_text":"x"})"),
      edit_call("d", R"({"command":"str_replace","path":"alias.txt","old_str":"secret",)"
                     R"("new_str":"gone"})"),
      edit_call("e", R"({"command":"create","path":"alias.txt","file_text":"replaced"})"),
      edit_call("f", R"({"command":"view","path":"pipe"})"),
      edit_call("g", R"({"command":"str_replace","path":"dup.txt","old_str":"x","new_str":"y"})"),
      edit_call("h", R"({"command":"view","path":"link/secret.txt"})"),
      fake_chat_turn::say("gave up"),
  });
  hs::openai_harness h(config_for(env));
  const auto t0 = std::chrono::steady_clock::now();
  auto rec = env.run(h, invocation_for(server));
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : rec.logs_text());
  const auto results = tool_results(rec);
  ASSERT_EQ(results.size(), 8u);
  for (const auto& [text, is_error] : results)
    EXPECT_TRUE(is_error) << text;
  EXPECT_EQ(results[0].first, "\"..\" is not allowed in \"path\"");
  EXPECT_NE(results[1].first.find("is outside the working directory"), std::string::npos);
  EXPECT_NE(results[2].first.find("link is a symbolic link"), std::string::npos)
      << results[2].first;
  EXPECT_NE(results[3].first.find("symbolic link"), std::string::npos) << results[3].first;
  EXPECT_NE(results[4].first.find("alias.txt is a symbolic link"), std::string::npos)
      << results[4].first;
  EXPECT_NE(results[5].first.find("FIFO"), std::string::npos) << results[5].first;
  EXPECT_EQ(results[6].first,
            "old_str occurs 2 times in dup.txt; include more of the surrounding text to make it "
            "unique");
  EXPECT_NE(results[7].first.find("symbolic link"), std::string::npos) << results[7].first;
  EXPECT_EQ(read(outside / "secret.txt"), "secret\n");
  EXPECT_FALSE(fs::exists(outside / "new.txt"));
  EXPECT_FALSE(fs::exists(env.dir.parent_path() / "escape.txt"));
  EXPECT_FALSE(fs::exists("/etc/agentrt-edit-test"));
  EXPECT_TRUE(fs::is_symlink(env.dir / "alias.txt"));
  EXPECT_EQ(read(env.dir / "dup.txt"), "x\nx\n");
  std::printf("[ figures  ] openai edit_file: 8 refused calls (one a FIFO) in %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - t0)
                                         .count()));
  fs::remove_all(outside);
}

TEST(HarnessOpenAiTools, RateLimitsAreRetriedAfterTheServersRetryAfter) {
  harness_env env;
  fake_openai_server server;
  auto limited = fake_chat_turn::error(429, "Rate limit reached");
  limited.retry_after = "1";
  server.script({limited, limited, fake_chat_turn::say("after the limit")});
  hs::openai_harness h(config_for(env));
  const auto t0 = std::chrono::steady_clock::now();
  auto rec = env.run(h, invocation_for(server));
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : rec.logs_text());
  EXPECT_EQ(rec.outcome->data.text, "after the limit");
  EXPECT_EQ(server.request_count(), 3u);
  // Two Retry-After: 1 waits; the backoff alone (250 ms, 500 ms) would have been shorter.
  EXPECT_GE(waited, 1900ms);
  std::printf("[ figures  ] openai: two 429s with Retry-After 1 s answered after %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()));
}

TEST(HarnessOpenAiTools, RateLimitsThatOutlastTheRetriesFailWithTheServersWords) {
  for (const std::string retry_after : {"", "3600"}) {
    harness_env env;
    fake_openai_server server;
    auto limited = fake_chat_turn::error(429, "Rate limit reached");
    limited.retry_after = retry_after;
    server.script({limited});
    auto cfg = config_for(env);
    cfg.openai_max_retries = 1;
    hs::openai_harness h(cfg);
    auto rec = env.run(h, invocation_for(server));
    ASSERT_TRUE(rec.outcome);
    EXPECT_FALSE(rec.outcome->ok());
    if (retry_after.empty()) {
      EXPECT_EQ(rec.outcome->error.text, "openai API error (HTTP 429): Rate limit reached, after 2 "
                                         "attempts");
      EXPECT_EQ(server.request_count(), 2u);
    } else {
      // Not worth holding the invocation for an hour: it fails at once and says why.
      EXPECT_EQ(rec.outcome->error.text, "openai API error (HTTP 429): Rate limit reached (the "
                                         "server asked to retry after 3600 s)");
      EXPECT_EQ(server.request_count(), 1u);
    }
  }
}

TEST(HarnessOpenAiTools, TheTokenBudgetStopsAnInvocation) {
  harness_env env;
  fake_openai_server server;
  // Every fake turn reports 11 prompt + 7 completion tokens.
  server.script({fake_chat_turn::shell("s1", "true"), fake_chat_turn::shell("s2", "true"),
                 fake_chat_turn::say("never reached")});
  auto cfg = config_for(env);
  cfg.openai_token_budget = 30;
  hs::openai_harness h(cfg);
  auto rec = env.run(h, invocation_for(server));
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "openai: token budget of 30 tokens used up after 2 turns (36 "
                                     "used) before a final answer (--openai-token-budget)");
  EXPECT_EQ(server.request_count(), 2u);
}

// ---- per-invocation harness_settings -----------------------------------------------------------

TEST(HarnessOpenAiTools, AnInvocationsTokenBudgetReplacesTheRuntimes) {
  harness_env env;
  fake_openai_server server;
  server.script({fake_chat_turn::shell("s1", "true"), fake_chat_turn::shell("s2", "true"),
                 fake_chat_turn::say("never reached")});
  auto cfg = config_for(env); // no --openai-token-budget
  hs::openai_harness h(cfg);
  auto inv = invocation_for(server);
  inv.settings.token_budget = 30;
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "openai: token budget of 30 tokens used up after 2 turns (36 "
                                     "used) before a final answer (harness_settings.token_budget)");
  EXPECT_EQ(server.request_count(), 2u);

  // The next invocation on the same harness has no budget again.
  fake_openai_server second;
  second.script({fake_chat_turn::shell("s1", "true"), fake_chat_turn::shell("s2", "true"),
                 fake_chat_turn::say("done")});
  auto plain = env.run(h, invocation_for(second));
  ASSERT_TRUE(plain.outcome);
  EXPECT_TRUE(plain.outcome->ok()) << plain.outcome->error.text;
  EXPECT_EQ(second.request_count(), 3u);
}

TEST(HarnessOpenAiTools, AnInvocationsMaxTurnsReplacesTheRuntimes) {
  harness_env env;
  fake_openai_server server;
  server.script({fake_chat_turn::shell("s1", "true"), fake_chat_turn::shell("s2", "true"),
                 fake_chat_turn::say("never reached")});
  hs::openai_harness h(config_for(env)); // --max-turns 20
  auto inv = invocation_for(server);
  inv.settings.max_turns = 1;
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "openai: turn limit reached (1 turns) before a final answer");
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(HarnessOpenAiTools, AnInvocationsTimeoutReplacesTheRuntimes) {
  harness_env env;
  fake_openai_server server;
  server.script({fake_chat_turn::shell("s1", "sleep 30"), fake_chat_turn::say("never reached")});
  auto cfg = config_for(env);
  cfg.timeout = 120s;
  hs::openai_harness h(cfg);
  auto inv = invocation_for(server);
  inv.settings.timeout_s = 0.4;
  const auto started = std::chrono::steady_clock::now();
  auto rec = env.run(h, inv, 30s);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "openai timed out after 0.4 s");
  EXPECT_LT(took, 20s);
  std::printf("[ figures  ] timeout_s=0.4 ended the run after %.2f s\n",
              std::chrono::duration<double>(took).count());
}

TEST(HarnessOpenAiTools, SettingsTheLoopCannotHonourFailBeforeAnyRequest) {
  harness_env env;
  fake_openai_server server;
  server.script({fake_chat_turn::say("never reached")});
  hs::openai_harness h(config_for(env));
  for (const char* which :
       {"permission_mode", "allowed_tools", "max_budget_usd", "mcp_servers", "extra_args"}) {
    auto inv = invocation_for(server);
    const std::string w = which;
    if (w == "permission_mode")
      inv.settings.permission_mode = "plan";
    if (w == "allowed_tools")
      inv.settings.allowed_tools = std::vector<std::string>{"shell"};
    if (w == "max_budget_usd")
      inv.settings.max_budget_usd = 1.5;
    if (w == "mcp_servers")
      inv.settings.mcp_servers = agentrt::protocol::json_text{"{}"};
    if (w == "extra_args")
      inv.settings.extra_args = std::vector<std::string>{"--x"};
    auto rec = env.run(h, inv);
    ASSERT_TRUE(rec.outcome);
    EXPECT_FALSE(rec.outcome->ok());
    EXPECT_EQ(rec.outcome->error.text, "agent \"openai\" cannot honour harness_settings." + w +
                                           " (it supports: max_turns, timeout_s, token_budget)");
  }
  EXPECT_EQ(server.request_count(), 0u);
}

} // namespace

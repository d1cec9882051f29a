// The native openai loop against a fake OpenAI-compatible SSE server: text, a real shell tool
// call, structured output, API errors, cancel mid-run, the turn limit, resume, many concurrent
// invocations whose model never answers, userinfo in the base URL; plus the SSE accumulator on
// its own.
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "harness/openai_harness.hpp"
#include "harness_test_fixture.hpp"
#include "openai_test_helpers.hpp"
#include "support/fake_openai_server.hpp"

namespace {

namespace hs = agentrt::runtime::harness;
using agentrt::test::fake_chat_turn;
using agentrt::test::fake_openai_server;
using agentrt::test::harness_env;
using namespace std::chrono_literals;

hs::harness_config config_for(harness_env& env) {
  return agentrt::test::openai_config(env, 5, 0);
}

hs::invocation invocation_for(const fake_openai_server& server) {
  return agentrt::test::openai_invocation(server);
}

TEST(HarnessOpenAiStream, AccumulatesDeltasToolCallsAndUsage) {
  fake_chat_turn turn = fake_chat_turn::say("Hello, streaming world!");
  turn.tool_calls.push_back({"call_1", "shell", R"({"command":"echo hi"})"});
  const std::string body = agentrt::test::chat_sse_body(turn);
  hs::chat_stream s;
  // Byte-by-byte feeding must give the same result as one chunk.
  for (char c : body)
    s.write(std::string_view(&c, 1));
  EXPECT_TRUE(s.done());
  EXPECT_EQ(s.content, "Hello, streaming world!");
  ASSERT_EQ(s.tool_calls.size(), 1u);
  EXPECT_EQ(s.tool_calls[0].id, "call_1");
  EXPECT_EQ(s.tool_calls[0].name, "shell");
  EXPECT_EQ(s.tool_calls[0].arguments, R"({"command":"echo hi"})");
  EXPECT_EQ(s.finish_reason, "tool_calls");
  EXPECT_EQ(s.prompt_tokens, 11);
  EXPECT_EQ(s.completion_tokens, 7);
}

TEST(HarnessOpenAi, TextAnswer) {
  harness_env env;
  fake_openai_server server;
  server.script({fake_chat_turn::say("The answer is 42.")});
  hs::openai_harness h(config_for(env));
  auto rec = env.run(h, invocation_for(server));
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  ASSERT_TRUE(rec.outcome->ok()) << rec.outcome->error.text;
  EXPECT_EQ(rec.outcome->data.text, "The answer is 42.");
  EXPECT_EQ(rec.assistants, (std::vector<std::vector<std::string>>{{"The answer is 42."}}));
  EXPECT_NE(rec.outcome->metadata_json.find(R"("session_id":"openai-)"), std::string::npos);
  EXPECT_NE(rec.outcome->metadata_json.find(R"("usage":{"input_tokens":11,"output_tokens":7})"),
            std::string::npos)
      << rec.outcome->metadata_json;
  ASSERT_EQ(server.request_count(), 1u);
  const auto body = server.request_bodies().at(0);
  EXPECT_NE(body.find(R"("model":"fake-model")"), std::string::npos);
  EXPECT_NE(body.find(R"({"role":"system","content":"You are terse."})"), std::string::npos);
  EXPECT_NE(body.find(R"("stream":true)"), std::string::npos);
  const auto reqs = server.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs[0].headers.at("authorization"), "Bearer sk-test");
}

TEST(HarnessOpenAi, ShellToolRunsARealCommand) {
  harness_env env;
  fake_openai_server server;
  server.script(
      {fake_chat_turn::shell("call_a", "echo tool-ran > marker.txt; echo from-shell; exit 3"),
       fake_chat_turn::say("done")});
  hs::openai_harness h(config_for(env));
  auto rec = env.run(h, invocation_for(server));
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : rec.logs_text());
  EXPECT_TRUE(std::filesystem::exists(env.dir / "marker.txt"));
  ASSERT_EQ(server.request_count(), 2u);
  const auto second = server.request_bodies().at(1);
  EXPECT_NE(second.find(R"("tool_calls":[{"id":"call_a","type":"function")"), std::string::npos)
      << second;
  EXPECT_NE(second.find(
                R"({"role":"tool","tool_call_id":"call_a","content":"from-shell\n[exit code 3]"})"),
            std::string::npos)
      << second;
  std::vector<std::string> kinds;
  for (const auto& e : rec.events)
    kinds.push_back(e.first);
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"session", "usage", "tool_use", "tool_result", "usage"}));
  EXPECT_NE(rec.events[2].second.find(R"("name":"shell","input":{"command":)"), std::string::npos);
  EXPECT_NE(rec.events[3].second.find(R"("is_error":true,"exit_code":3)"), std::string::npos)
      << rec.events[3].second;
  EXPECT_NE(rec.outcome->metadata_json.find(R"("num_turns":2)"), std::string::npos);
}

TEST(HarnessOpenAi, StructuredOutputUsesResponseFormatAndValidates) {
  harness_env env;
  fake_openai_server server;
  server.script({fake_chat_turn::say(R"({"city":"Paris","population":2100000})")});
  hs::openai_harness h(config_for(env));
  auto inv = invocation_for(server);
  inv.output_schema_json =
      R"({"type":"json_schema","schema":{"type":"object","properties":{"city":{"type":"string"},"population":{"type":"integer"}},"required":["city"]}})";
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok()) << (rec.outcome ? rec.outcome->error.text : "");
  EXPECT_EQ(rec.outcome->data.type, agentrt::protocol::result_data::kind::structured_output);
  EXPECT_EQ(rec.outcome->data.structured_output.json, R"({"city":"Paris","population":2100000})");
  EXPECT_NE(
      server.request_bodies().at(0).find(
          R"("response_format":{"type":"json_schema","json_schema":{"name":"structured_output","schema":{"type":"object")"),
      std::string::npos);
}

TEST(HarnessOpenAi, StructuredOutputMismatchIsAnError) {
  harness_env env;
  fake_openai_server server;
  server.script({fake_chat_turn::say(R"({"city":7})")});
  hs::openai_harness h(config_for(env));
  auto inv = invocation_for(server);
  inv.output_schema_json =
      R"({"type":"json_schema","schema":{"type":"object","properties":{"city":{"type":"string"}}}})";
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_NE(rec.outcome->error.text.find("/city fails \"type\""), std::string::npos)
      << rec.outcome->error.text;
}

TEST(HarnessOpenAi, ApiErrorsQuoteTheServer) {
  for (int status : {401, 500}) {
    harness_env env;
    fake_openai_server server;
    server.script({fake_chat_turn::error(status, "Incorrect API key provided")});
    hs::openai_harness h(config_for(env));
    auto rec = env.run(h, invocation_for(server));
    ASSERT_TRUE(rec.outcome);
    EXPECT_FALSE(rec.outcome->ok());
    EXPECT_EQ(rec.outcome->error.text,
              "openai API error (HTTP " + std::to_string(status) + "): Incorrect API key provided");
    EXPECT_NE(rec.outcome->error_metadata_json.find("\"http_status\":" + std::to_string(status)),
              std::string::npos);
  }
}

TEST(HarnessOpenAi, RefusedConnectionIsAnError) {
  harness_env env;
  hs::openai_harness h(config_for(env));
  hs::invocation inv;
  inv.user_prompt = "hi";
  inv.agent_env = {{"OPENAI_BASE_URL", "http://127.0.0.1:1/v1"}};
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text.rfind(
                "openai request to http://127.0.0.1:1/v1/chat/completions failed: ", 0),
            0u)
      << rec.outcome->error.text;
}

TEST(HarnessOpenAi, TurnLimit) {
  harness_env env;
  fake_openai_server server;
  server.script({fake_chat_turn::shell("call_loop", "true")}); // forever
  auto cfg = config_for(env);
  cfg.max_turns = 3;
  hs::openai_harness h(cfg);
  auto rec = env.run(h, invocation_for(server));
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "openai: turn limit reached (3 turns) before a final answer");
  EXPECT_EQ(server.request_count(), 3u);
}

TEST(HarnessOpenAi, CancelDuringToolCallKillsIt) {
  harness_env env;
  fake_openai_server server;
  server.script({fake_chat_turn::shell("call_s", "echo started > started.txt; sleep 300"),
                 fake_chat_turn::say("never")});
  hs::openai_harness h(config_for(env));
  bool scope_empty = false;
  auto rec = env.run_and_cancel(
      h, invocation_for(server),
      [&](const auto&) { return std::filesystem::exists(env.dir / "started.txt"); }, scope_empty);
  EXPECT_TRUE(scope_empty);
  EXPECT_EQ(rec.done_calls, 0);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(HarnessOpenAi, CancelDuringHungRequest) {
  harness_env env;
  fake_openai_server server;
  fake_chat_turn hang;
  hang.hang = true;
  server.script({hang});
  hs::openai_harness h(config_for(env));
  bool scope_empty = false;
  const auto t0 = std::chrono::steady_clock::now();
  auto rec = env.run_and_cancel(
      h, invocation_for(server), [&](const auto&) { return server.request_count() > 0; },
      scope_empty);
  EXPECT_EQ(rec.done_calls, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(HarnessOpenAi, HangPastTimeout) {
  harness_env env;
  fake_openai_server server;
  fake_chat_turn hang;
  hang.hang = true;
  server.script({hang});
  auto cfg = config_for(env);
  cfg.timeout = 300ms;
  hs::openai_harness h(cfg);
  auto rec = env.run(h, invocation_for(server));
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "openai timed out after 0.3 s");
}

TEST(HarnessOpenAi, ResumeContinuesTheConversation) {
  harness_env env;
  fake_openai_server server;
  server.script({fake_chat_turn::say("first answer"), fake_chat_turn::say("second answer")});
  hs::openai_harness h(config_for(env));
  auto first = env.run(h, invocation_for(server));
  ASSERT_TRUE(first.outcome && first.outcome->ok());
  const auto& meta = first.outcome->metadata_json;
  const auto at = meta.find("\"session_id\":\"") + 14;
  const std::string session = meta.substr(at, meta.find('"', at) - at);

  auto inv = invocation_for(server);
  inv.user_prompt = "and then?";
  inv.resume_session_id = session;
  auto second = env.run(h, inv);
  ASSERT_TRUE(second.outcome && second.outcome->ok()) << second.outcome->error.text;
  EXPECT_NE(second.outcome->metadata_json.find(session), std::string::npos);
  const auto body = server.request_bodies().at(1);
  EXPECT_NE(
      body.find(
          R"({"role":"assistant","content":"first answer"},{"role":"user","content":"and then?"})"),
      std::string::npos)
      << body;

  inv.resume_session_id = "openai-unknown";
  auto third = env.run(h, inv);
  ASSERT_TRUE(third.outcome);
  EXPECT_FALSE(third.outcome->ok());
  EXPECT_NE(third.outcome->error.text.find("no stored session"), std::string::npos);
}

// Five invocations whose model thinks forever, then a sixth: on a pool of four request threads
// the fifth request was never even sent. Every one must be under way at once.
TEST(HarnessOpenAi, ManyConcurrentInvocationsAllProgress) {
  constexpr std::size_t hanging = 5;
  harness_env env;
  fake_openai_server server;
  fake_chat_turn hang;
  hang.hang = true;
  std::vector<fake_chat_turn> script(hanging, hang);
  script.push_back(fake_chat_turn::say("the sixth answers"));
  server.script(script);
  hs::openai_harness h(config_for(env));
  std::vector<agentrt::test::harness_record> records(hanging + 1);
  std::vector<std::shared_ptr<hs::harness_run>> runs;
  auto start = [&](std::size_t i) {
    runs.push_back(h.start(env.io, env.reaper, *env.scope, invocation_for(server),
                           agentrt::test::recording_callbacks(records[i]),
                           [&records, i](hs::harness_outcome o) {
                             ++records[i].done_calls;
                             records[i].outcome = std::move(o);
                           }));
  };
  for (std::size_t i = 0; i < hanging; ++i)
    start(i);
  EXPECT_TRUE(env.run_until([&] { return server.request_count() == hanging; }, 10s))
      << "only " << server.request_count() << " of " << hanging << " requests were sent";
  const auto t0 = std::chrono::steady_clock::now();
  start(hanging);
  const bool answered = env.run_until([&] { return records[hanging].done_calls > 0; }, 10s);
  const auto waited =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  EXPECT_TRUE(answered) << "the sixth invocation never finished";
  if (answered) {
    EXPECT_TRUE(records[hanging].outcome->ok()) << records[hanging].outcome->error.text;
    EXPECT_EQ(records[hanging].outcome->data.text, "the sixth answers");
  }
  for (std::size_t i = 0; i < hanging; ++i)
    EXPECT_EQ(records[i].done_calls, 0);
  std::printf(
      "[ figures  ] openai: a sixth invocation behind %zu silent ones answered in %lld ms\n",
      hanging, static_cast<long long>(waited.count()));
  for (auto& run : runs)
    run->cancel();
  env.run_until([] { return false; }, 200ms);
  for (std::size_t i = 0; i < hanging; ++i)
    EXPECT_EQ(records[i].done_calls, 0);
}

TEST(HarnessOpenAi, UserinfoInTheBaseUrlIsNeverShown) {
  harness_env env;
  hs::openai_harness h(config_for(env));
  hs::invocation inv;
  inv.user_prompt = "hi";
  // Port 1: the connection is refused, so the error names the URL.
  inv.agent_env = {{"OPENAI_BASE_URL", "http://me:base-url-secret@127.0.0.1:1/v1"}};
  const auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome && !rec.outcome->ok());
  EXPECT_EQ(
      rec.outcome->error.text.rfind("openai request to http://***@127.0.0.1:1/v1/chat/completions "
                                    "failed: ",
                                    0),
      0u)
      << rec.outcome->error.text;
  EXPECT_EQ(rec.outcome->error_metadata_json.find("base-url-secret"), std::string::npos)
      << rec.outcome->error_metadata_json;
}

} // namespace

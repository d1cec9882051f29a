// The custom handler protocol against real handler scripts: results, structured output,
// assistant order, error lines, failing and garbage-printing handlers, timeout and cancel, and
// the error code beside each failure's text.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "harness/handler_harness.hpp"
#include "harness_test_fixture.hpp"

namespace {

namespace hs = agentrt::runtime::harness;
using agentrt::test::harness_env;
using namespace std::chrono_literals;

hs::invocation basic_invocation() {
  hs::invocation inv;
  inv.system_prompt = "be brief";
  inv.user_prompt = "say hi";
  inv.model = "test-model";
  inv.source_id = "src-1";
  return inv;
}

hs::handler_harness make_handler(harness_env& env, const std::string& script,
                                 std::chrono::milliseconds timeout = 0ms) {
  hs::harness_config cfg;
  cfg.workdir = env.dir.string();
  cfg.timeout = timeout;
  cfg.kill_grace = 500ms;
  return hs::handler_harness(cfg, env.write_script("handler", script));
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(HarnessHandler, TextResultAndStdinLine) {
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
cat > stdin.json
printf '%s\n' '{"type":"result","data":{"type":"text","text":"hello there"},"metadata":{"session_id":"s-1","num_turns":1}}'
)SH");
  auto inv = basic_invocation();
  inv.agent_env = {{"FOO", "bar"}};
  inv.secrets = {"hunter2"};
  inv.output_schema_json.reset();
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  ASSERT_TRUE(rec.outcome->ok()) << rec.outcome->error.text;
  EXPECT_EQ(rec.done_calls, 1);
  EXPECT_EQ(rec.outcome->data.type, agentrt::protocol::result_data::kind::text);
  EXPECT_EQ(rec.outcome->data.text, "hello there");
  EXPECT_EQ(rec.outcome->metadata_json, R"({"session_id":"s-1","num_turns":1})");
  EXPECT_EQ(read_file(env.dir / "stdin.json"),
            R"({"system_prompt":"be brief","user_prompt":"say hi","model":"test-model",)"
            R"("output_format":null,"env":{"FOO":"bar"},"secrets":["hunter2"],"source_id":"src-1"})"
            "\n");
}

TEST(HarnessHandler, EnvironmentAndWorkdir) {
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
printf '{"type":"result","data":{"type":"text","text":"%s %s"}}\n' "$FOO" "$(pwd)"
)SH");
  auto inv = basic_invocation();
  inv.agent_env = {{"FOO", "from-agent-env"}};
  inv.workdir = (env.dir / "work").string();
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok()) << rec.logs_text();
  EXPECT_EQ(rec.outcome->data.text, "from-agent-env " + (env.dir / "work").string());
}

TEST(HarnessHandler, StructuredOutputValidated) {
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
read line
case "$line" in
  *'"output_format":{"type":"json_schema"'*) ;;
  *) echo "no output_format in $line" >&2; exit 3 ;;
esac
printf '%s\n' '{"type":"result","data":{"type":"structured_output","structured_output":{"name":"x","tags":["a",{"b":[1,2.5,null]}]}},"metadata":{}}'
)SH");
  auto inv = basic_invocation();
  inv.output_schema_json =
      R"({"type":"json_schema","schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}})";
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome) << rec.logs_text();
  ASSERT_TRUE(rec.outcome->ok()) << rec.outcome->error.text;
  EXPECT_EQ(rec.outcome->data.type, agentrt::protocol::result_data::kind::structured_output);
  EXPECT_EQ(rec.outcome->data.structured_output.json,
            R"({"name":"x","tags":["a",{"b":[1,2.5,null]}]})");
}

TEST(HarnessHandler, StructuredOutputMismatchQuotesValidationError) {
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
printf '%s\n' '{"type":"result","data":{"type":"structured_output","structured_output":{"name":42}}}'
)SH");
  auto inv = basic_invocation();
  inv.output_schema_json =
      R"({"type":"json_schema","schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}})";
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_NE(rec.outcome->error.text.find("does not match the schema: /name fails \"type\""),
            std::string::npos)
      << rec.outcome->error.text;
}

TEST(HarnessHandler, AssistantMessagesInOrderAndEvents) {
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
for i in 1 2 3 4 5; do
  printf '{"type":"assistant","text_blocks":["msg %s","second block"]}\n' "$i"
done
printf '%s\n' '{"type":"agent_event","event":"tool_use","data":{"id":"t1","name":"shell","input":{"command":"ls"}}}'
printf '%s\n' '{"type":"agent_event","event":"bogus","data":{}}'
printf '%s\n' '{"type":"result","data":{"type":"text","text":"done"}}'
)SH");
  auto inv = basic_invocation();
  inv.agent_events = true;
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok()) << rec.logs_text();
  ASSERT_EQ(rec.assistants.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(rec.assistants[i],
              (std::vector<std::string>{"msg " + std::to_string(i + 1), "second block"}));
  }
  ASSERT_EQ(rec.events.size(), 1u);
  EXPECT_EQ(rec.events[0].first, "tool_use");
  EXPECT_EQ(rec.events[0].second, R"({"id":"t1","name":"shell","input":{"command":"ls"}})");
}

TEST(HarnessHandler, EventsNotDeliveredWithoutCapability) {
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
printf '%s\n' '{"type":"agent_event","event":"usage","data":{"input_tokens":1}}'
printf '%s\n' '{"type":"result","data":{"type":"text","text":"done"}}'
)SH");
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome && rec.outcome->ok());
  EXPECT_TRUE(rec.events.empty());
}

TEST(HarnessHandler, ErrorLineBecomesTheError) {
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
printf '%s\n' '{"type":"assistant","text_blocks":["trying"]}'
printf '%s\n' '{"type":"error","error":"model refused: quota exceeded","metadata":{"code":429}}'
exit 1
)SH");
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "model refused: quota exceeded");
  EXPECT_EQ(rec.outcome->error_metadata_json, R"({"code":429})");
  EXPECT_EQ(rec.assistants.size(), 1u);
}

TEST(HarnessHandler, ErrorLineWithoutResultAndExitZeroIsAnError) {
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
printf '%s\n' '{"type":"error","error":"gave up"}'
)SH");
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "gave up");
}

TEST(HarnessHandler, NonZeroExitWithoutResultReportsStatusAndStderrTail) {
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
for i in $(seq 1 40); do echo "noise $i" >&2; done
echo "fatal: could not reach the model" >&2
exit 7
)SH");
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text.rfind("handler exited with status 7: ", 0), 0u)
      << rec.outcome->error.text;
  EXPECT_NE(rec.outcome->error.text.find("fatal: could not reach the model"), std::string::npos);
  EXPECT_EQ(rec.outcome->error.text.find("noise 1\n"), std::string::npos)
      << "only the tail is kept";
  EXPECT_NE(rec.outcome->error_metadata_json.find(R"("exit_code":7)"), std::string::npos);
  EXPECT_NE(rec.logs_text().find("handler: noise 1"), std::string::npos) << "stderr is logged";
}

TEST(HarnessHandler, ResultThenNonZeroExitIsAnError) {
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
printf '%s\n' '{"type":"result","data":{"type":"text","text":"done"}}'
exit 2
)SH");
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "handler exited with status 2");
}

TEST(HarnessHandler, GarbageLinesIgnored) {
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
echo 'this is not json'
echo '{"no_type":true}'
echo '[1,2,3]'
printf '\377\376 invalid utf8\n'
printf '%s\n' '{"type":"assistant","text_blocks":["ok"]}'
printf '%s' '{"type":"result","data":{"type":"text","text":"final without newline"}}'
)SH");
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  ASSERT_TRUE(rec.outcome->ok()) << rec.outcome->error.text;
  EXPECT_EQ(rec.outcome->data.text, "final without newline");
  EXPECT_EQ(rec.assistants.size(), 1u);
  EXPECT_NE(rec.logs_text().find("ignored output line: this is not json"), std::string::npos);
}

TEST(HarnessHandler, DeeplyNestedLineIsIgnoredNotAStackOverflow) {
  // One line of a million '[' used to overflow RapidJSON's recursive parser and kill the
  // runtime; it is now refused as "not an event" before parsing.
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
head -c 1000000 /dev/zero | tr '\0' '['
echo
printf '%s\n' '{"type":"result","data":{"type":"text","text":"survived"}}'
)SH");
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  ASSERT_TRUE(rec.outcome->ok()) << rec.outcome->error.text;
  EXPECT_EQ(rec.outcome->data.text, "survived");
  EXPECT_NE(rec.logs_text().find("ignored output line: [[[["), std::string::npos);
}

TEST(HarnessHandler, OnlyGarbageIsAnError) {
  harness_env env;
  auto h = make_handler(env, "#!/bin/sh\necho garbage\n");
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "handler exited without a result line");
  EXPECT_NE(rec.outcome->error_metadata_json.find(R"("ignored_lines":1)"), std::string::npos);
}

TEST(HarnessHandler, OverlongLineIsAnErrorNotAnOom) {
  harness_env env;
  hs::harness_config cfg;
  cfg.workdir = env.dir.string();
  cfg.kill_grace = 200ms;
  // A never-ending line; the run must end with an error once the cap is passed.
  auto h = hs::handler_harness(
      cfg, env.write_script("handler", "#!/bin/sh\nexec tr -d '\\n' < /dev/zero\n"));
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_NE(rec.outcome->error.text.find("printed an output line longer than 16777216 bytes"),
            std::string::npos)
      << rec.outcome->error.text;
}

TEST(HarnessHandler, HangPastTimeoutIsAnError) {
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
echo "starting up" >&2
sleep 300
)SH",
                        300ms);
  const auto t0 = std::chrono::steady_clock::now();
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.text, "handler timed out after 0.3 s: starting up");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(HarnessHandler, CancelLeavesNoProcessAndNoCallback) {
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
sleep 300 &
printf '%s\n' '{"type":"assistant","text_blocks":["working"]}'
trap '' TERM
while true; do sleep 1; done
)SH");
  bool scope_empty = false;
  auto rec = env.run_and_cancel(
      h, basic_invocation(), [](const auto& r) { return !r.assistants.empty(); }, scope_empty);
  EXPECT_EQ(rec.assistants.size(), 1u);
  EXPECT_TRUE(scope_empty);
  EXPECT_EQ(rec.done_calls, 0);
}

TEST(HarnessHandler, MissingExecutableIsAnError) {
  harness_env env;
  hs::harness_config cfg;
  hs::handler_harness h(cfg, (env.dir / "does-not-exist").string());
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_NE(rec.outcome->error.text.find("failed to start handler"), std::string::npos)
      << rec.outcome->error.text;
}

TEST(HarnessHandler, BadSchemaFailsBeforeStarting) {
  harness_env env;
  auto h = make_handler(env, "#!/bin/sh\ntouch started\n");
  auto inv = basic_invocation();
  inv.output_schema_json = R"({"type":"json_schema"})";
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_NE(rec.outcome->error.text.find("\"schema\" must be an object"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(env.dir / "started"));
}

// The code beside each failure's text: what a caller branches on.
TEST(HarnessHandlerCodes, AnAnswerIsOkWithNoCode) {
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
printf '%s\n' '{"type":"result","data":{"type":"text","text":"hi"}}'
)SH");
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  EXPECT_TRUE(rec.outcome->ok());
  EXPECT_FALSE(rec.outcome->error);
}

TEST(HarnessHandlerCodes, HandlerErrorIsAgentFailedWithItsTextAsSent) {
  harness_env env;
  // An empty error text stays empty: the session sends what the handler said.
  auto h = make_handler(env, R"SH(#!/bin/sh
printf '%s\n' '{"type":"error","error":""}'
)SH");
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  EXPECT_FALSE(rec.outcome->ok());
  EXPECT_EQ(rec.outcome->error.code, hs::harness_errc::agent_failed);
  EXPECT_EQ(rec.outcome->error.text, "");
}

TEST(HarnessHandlerCodes, ExitWithoutAnswerIsAgentExited) {
  harness_env env;
  auto h = make_handler(env, "#!/bin/sh\nexit 7\n");
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  EXPECT_EQ(rec.outcome->error.code, hs::harness_errc::agent_exited);
  EXPECT_EQ(rec.outcome->error.text, "handler exited with status 7");

  auto clean = make_handler(env, "#!/bin/sh\nexit 0\n");
  rec = env.run(clean, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  EXPECT_EQ(rec.outcome->error.code, hs::harness_errc::agent_exited);
  EXPECT_EQ(rec.outcome->error.text, "handler exited without a result line");
}

TEST(HarnessHandlerCodes, SchemaMismatchIsOutputMismatch) {
  harness_env env;
  auto h = make_handler(env, R"SH(#!/bin/sh
printf '%s\n' '{"type":"result","data":{"type":"text","text":"no json here"}}'
)SH");
  auto inv = basic_invocation();
  inv.output_schema_json = R"({"type":"json_schema","schema":{"type":"object"}})";
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_EQ(rec.outcome->error.code, hs::harness_errc::output_mismatch);
  EXPECT_EQ(rec.outcome->error.text,
            "structured output requested but handler's answer contains no JSON object");
}

TEST(HarnessHandlerCodes, UnusableSchemaIsInvalidValueBeforeAnythingRuns) {
  harness_env env;
  auto h = make_handler(env, "#!/bin/sh\ntouch ran\n");
  auto inv = basic_invocation();
  inv.output_schema_json = "nope";
  auto rec = env.run(h, inv);
  ASSERT_TRUE(rec.outcome);
  EXPECT_EQ(rec.outcome->error.code, agentrt::protocol::errc::invalid_value);
  EXPECT_EQ(rec.outcome->error.text, "output_format_json_schema_str is not a JSON object");
  EXPECT_FALSE(std::filesystem::exists(env.dir / "ran"));
}

TEST(HarnessHandlerCodes, TimeoutIsTimedOut) {
  harness_env env;
  auto h = make_handler(env, "#!/bin/sh\nsleep 300\n", 200ms);
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  EXPECT_EQ(rec.outcome->error.code, agentrt::protocol::errc::timed_out);
  EXPECT_EQ(rec.outcome->error.text, "handler timed out after 0.2 s");
}

TEST(HarnessHandlerCodes, MissingProgramIsSpawnFailed) {
  harness_env env;
  hs::harness_config cfg;
  cfg.workdir = env.dir.string();
  hs::handler_harness h(cfg, (env.dir / "no-such-handler").string());
  auto rec = env.run(h, basic_invocation());
  ASSERT_TRUE(rec.outcome);
  EXPECT_EQ(rec.outcome->error.code, agentrt::protocol::errc::spawn_failed);
  EXPECT_EQ(rec.outcome->error.text.rfind("failed to start handler (", 0), 0u)
      << rec.outcome->error.text;
}

} // namespace

// Regression tests for what tests/fuzz found in the runtime (and what reviewing the decoded
// values the protocol fuzzer produces turned up). Each replays the finding and checks the
// behaviour the fix gives.
#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "agentrt/protocol/codec.hpp"
#include "harness/claude_harness.hpp"
#include "harness/openai_harness.hpp"
#include "harness/opencode_harness.hpp"
#include "support/protocol_helpers.hpp"
#include "support/runtime_process.hpp"
#include "support/ws_test_client.hpp"

namespace agentrt::test {
namespace {

namespace hs = agentrt::runtime::harness;
namespace p = agentrt::protocol;
using namespace std::chrono_literals;

// fuzz_harness_parsers: a usage count no int64 holds was cast from double (UBSan:
// "1e+300 is outside the range of representable values of type 'long'"). It is dropped now.
TEST(FuzzRegressions, ChatStreamIgnoresTokenCountsOutsideInt64) {
  hs::chat_stream s;
  s.write(
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1e300,\"completion_tokens\":-1e30}}\n\n");
  EXPECT_EQ(s.prompt_tokens, -1);
  EXPECT_EQ(s.completion_tokens, -1);
  s.write("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3.0}}\n\n");
  EXPECT_EQ(s.prompt_tokens, 12);
  EXPECT_EQ(s.completion_tokens, 3);
}

// fuzz_harness_parsers, crash-d4cb2e35: OpenCode's step_finish token counts were cast from
// double as well ("tokens":{"input":1e300}). Counts no int64 holds count as 0 now, and the
// sums over steps stop at the int64 maximum instead of overflowing; a cost summed past
// DBL_MAX is written as null instead of leaving a key without a value (invalid JSON).
TEST(FuzzRegressions, OpencodeTokenCountsAndCostStayInRange) {
  hs::opencode_parser parser(hs::event_sink{}, nullptr, "anthropic/m", "");
  const auto step = [](const std::string& tokens, const std::string& cost) {
    return R"({"type":"step_finish","sessionID":"ses_1","part":{"type":"step-finish","reason":"stop",)"
           R"("tokens":)" +
           tokens + R"(,"cost":)" + cost + "}}";
  };
  ASSERT_TRUE(
      parser.on_line(R"({"type":"text","sessionID":"ses_1","part":{"type":"text","text":"hi"}})"));
  ASSERT_TRUE(parser.on_line(step(R"({"input":1e300,"output":-5,"reasoning":9223372036854775807,)"
                                  R"("total":1.5,"cache":{"read":9e18,"write":-1e300}})",
                                  "1e308")));
  ASSERT_TRUE(parser.on_line(step(R"({"input":7,"output":2,"reasoning":9223372036854775807,)"
                                  R"("total":2,"cache":{"read":9e18,"write":0}})",
                                  "1e308")));
  const hs::harness_outcome out = parser.finish(hs::process_end{});
  ASSERT_TRUE(out.ok()) << out.error.text;
  rapidjson::Document meta;
  ASSERT_FALSE(meta.Parse(out.metadata_json.c_str()).HasParseError()) << out.metadata_json;
  EXPECT_NE(out.metadata_json.find(R"("total_cost_usd":null)"), std::string::npos)
      << out.metadata_json;
  for (const char* expected : {R"("input":7,"output":2,"reasoning":9223372036854775807,)",
                               R"("cache":{"read":9223372036854775807,"write":0},"total":3})"})
    EXPECT_NE(out.metadata_json.find(expected), std::string::npos)
        << expected << " in " << out.metadata_json;
}

// fuzz_harness_parsers / fuzz_protocol_decode: RapidJSON's full-precision parser read "0e40" as
// garbage (-2.4e229 with GCC), which reached the result metadata.
TEST(FuzzRegressions, ClaudeResultWithZeroExponentCostReportsZero) {
  hs::claude_parser parser(hs::event_sink{}, nullptr);
  ASSERT_TRUE(parser.on_line(
      R"({"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"s",)"
      R"("duration_ms":0E+50,"total_cost_usd":0e40})"));
  hs::process_end end;
  const hs::harness_outcome out = parser.finish(end);
  ASSERT_TRUE(out.ok()) << out.error.text;
  EXPECT_EQ(out.metadata_json,
            R"({"harness":"claude","session_id":"s","duration_ms":0.0,"total_cost_usd":0.0})");
}

// fuzz_protocol_decode, crash-014710d4: RapidJSON's full-precision parser read out of bounds
// for numbers below about 1e-330, so one frame crashed the runtime (SIGSEGV). Now such a
// number is 0, a number RapidJSON cannot parse safely is malformed JSON, and the session goes
// on.
TEST(FuzzRegressions, RuntimeSurvivesFramesWithHostileNumbers) {
  runtime_process rt;
  auto r = ws_test_client::connect(rt.url());
  ASSERT_TRUE(r.client) << r.error;
  r.client->send_text(R"({"message_type":"command_execution_message","commands":[)"
                      R"({"command":"echo alive","timeout_s":0.)" +
                      std::string(400, '0') + "1}]}");
  auto msgs = r.client->receive_until_terminal(30s);
  ASSERT_FALSE(msgs.empty()) << rt.log();
  const auto* res = as<p::command_execution_result_message>(msgs.back());
  ASSERT_NE(res, nullptr) << p::encode(msgs.back());
  ASSERT_EQ(res->results.size(), 1u);
  EXPECT_EQ(res->results[0].stdout_text.value_or(""), "alive\n");

  r.client->send_text(R"({"message_type":"cancel_message","x":0.0000000001e-2147483639})");
  const auto answer = r.client->receive(10s);
  ASSERT_TRUE(answer) << rt.log();
  const auto* e = as<p::error_message>(*answer);
  ASSERT_NE(e, nullptr) << p::encode(*answer);
  EXPECT_NE(e->error.find("malformed JSON"), std::string::npos) << e->error;
  EXPECT_TRUE(rt.running());
}

// Found while checking what the decoder lets through: timeout_s is any finite double, and
// timeout_s * 1000 ms overflowed the timer's nanoseconds (undefined behaviour). 1e10 s wrapped
// to a negative duration, so the command was killed at once as timed out.
TEST(FuzzRegressions, HugeTimeoutMeansNoTimeout) {
  runtime_process rt;
  auto r = ws_test_client::connect(rt.url());
  ASSERT_TRUE(r.client) << r.error;
  for (double timeout : {1e10, 1e300}) {
    auto req = exec_request({"sleep 0.3; echo survived"});
    req.commands[0].timeout_s = timeout;
    r.client->send(req);
    const auto msgs = r.client->receive_until_terminal(30s);
    ASSERT_FALSE(msgs.empty());
    const auto* res = as<p::command_execution_result_message>(msgs.back());
    ASSERT_NE(res, nullptr) << p::encode(msgs.back());
    ASSERT_EQ(res->results.size(), 1u);
    EXPECT_EQ(res->results[0].exit_code, 0) << "timeout_s " << timeout;
    EXPECT_EQ(res->results[0].stdout_text.value_or(""), "survived\n") << "timeout_s " << timeout;
  }
}

} // namespace
} // namespace agentrt::test

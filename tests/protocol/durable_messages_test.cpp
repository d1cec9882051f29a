// The durable-session messages (docs/durable-sessions.md): their wire shapes, round trips,
// validation, and "seq" — read on runtime -> client frames only, written by encode(m, seq).
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/messages.hpp"

namespace agentrt::protocol {
namespace {

template <class T> T decode_as(std::string_view frame) {
  const decode_result r = decode(frame);
  EXPECT_FALSE(r.ec) << r.error << "\nframe: " << frame;
  if (!r.msg || !std::holds_alternative<T>(*r.msg)) {
    ADD_FAILURE() << "not decoded as expected: " << frame;
    return T{};
  }
  return std::get<T>(*r.msg);
}

void expect_failure(std::string_view frame, errc code, std::string_view error) {
  const decode_result r = decode(frame);
  EXPECT_FALSE(r.msg.has_value()) << frame;
  EXPECT_FALSE(r.seq.has_value()) << frame;
  EXPECT_EQ(r.ec, make_error_code(code)) << "got " << r.ec.message() << " for " << frame;
  EXPECT_EQ(r.error, error) << frame;
}

// The example frames of docs/durable-sessions.md, byte for byte as encode writes them.
constexpr std::string_view info_frame =
    R"({"message_type":"session_info_message","session_id":"s-1f2e","resume_token":)"
    R"("00112233445566778899aabbccddeeff","resumed":false,"resume_window_s":120,)"
    R"("detached_window_s":3600,"last_seq":0,"requests_received":0})";
constexpr std::string_view gap_frame =
    R"({"message_type":"gap_message","from_seq":41,"to_seq":977,"lost":[{"message_type":)"
    R"("command_output_message","command":"make","stream":"stdout","messages":930,)"
    R"("bytes":61034496}]})";

TEST(DurableMessages, SessionInfoWireShapeAndRoundTrip) {
  const auto m = decode_as<session_info_message>(info_frame);
  EXPECT_EQ(m.session_id, "s-1f2e");
  EXPECT_EQ(m.resume_token, "00112233445566778899aabbccddeeff");
  EXPECT_FALSE(m.resumed);
  EXPECT_EQ(m.resume_window_s, 120);
  EXPECT_EQ(m.detached_window_s, 3600);
  EXPECT_EQ(m.last_seq, 0u);
  EXPECT_EQ(m.requests_received, 0u);
  EXPECT_FALSE(m.request_in_flight);
  EXPECT_EQ(encode(m), info_frame);

  session_info_message resumed = m;
  resumed.resumed = true;
  resumed.resume_window_s = 0.25; // test runtimes use fractions of a second
  resumed.last_seq = 18446744073709551615u;
  resumed.requests_received = 3;
  resumed.request_in_flight = true;
  const std::string text = encode(resumed);
  EXPECT_NE(text.find(R"("resume_window_s":0.25,)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("last_seq":18446744073709551615,)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("request_in_flight":true})"), std::string::npos) << text;
  const auto back = decode_as<session_info_message>(text);
  EXPECT_TRUE(back.resumed);
  EXPECT_EQ(back.resume_window_s, 0.25);
  EXPECT_EQ(back.last_seq, resumed.last_seq);
  EXPECT_EQ(back.request_in_flight, std::optional<bool>(true));
  EXPECT_EQ(encode(back), text);
}

TEST(DurableMessages, GapWireShapeAndRoundTrip) {
  const auto g = decode_as<gap_message>(gap_frame);
  EXPECT_EQ(g.from_seq, 41u);
  EXPECT_EQ(g.to_seq, 977u);
  ASSERT_EQ(g.lost.size(), 1u);
  EXPECT_EQ(g.lost[0].message_type, "command_output_message");
  EXPECT_EQ(g.lost[0].command, "make");
  EXPECT_EQ(g.lost[0].stream, "stdout");
  EXPECT_EQ(g.lost[0].messages, 930u);
  EXPECT_EQ(g.lost[0].bytes, 61034496u);
  EXPECT_EQ(encode(g), gap_frame);

  // Output without a command or stream (assistant text) leaves both out; "lost" may be empty.
  gap_message other{5, 5, {{"assistant_message", "", "", 1, 12}}};
  EXPECT_EQ(encode(other), R"({"message_type":"gap_message","from_seq":5,"to_seq":5,"lost":)"
                           R"([{"message_type":"assistant_message","messages":1,"bytes":12}]})");
  EXPECT_TRUE(decode_as<gap_message>(R"({"message_type":"gap_message","from_seq":1,"to_seq":2})")
                  .lost.empty());
}

TEST(DurableMessages, DetachAckAndDetachConfirmShapes) {
  EXPECT_EQ(encode(detach_message{}), R"({"message_type":"detach_message"})");
  EXPECT_EQ(encode(ack_message{256}), R"({"message_type":"ack_message","seq":256})");
  EXPECT_EQ(decode_as<ack_message>(R"({"message_type":"ack_message","seq":0})").seq, 0u);
  const detach_confirm_message c{"s-1", 3600};
  EXPECT_EQ(encode(c),
            R"({"message_type":"detach_confirm_message","session_id":"s-1","expires_in_s":3600})");
  EXPECT_EQ(
      decode_as<detach_confirm_message>(encode(detach_confirm_message{"s", 1.5})).expires_in_s,
      1.5);
}

TEST(DurableMessages, SeqIsWrittenLastAndReadBackOnRuntimeMessages) {
  command_output_message out{"stdout", "hi\n", "echo hi"};
  const std::string frame = encode(out, 42);
  EXPECT_EQ(frame, R"({"message_type":"command_output_message","stream":"stdout","text":"hi\n",)"
                   R"("command":"echo hi","seq":42})");
  // The same bytes as the unnumbered frame up to the closing brace: the runtime may append.
  const std::string plain = encode(out);
  EXPECT_EQ(frame.substr(0, plain.size() - 1), plain.substr(0, plain.size() - 1));
  EXPECT_EQ(encode(out, std::nullopt), plain);

  const decode_result r = decode(frame);
  ASSERT_TRUE(r.msg) << r.error;
  EXPECT_EQ(r.seq, std::optional<std::uint64_t>(42));
  EXPECT_FALSE(decode(plain).seq);
  // Terminals, heartbeats, confirms are numbered as well.
  EXPECT_EQ(decode(encode(end_session_confirm_message{}, 7)).seq, std::optional<std::uint64_t>(7));
  EXPECT_EQ(decode(encode(error_message{"e", {}}, 18446744073709551615u)).seq,
            std::optional<std::uint64_t>(18446744073709551615u));
}

TEST(DurableMessages, SeqOnAClientMessageIsAnUnknownField) {
  // A runtime reading a client's frame never looks at "seq" (runtimeuse clients get exactly
  // today's decoding), and ack_message's "seq" is its own field.
  const decode_result cancel = decode(R"({"message_type":"cancel_message","seq":"x"})");
  EXPECT_TRUE(cancel.msg) << cancel.error;
  EXPECT_FALSE(cancel.seq);
  const std::string ack = encode(ack_message{9}, 10);
  EXPECT_EQ(ack, R"({"message_type":"ack_message","seq":9})");
  const decode_result a = decode(ack);
  EXPECT_FALSE(a.seq);
  EXPECT_EQ(std::get<ack_message>(*a.msg).seq, 9u);
}

TEST(DurableMessages, validation) {
  expect_failure(R"({"message_type":"command_output_message","stream":"stdout","text":"",)"
                 R"("command":"c","seq":"1"})",
                 errc::wrong_type, "seq: expected integer, got string");
  expect_failure(R"({"message_type":"heartbeat_message","phase":"p","seq":1.5})", errc::wrong_type,
                 "seq: expected integer, got number");
  expect_failure(R"({"message_type":"heartbeat_message","phase":"p","seq":0})", errc::invalid_value,
                 "seq: must be >= 1, got 0");
  expect_failure(R"({"message_type":"heartbeat_message","phase":"p","seq":-3})",
                 errc::invalid_value, "seq: must be >= 0, got -3");
  expect_failure(R"({"message_type":"heartbeat_message","phase":"p","seq":18446744073709551616})",
                 errc::wrong_type, "seq: expected integer, got number");
  // A valid seq on a frame that is otherwise wrong does not survive into the result.
  expect_failure(R"({"message_type":"heartbeat_message","seq":3})", errc::missing_field,
                 "phase: required field is missing");

  expect_failure(R"({"message_type":"session_info_message","resume_token":"t","last_seq":0,)"
                 R"("requests_received":0})",
                 errc::missing_field, "session_id: required field is missing");
  expect_failure(R"({"message_type":"session_info_message","session_id":"s","resume_token":"t",)"
                 R"("requests_received":0})",
                 errc::missing_field, "last_seq: required field is missing");
  expect_failure(R"({"message_type":"session_info_message","session_id":"s","resume_token":"t",)"
                 R"("last_seq":0,"requests_received":0,"resume_window_s":-1})",
                 errc::invalid_value, "resume_window_s: must be >= 0, got -1");
  expect_failure(R"({"message_type":"session_info_message","session_id":"s","resume_token":"t",)"
                 R"("last_seq":0,"requests_received":0,"resumed":"yes"})",
                 errc::wrong_type, "resumed: expected boolean, got string");
  expect_failure(R"({"message_type":"gap_message","from_seq":9,"to_seq":8})", errc::invalid_value,
                 "to_seq: must be >= from_seq, got 8");
  expect_failure(R"({"message_type":"gap_message","from_seq":0,"to_seq":8})", errc::invalid_value,
                 "from_seq: must be >= 1, got 0");
  expect_failure(R"({"message_type":"gap_message","from_seq":1,"to_seq":2,"lost":[{"messages":1,)"
                 R"("bytes":2}]})",
                 errc::missing_field, "lost[0].message_type: required field is missing");
  expect_failure(R"({"message_type":"gap_message","from_seq":1,"to_seq":2,"lost":[{"message_type":)"
                 R"("assistant_message","messages":1,"bytes":-2}]})",
                 errc::invalid_value, "lost[0].bytes: must be >= 0, got -2");
  expect_failure(R"({"message_type":"ack_message"})", errc::missing_field,
                 "seq: required field is missing");
  expect_failure(R"({"message_type":"detach_confirm_message","session_id":"s","expires_in_s":"1"})",
                 errc::wrong_type, "expires_in_s: expected number, got string");
}

TEST(DurableMessages, UnwritableDurationsEncodeAsZero) {
  detach_confirm_message c{"s", std::numeric_limits<double>::quiet_NaN()};
  EXPECT_EQ(decode_as<detach_confirm_message>(encode(c)).expires_in_s, 0);
  c.expires_in_s = -5;
  EXPECT_EQ(encode(c),
            R"({"message_type":"detach_confirm_message","session_id":"s","expires_in_s":0})");
  c.expires_in_s = 1e300;
  EXPECT_EQ(decode_as<detach_confirm_message>(encode(c)).expires_in_s, 1e300);
}

} // namespace
} // namespace agentrt::protocol

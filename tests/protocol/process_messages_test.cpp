// The session-process messages (extension "processes", docs/processes.md): wire shapes, bytes as
// base64, and the bounds the decoder enforces.
#include <gtest/gtest.h>

#include <string>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/messages.hpp"

namespace agentrt::protocol {
namespace {

template <class T> T round_trip(const T& in) {
  const decode_result r = decode(encode(in));
  EXPECT_FALSE(r.ec) << r.error << " in " << encode(in);
  if (!r.msg || !std::holds_alternative<T>(*r.msg))
    return T{};
  return std::get<T>(*r.msg);
}

decode_result decode_ok(const std::string& text) {
  decode_result r = decode(text);
  EXPECT_FALSE(r.ec) << r.error << " in " << text;
  return r;
}

std::string decode_error(const std::string& text) {
  const decode_result r = decode(text);
  EXPECT_TRUE(r.ec) << text;
  return r.error;
}

TEST(ProcessMessages, StartRoundTripsEveryField) {
  process_start_message m;
  m.ref = "r1";
  m.command = "python3 -m http.server 8000";
  m.cwd = "/work";
  m.env = string_map{{"A", "1"}};
  m.pty = terminal_size{120, 40};
  m.stdin_open = true;
  m.ready = process_readiness{8000, std::string("curl -sf localhost:8000"), 12.5, 0.1};
  m.secrets_to_redact = {"s3cr3t"};
  m.timeout_s = 60;
  const auto out = round_trip(m);
  EXPECT_EQ(out.ref, m.ref);
  EXPECT_EQ(out.command, m.command);
  EXPECT_EQ(out.cwd, m.cwd);
  EXPECT_EQ(out.env, m.env);
  ASSERT_TRUE(out.pty);
  EXPECT_EQ(out.pty->cols, 120);
  EXPECT_EQ(out.pty->rows, 40);
  EXPECT_TRUE(out.stdin_open);
  ASSERT_TRUE(out.ready);
  EXPECT_EQ(out.ready->tcp_port, 8000);
  EXPECT_EQ(out.ready->probe, m.ready->probe);
  EXPECT_DOUBLE_EQ(out.ready->timeout_s, 12.5);
  EXPECT_DOUBLE_EQ(out.ready->interval_s, 0.1);
  EXPECT_EQ(out.secrets_to_redact, m.secrets_to_redact);
  EXPECT_EQ(out.timeout_s, 60.0);
}

TEST(ProcessMessages, AMinimalStartHasDefaults) {
  const auto r = decode_ok(R"({"message_type":"process_start_message","command":"sleep 9"})");
  const auto& m = std::get<process_start_message>(*r.msg);
  EXPECT_FALSE(m.pty);
  EXPECT_FALSE(m.stdin_open);
  EXPECT_FALSE(m.ready);
  EXPECT_FALSE(m.ref);
}

TEST(ProcessMessages, StdinBytesTravelAsBase64WhateverTheyAre) {
  std::string bytes;
  for (int i = 0; i < 256; ++i)
    bytes.push_back(static_cast<char>(i));
  for (std::size_t n : {0u, 1u, 2u, 3u, 4u, 255u, 256u}) {
    process_stdin_message m{"p1", bytes.substr(0, n), n == 2};
    const std::string text = encode(m);
    EXPECT_NE(text.find("\"data_b64\":\""), std::string::npos) << text;
    const auto out = round_trip(m);
    EXPECT_EQ(out.data, m.data) << n;
    EXPECT_EQ(out.eof, m.eof);
  }
  EXPECT_EQ(encode(process_stdin_message{"p1", "hi", false}),
            R"({"message_type":"process_stdin_message","process_id":"p1","data_b64":"aGk="})");
}

TEST(ProcessMessages, StdinAlsoAcceptsTextButNotBoth) {
  const auto r =
      decode_ok(R"({"message_type":"process_stdin_message","process_id":"p1","text":"1+2\n"})");
  EXPECT_EQ(std::get<process_stdin_message>(*r.msg).data, "1+2\n");
  EXPECT_NE(decode_error(R"({"message_type":"process_stdin_message","process_id":"p1",)"
                         R"("text":"a","data_b64":"YQ=="})")
                .find("not both"),
            std::string::npos);
  const auto eof_only =
      decode_ok(R"({"message_type":"process_stdin_message","process_id":"p1","eof":true})");
  EXPECT_TRUE(std::get<process_stdin_message>(*eof_only.msg).eof);
}

TEST(ProcessMessages, MalformedBase64IsRefusedByName) {
  for (const char* bad : {"YQ", "Y===", "YR==", "a b=", "@@@@", "YQ==YQ=="}) {
    const std::string text = std::string(R"({"message_type":"process_stdin_message",)") +
                             R"("process_id":"p1","data_b64":")" + bad + "\"}";
    EXPECT_NE(decode_error(text).find("data_b64"), std::string::npos) << bad;
  }
}

TEST(ProcessMessages, PtyOutputIsBase64AndPipeOutputIsText) {
  const std::string raw = "\x1b[1mbold\x1b[0m \xe2\x82"; // a cut UTF-8 sequence at the end
  process_output_message pty{"p1", "pty", raw};
  const std::string pty_text = encode(pty);
  EXPECT_NE(pty_text.find("\"data_b64\""), std::string::npos);
  EXPECT_EQ(pty_text.find("\"text\""), std::string::npos);
  EXPECT_EQ(round_trip(pty).data, raw);

  process_output_message out{"p1", "stdout", "line\n"};
  EXPECT_NE(encode(out).find(R"("text":"line\n")"), std::string::npos);
  EXPECT_EQ(round_trip(out).data, "line\n");
  EXPECT_NE(decode_error(R"({"message_type":"process_output_message","process_id":"p1",)"
                         R"("stream":"tty","text":""})")
                .find("stream"),
            std::string::npos);
}

TEST(ProcessMessages, TerminalSizesAndPortsAreBounded) {
  EXPECT_NE(decode_error(R"({"message_type":"process_resize_message","process_id":"p1",)"
                         R"("cols":0,"rows":24})")
                .find("cols: must be 1..1000"),
            std::string::npos);
  EXPECT_NE(decode_error(R"({"message_type":"process_start_message","command":"x",)"
                         R"("pty":{"cols":80}})")
                .find("pty.rows"),
            std::string::npos);
  EXPECT_NE(decode_error(R"({"message_type":"process_start_message","command":"x",)"
                         R"("ready":{"tcp_port":70000}})")
                .find("ready.tcp_port"),
            std::string::npos);
  EXPECT_NE(decode_error(R"({"message_type":"process_start_message","command":"x",)"
                         R"("ready":{"timeout_s":3}})")
                .find("tcp_port or probe"),
            std::string::npos);
  EXPECT_NE(decode_error(R"({"message_type":"process_start_message","command":"x",)"
                         R"("ready":{"tcp_port":80,"timeout_s":0}})")
                .find("ready.timeout_s"),
            std::string::npos);
}

TEST(ProcessMessages, RuntimeMessagesRoundTrip) {
  const auto started = round_trip(process_started_message{"r", "p3", 4242, true, 1 << 20});
  EXPECT_EQ(started.ref, "r");
  EXPECT_EQ(started.pid, 4242);
  EXPECT_TRUE(started.pty);
  EXPECT_EQ(started.stdin_window, 1u << 20);

  const auto ack = round_trip(process_stdin_ack_message{"p3", 123456789012ull, true});
  EXPECT_EQ(ack.written, 123456789012ull);
  EXPECT_TRUE(ack.closed);

  const auto ready = round_trip(process_ready_message{"p3", false, "timed out", 30001});
  EXPECT_FALSE(ready.ready);
  EXPECT_EQ(ready.error, "timed out");
  EXPECT_EQ(ready.elapsed_ms, 30001);

  const auto exit = round_trip(process_exit_message{"w", "p3", 137, "SIGKILL", true});
  EXPECT_EQ(exit.exit_code, 137);
  EXPECT_EQ(exit.signal, "SIGKILL");
  EXPECT_TRUE(exit.timed_out);

  process_list_result_message list;
  list.ref = "l";
  list.processes.push_back({"p1", "sleep 9", 10, false, "running", std::nullopt, {}, {}, {}, {}});
  list.processes.push_back({"p2", "false", 11, true, "exited", true, 1, std::nullopt, {}, {}});
  list.processes.push_back(
      {"p3", "cat", 12, false, "running", std::nullopt, {}, {}, 5000000000ull, true});
  const auto listed = round_trip(list);
  ASSERT_EQ(listed.processes.size(), 3u);
  EXPECT_EQ(listed.processes[0].state, "running");
  EXPECT_FALSE(listed.processes[0].exit_code);
  EXPECT_FALSE(listed.processes[0].stdin_received);
  EXPECT_FALSE(listed.processes[0].stdin_closed);
  EXPECT_EQ(listed.processes[1].exit_code, 1);
  EXPECT_EQ(listed.processes[1].ready, true);
  EXPECT_EQ(listed.processes[2].stdin_received, 5000000000ull);
  EXPECT_EQ(listed.processes[2].stdin_closed, true);
  const decode_result negative = decode(
      R"({"message_type":"process_list_result_message","processes":[{"process_id":"p","command":"c","pid":1,"pty":false,"state":"running","stdin_received":-1}]})");
  EXPECT_TRUE(negative.ec);

  const auto error = round_trip(process_error_message{"x", "p9", "unknown_process", "no p9"});
  EXPECT_EQ(error.code, "unknown_process");
  EXPECT_EQ(error.process_id, "p9");
}

TEST(ProcessMessages, AClientFrameKeepsSeqAnUnknownField) {
  // seq is read on runtime -> client messages only; on a client's it is ignored.
  const auto r = decode_ok(R"({"message_type":"process_list_message","seq":0})");
  EXPECT_FALSE(r.seq);
  const decode_result bad =
      decode(R"({"message_type":"process_exit_message","process_id":"p","exit_code":0,"seq":0})");
  EXPECT_TRUE(bad.ec);
}

} // namespace
} // namespace agentrt::protocol

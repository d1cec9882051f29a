// The runtime's session behaviour over a real WebSocket: framing errors, one request at a time,
// heartbeats, cancel when idle, end of session, authentication, /health, and shutdown.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "agentrt/protocol/codec.hpp"
#include "support/protocol_helpers.hpp"
#include "support/runtime_process.hpp"
#include "support/ws_test_client.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;

std::unique_ptr<ws_test_client>
connect_or_fail(const runtime_process& rt, const std::map<std::string, std::string>& headers = {}) {
  auto r = ws_test_client::connect(rt.url(), headers);
  EXPECT_TRUE(r.client) << r.error;
  return std::move(r.client);
}

// The session is still usable: a trivial command round-trips.
void expect_session_usable(ws_test_client& c) {
  c.send(exec_request({"echo still-alive"}));
  auto msgs = c.receive_until_terminal();
  ASSERT_FALSE(msgs.empty());
  auto* res = as<p::command_execution_result_message>(msgs.back());
  ASSERT_NE(res, nullptr) << p::encode(msgs.back());
  ASSERT_EQ(res->results.size(), 1u);
  EXPECT_EQ(res->results[0].exit_code, 0);
  EXPECT_EQ(joined_output(msgs, "stdout"), "still-alive\n");
}

std::string expect_error(ws_test_client& c) {
  auto m = c.receive(10s);
  if (!m) {
    ADD_FAILURE() << "no message";
    return {};
  }
  auto* e = as<p::error_message>(*m);
  if (!e) {
    ADD_FAILURE() << "expected error_message, got " << p::encode(*m);
    return {};
  }
  return e->error;
}

TEST(Session, BadFramesGetAnErrorAndTheSessionKeepsWorking) {
  runtime_process rt;
  auto c = connect_or_fail(rt);
  ASSERT_TRUE(c);

  c->send_text("this is not json");
  EXPECT_NE(expect_error(*c).find("malformed JSON"), std::string::npos);

  c->send_text("[1,2,3]");
  EXPECT_NE(expect_error(*c).find("object"), std::string::npos);

  c->send_text(R"({"message_type":"make_coffee"})");
  EXPECT_NE(expect_error(*c).find("unknown message_type \"make_coffee\""), std::string::npos);

  c->send_text(
      R"({"message_type":"command_execution_message","commands":[{"command":"true"},{"command":"true","cwd":5}]})");
  EXPECT_NE(expect_error(*c).find("commands[1].cwd: expected string, got number"),
            std::string::npos);

  c->send_text(R"({"message_type":"command_execution_message"})");
  EXPECT_NE(expect_error(*c).find("commands"), std::string::npos);

  // A runtime->client message sent by a client is refused, not obeyed.
  c->send_text(
      R"({"message_type":"result_message","data":{"type":"text","text":"x"},"metadata":{}})");
  EXPECT_NE(expect_error(*c).find("unexpected message_type"), std::string::npos);

  expect_session_usable(*c);
  EXPECT_TRUE(rt.running());
}

TEST(Session, PythonClientStyleFrameWithNullsIsAccepted) {
  runtime_process rt;
  auto c = connect_or_fail(rt);
  ASSERT_TRUE(c);
  c->send_text(
      R"({"message_type":"command_execution_message","source_id":null,"secrets_to_redact":[],)"
      R"("commands":[{"cwd":null,"command":"echo py","env":null}],"artifacts_dir":null,)"
      R"("pre_execution_downloadables":null})");
  auto msgs = c->receive_until_terminal();
  ASSERT_FALSE(msgs.empty());
  auto* res = as<p::command_execution_result_message>(msgs.back());
  ASSERT_NE(res, nullptr) << p::encode(msgs.back());
  EXPECT_EQ(res->results.at(0).exit_code, 0);
  EXPECT_EQ(joined_output(msgs, "stdout"), "py\n");
}

TEST(Session, OversizeFrameClosesWith1009) {
  runtime_process rt({"--max-message-bytes", "4096"});
  auto c = connect_or_fail(rt);
  ASSERT_TRUE(c);
  expect_session_usable(*c);
  c->send_text(R"({"message_type":"command_execution_message","commands":[{"command":"echo )" +
               std::string(8000, 'x') + R"("}]})");
  ASSERT_TRUE(c->wait_closed(5s));
  EXPECT_EQ(c->close_code(), 1009);
  // The runtime survives and serves the next client.
  auto c2 = connect_or_fail(rt);
  ASSERT_TRUE(c2);
  expect_session_usable(*c2);
}

TEST(Session, SecondRequestWhileBusyIsRefusedWithoutDisturbingTheFirst) {
  runtime_process rt;
  auto c = connect_or_fail(rt);
  ASSERT_TRUE(c);
  c->send(exec_request({"sleep 0.5; echo first-done"}));
  std::this_thread::sleep_for(100ms);
  c->send(exec_request({"echo second"}));
  auto busy = c->receive(5s);
  ASSERT_TRUE(busy);
  auto* e = as<p::error_message>(*busy);
  ASSERT_NE(e, nullptr) << p::encode(*busy);
  EXPECT_EQ(e->error, "another request is in flight");
  auto msgs = c->receive_until_terminal();
  ASSERT_FALSE(msgs.empty());
  auto* res = as<p::command_execution_result_message>(msgs.back());
  ASSERT_NE(res, nullptr);
  ASSERT_EQ(res->results.size(), 1u);
  EXPECT_EQ(res->results[0].command, "sleep 0.5; echo first-done");
  EXPECT_EQ(joined_output(msgs, "stdout"), "first-done\n");
  EXPECT_EQ(joined_output(msgs, "stdout").find("second"), std::string::npos);
}

TEST(Session, ManySequentialRequestsOnOneConnection) {
  runtime_process rt;
  auto c = connect_or_fail(rt);
  ASSERT_TRUE(c);
  for (int i = 0; i < 20; ++i) {
    c->send(exec_request({"echo n" + std::to_string(i)}));
    auto msgs = c->receive_until_terminal();
    ASSERT_FALSE(msgs.empty());
    ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr);
    EXPECT_EQ(joined_output(msgs, "stdout"), "n" + std::to_string(i) + "\n");
  }
}

TEST(Session, HeartbeatsWhileInFlight) {
  runtime_process rt({"--heartbeat-interval", "0.1"});
  auto c = connect_or_fail(rt);
  ASSERT_TRUE(c);
  c->send(exec_request({"sleep 0.7"}));
  auto msgs = c->receive_until_terminal();
  std::vector<std::int64_t> elapsed;
  for (const auto& m : msgs) {
    if (auto* hb = as<p::heartbeat_message>(m)) {
      EXPECT_EQ(hb->phase, "request_in_flight");
      elapsed.push_back(hb->elapsed_ms);
    }
  }
  ASSERT_GE(elapsed.size(), 3u);
  for (std::size_t i = 1; i < elapsed.size(); ++i)
    EXPECT_GT(elapsed[i], elapsed[i - 1]);
  ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr);
  // None after the terminal.
  EXPECT_FALSE(c->receive(400ms).has_value());
}

TEST(Session, CancelWhenIdleIsANoOp) {
  runtime_process rt;
  auto c = connect_or_fail(rt);
  ASSERT_TRUE(c);
  c->send(p::cancel_message{});
  EXPECT_FALSE(c->receive(300ms).has_value());
  expect_session_usable(*c);
}

TEST(Session, EndSessionConfirmsAndCloses) {
  runtime_process rt;
  auto c = connect_or_fail(rt);
  ASSERT_TRUE(c);
  expect_session_usable(*c);
  c->send(p::end_session_message{});
  auto m = c->receive(5s);
  ASSERT_TRUE(m);
  EXPECT_NE(as<p::end_session_confirm_message>(*m), nullptr) << p::encode(*m);
  ASSERT_TRUE(c->wait_closed(5s));
  EXPECT_EQ(c->close_code(), 1000);
}

TEST(Session, EndSessionDuringARequestWaitsForItsTerminal) {
  runtime_process rt;
  auto c = connect_or_fail(rt);
  ASSERT_TRUE(c);
  c->send(exec_request({"sleep 0.3; echo done"}));
  c->send(p::end_session_message{});
  auto msgs = c->receive_until_terminal();
  ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr);
  auto m = c->receive(5s);
  ASSERT_TRUE(m);
  EXPECT_NE(as<p::end_session_confirm_message>(*m), nullptr);
  EXPECT_TRUE(c->wait_closed(5s));
}

TEST(Session, InvocationWithoutAHarnessFailsSayingWhatWasLookedFor) {
  runtime_process rt;
  auto c = connect_or_fail(rt);
  ASSERT_TRUE(c);
  p::invocation_message inv;
  inv.system_prompt = "s";
  inv.user_prompt = "u";
  inv.model = "m";
  c->send(inv);
  const std::string err = expect_error(*c);
  EXPECT_NE(err.find("no agent harness available"), std::string::npos) << err;
  EXPECT_NE(err.find("--handler"), std::string::npos) << err;
  expect_session_usable(*c);
}

TEST(Session, TokenIsRequiredWhenConfigured) {
  runtime_process rt({"--token", "s3cret-token"});
  {
    auto r = ws_test_client::connect(rt.url());
    EXPECT_FALSE(r.client);
    EXPECT_EQ(r.http_status, 401);
  }
  {
    auto r = ws_test_client::connect(rt.url(), {{"Authorization", "Bearer wrong"}});
    EXPECT_FALSE(r.client);
    EXPECT_EQ(r.http_status, 401);
  }
  {
    auto r = ws_test_client::connect(rt.url() + "?token=wrong");
    EXPECT_FALSE(r.client);
    EXPECT_EQ(r.http_status, 401);
  }
  {
    auto r = ws_test_client::connect(rt.url(), {{"Authorization", "Bearer s3cret-token"}});
    ASSERT_TRUE(r.client) << r.error;
    expect_session_usable(*r.client);
  }
  {
    auto r = ws_test_client::connect(rt.url() + "?token=s3cret-token");
    ASSERT_TRUE(r.client) << r.error;
    expect_session_usable(*r.client);
  }
  // /health needs no token.
  EXPECT_EQ(http_get(rt.port(), "/health").first, 200);
}

TEST(Session, TokenFromEnvironment) {
  runtime_process rt({}, {"AGENTRT_TOKEN=from-env"});
  EXPECT_EQ(ws_test_client::connect(rt.url()).http_status, 401);
  auto r = ws_test_client::connect(rt.url(), {{"Authorization", "Bearer from-env"}});
  ASSERT_TRUE(r.client) << r.error;
  expect_session_usable(*r.client);
}

TEST(Session, HealthReportsVersionAndCounts) {
  runtime_process rt;
  auto [status, body] = http_get(rt.port(), "/health");
  EXPECT_EQ(status, 200);
  EXPECT_NE(body.find("\"version\":\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"open_sessions\":0"), std::string::npos) << body;
  EXPECT_NE(body.find("\"requests_in_flight\":0"), std::string::npos) << body;
  EXPECT_NE(body.find("\"uptime_s\":"), std::string::npos) << body;

  auto c = connect_or_fail(rt);
  ASSERT_TRUE(c);
  c->send(exec_request({"sleep 0.5"}));
  std::this_thread::sleep_for(150ms);
  body = http_get(rt.port(), "/health").second;
  EXPECT_NE(body.find("\"open_sessions\":1"), std::string::npos) << body;
  EXPECT_NE(body.find("\"requests_in_flight\":1"), std::string::npos) << body;
  c->receive_until_terminal();

  EXPECT_EQ(http_get(rt.port(), "/nope").first, 404);
}

TEST(Session, SigtermCancelsRequestsClosesWith1001AndExitsZero) {
  runtime_process rt;
  auto c = connect_or_fail(rt);
  ASSERT_TRUE(c);
  c->send(exec_request({"sleep 100.31337"}));
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(find_processes("sleep 100.31337").size(), 1u);
  const auto t0 = std::chrono::steady_clock::now();
  const int status = rt.stop(SIGTERM, 10s);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_NE(status, -1) << "runtime did not exit";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_LT(took, 6s);
  EXPECT_TRUE(c->wait_closed(5s));
  EXPECT_EQ(c->close_code(), 1001);
  EXPECT_TRUE(find_processes("sleep 100.31337").empty());
}

TEST(Session, LogLinesCarrySourceIdAndAreRedacted) {
  runtime_process rt;
  auto c = connect_or_fail(rt);
  ASSERT_TRUE(c);
  auto req = exec_request({"echo hunter2-secret; exit 4"});
  req.source_id = "job-42";
  req.secrets_to_redact = {"hunter2-secret"};
  c->send(req);
  auto msgs = c->receive_until_terminal();
  auto* res = as<p::command_execution_result_message>(msgs.back());
  ASSERT_NE(res, nullptr);
  EXPECT_EQ(res->results.at(0).exit_code, 4);
  EXPECT_EQ(res->results.at(0).command, "echo [REDACTED]; exit 4");
  const std::string log = rt.log_with("[job-42]");
  EXPECT_NE(log.find("[job-42]"), std::string::npos) << log;
  EXPECT_EQ(log.find("hunter2-secret"), std::string::npos) << log;
}

TEST(Session, HelpAndVersionAndBadFlags) {
  auto run = [](const std::string& args) {
    std::string cmd = std::string(AGENTRT_BINARY) + " " + args + " 2>&1";
    FILE* f = popen(cmd.c_str(), "r");
    std::string out;
    char buf[512];
    while (std::size_t n = fread(buf, 1, sizeof buf, f))
      out.append(buf, n);
    const int st = pclose(f);
    return std::make_pair(WEXITSTATUS(st), out);
  };
  auto [help_rc, help] = run("--help");
  EXPECT_EQ(help_rc, 0);
  for (const char* flag : {"--port", "--host", "--token", "--max-message-bytes",
                           "--heartbeat-interval", "--log-level", "--version"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
  auto [ver_rc, ver] = run("--version");
  EXPECT_EQ(ver_rc, 0);
  EXPECT_EQ(ver.rfind("agentrt ", 0), 0u) << ver;
  auto [bad_rc, bad] = run("--port notaport");
  EXPECT_EQ(bad_rc, 2);
  EXPECT_NE(bad.find("--port"), std::string::npos) << bad;
  auto [unk_rc, unk] = run("--frobnicate");
  EXPECT_EQ(unk_rc, 2);
  EXPECT_NE(unk.find("--frobnicate"), std::string::npos) << unk;
}

} // namespace
} // namespace agentrt::test

// Message handling against a scripted peer: query() results (text, structured, errors with
// metadata), callbacks and capabilities, and frames a real runtime would never send —
// malformed, out of order, unknown types (ignored) — plus wss:// with a self-signed cert.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "agentrt/client/client.hpp"
#include "support/runtime_process.hpp"
#include "support/scripted_peer.hpp"

namespace agentrt::client {
namespace {

using namespace std::chrono_literals;
using test::scripted_peer;

protocol::message result_text(std::string text) {
  protocol::result_message r;
  r.data.text = std::move(text);
  r.metadata.json = R"({"duration_ms":5})";
  return r;
}

protocol::message assistant(std::string text) {
  protocol::assistant_message a;
  a.text_blocks = {std::move(text)};
  return a;
}

TEST(ClientScripted, QueryStreamsAssistantMessagesThenTextResult) {
  scripted_peer peer({scripted_peer::expect("invocation_message"),
                      scripted_peer::send(assistant("a")), scripted_peer::send(assistant("b")),
                      scripted_peer::send(result_text("done")),
                      scripted_peer::expect("end_session_message"),
                      scripted_peer::send(protocol::end_session_confirm_message{})});
  std::vector<std::string> seen;
  query_options o;
  o.system_prompt = "sys";
  o.model = "m1";
  o.on_assistant_message = [&](const protocol::assistant_message& m) {
    seen.push_back(m.text_blocks.at(0));
  };
  auto [r, error] = client({peer.url()}).query("task", o);
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(r.type, query_result::kind::text);
  EXPECT_EQ(r.text, "done");
  EXPECT_EQ(r.metadata_json, R"({"duration_ms":5})");
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  const std::string sent = peer.received().at(0);
  EXPECT_NE(sent.find(R"("user_prompt":"task")"), std::string::npos) << sent;
  EXPECT_NE(sent.find(R"("model":"m1")"), std::string::npos) << sent;
  // No callbacks for extensions: no capabilities declared (a runtimeuse peer sees plain JSON).
  EXPECT_EQ(sent.find("client_capabilities"), std::string::npos) << sent;
}

TEST(ClientScripted, StructuredOutputAndExtensionCallbacks) {
  protocol::result_message r;
  r.data.type = protocol::result_data::kind::structured_output;
  r.data.structured_output.json = R"({"a":{"b":[1,2,{"c":null}]}})";
  protocol::agent_event_message ev;
  ev.event = "tool_use";
  ev.data.json = R"({"tool":"bash"})";
  protocol::heartbeat_message hb;
  hb.elapsed_ms = 15000;
  scripted_peer peer({scripted_peer::expect("invocation_message"), scripted_peer::send(ev),
                      scripted_peer::send(hb), scripted_peer::send(r)});
  auto [s, e] = session::connect({peer.url()});
  ASSERT_TRUE(s) << e.message;
  std::vector<std::string> events;
  int beats = 0;
  query_options o;
  o.output_format_json_schema_str = R"({"type":"json_schema","schema":{"type":"object"}})";
  o.on_agent_event = [&](const protocol::agent_event_message& m) { events.push_back(m.event); };
  o.on_heartbeat = [&](const protocol::heartbeat_message&) { ++beats; };
  auto [qr, error] = s->query("task", o);
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(qr.type, query_result::kind::structured_output);
  EXPECT_EQ(qr.structured_output_json, R"({"a":{"b":[1,2,{"c":null}]}})");
  EXPECT_EQ(events, std::vector<std::string>{"tool_use"});
  EXPECT_EQ(beats, 1);
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  EXPECT_NE(peer.received().at(0).find(R"("client_capabilities":["agent_events"])"),
            std::string::npos);
}

TEST(ClientScripted, RuntimeErrorCarriesMessageAndMetadata) {
  protocol::error_message err;
  err.error = "harness exploded";
  err.metadata.json = R"({"exit_code":3})";
  scripted_peer peer({scripted_peer::expect("invocation_message"), scripted_peer::send(err)});
  auto [s, e] = session::connect({peer.url()});
  ASSERT_TRUE(s) << e.message;
  auto [qr, error] = s->query("task");
  EXPECT_EQ(error.code, make_error_code(errc::runtime_error));
  EXPECT_EQ(error.message, "harness exploded");
  EXPECT_EQ(error.metadata_json, R"({"exit_code":3})");
}

TEST(ClientScripted, UnknownTypesAndStrayFramesAreIgnored) {
  scripted_peer peer({
      scripted_peer::send(R"({"message_type":"from_the_future","x":1})"), // while idle
      scripted_peer::send(protocol::error_message{"stray", {}}),          // idle: no request
      scripted_peer::expect("invocation_message"),
      scripted_peer::send(R"({"message_type":"brand_new_message"})"),
      scripted_peer::send(assistant("still here")),
      scripted_peer::send(result_text("ok")),
  });
  auto [s, e] = session::connect({peer.url()});
  ASSERT_TRUE(s) << e.message;
  std::this_thread::sleep_for(100ms); // let the idle frames arrive first
  auto [qr, error] = s->query("task");
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(qr.text, "ok");
}

TEST(ClientScripted, MalformedFrameIsAProtocolViolation) {
  scripted_peer peer({scripted_peer::expect("invocation_message"), scripted_peer::send("{not json"),
                      scripted_peer::expect("cancel_message")});
  auto [s, e] = session::connect({peer.url()});
  ASSERT_TRUE(s) << e.message;
  auto [qr, error] = s->query("task");
  EXPECT_EQ(error.code, make_error_code(errc::protocol_violation));
  EXPECT_NE(error.metadata_json.find("{not json"), std::string::npos) << error.metadata_json;
  EXPECT_TRUE(peer.wait_done()) << peer.failure();
  // The connection is given up on: the next call fails at once.
  EXPECT_EQ(s->query("again").second.code, make_error_code(errc::closed));
}

TEST(ClientScripted, WrongFieldTypesAndOutOfOrderTerminalsAreViolations) {
  {
    scripted_peer peer({scripted_peer::expect("command_execution_message"),
                        scripted_peer::send(R"({"message_type":"command_output_message",
                            "stream":"stdout","text":42,"command":"x"})")});
    auto [s, e] = session::connect({peer.url()});
    ASSERT_TRUE(s) << e.message;
    protocol::command c;
    c.command = "x";
    auto [r, error] = s->execute_commands({c});
    EXPECT_EQ(error.code, make_error_code(errc::protocol_violation));
    EXPECT_NE(error.message.find("text"), std::string::npos) << error.message;
  }
  {
    scripted_peer peer({scripted_peer::expect("command_execution_message"),
                        scripted_peer::send(result_text("an invocation's result"))});
    auto [s, e] = session::connect({peer.url()});
    ASSERT_TRUE(s) << e.message;
    protocol::command c;
    c.command = "x";
    auto [r, error] = s->execute_commands({c});
    EXPECT_EQ(error.code, make_error_code(errc::protocol_violation));
    EXPECT_NE(error.message.find("result_message"), std::string::npos) << error.message;
  }
  {
    scripted_peer peer({scripted_peer::expect("invocation_message"),
                        scripted_peer::send(protocol::end_session_confirm_message{})});
    auto [s, e] = session::connect({peer.url()});
    ASSERT_TRUE(s) << e.message;
    EXPECT_EQ(s->query("x").second.code, make_error_code(errc::protocol_violation));
  }
}

TEST(ClientScripted, CancelAnsweredWithResultKeepsResultButReportsCancelled) {
  scripted_peer peer({scripted_peer::expect("invocation_message"),
                      scripted_peer::expect("cancel_message"),
                      scripted_peer::send(result_text("finished anyway"))});
  io_loop loop;
  auto [s, e] = async_session::connect(loop, {peer.url()}).get();
  ASSERT_TRUE(s) << e.message;
  auto f = s->query("task", {});
  s->abort();
  auto [qr, error] = f.get();
  EXPECT_EQ(error.code, make_error_code(errc::cancelled));
  EXPECT_EQ(qr.text, "finished anyway");
}

TEST(ClientScripted, UnansweredCancelGivesUpAfterTheGrace) {
  scripted_peer peer({scripted_peer::expect("invocation_message"),
                      scripted_peer::expect("cancel_message"), scripted_peer::pause(5s)});
  auto [s, e] = session::connect({peer.url()});
  ASSERT_TRUE(s) << e.message;
  query_options o;
  o.timeout = 100ms;
  o.cancel_grace = 200ms;
  auto [qr, error] = s->query("task", o);
  EXPECT_EQ(error.code, make_error_code(errc::timed_out));
  EXPECT_NE(error.message.find("did not answer the cancel"), std::string::npos) << error.message;
}

TEST(ClientScripted, PeerClosingMidRequestIsClosed) {
  scripted_peer peer({scripted_peer::expect("invocation_message"), scripted_peer::close()});
  auto [s, e] = session::connect({peer.url()});
  ASSERT_TRUE(s) << e.message;
  auto [qr, error] = s->query("task");
  EXPECT_EQ(error.code, make_error_code(errc::closed));
  EXPECT_NE(error.message.find("1000"), std::string::npos) << error.message;
}

// wss:// against a TLS peer whose self-signed certificate the test generates.
// Regression (runtimeuse conformance): runtimeuse answers a handler error with the handler's
// error_message and then a second, terminal error_message. The first ends the call; the
// second must be dropped, not taken for the answer to the next request on the session.
TEST(ClientScripted, SecondErrorMessageDoesNotLeakIntoTheNextRequest) {
  protocol::error_message handler_error;
  handler_error.error = "something broke";
  handler_error.metadata.json = R"({"source":"echo_handler"})";
  protocol::error_message terminal = handler_error;
  terminal.metadata.json = R"({"error_name":"Error"})";
  scripted_peer peer({scripted_peer::expect("invocation_message"),
                      scripted_peer::send(handler_error), scripted_peer::pause(30ms),
                      scripted_peer::send(terminal), scripted_peer::expect("invocation_message"),
                      scripted_peer::send(result_text("second"))});
  auto [s, e] = session::connect({peer.url()});
  ASSERT_TRUE(s) << e.message;
  auto [q1, e1] = s->query("ERROR:something broke");
  EXPECT_EQ(e1.code, make_error_code(errc::runtime_error));
  EXPECT_EQ(e1.message, "something broke");
  EXPECT_EQ(e1.metadata_json, R"({"source":"echo_handler"})");
  const auto t0 = std::chrono::steady_clock::now();
  auto [q2, e2] = s->query("next");
  ASSERT_FALSE(e2) << e2.message;
  EXPECT_EQ(q2.text, "second");
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  std::cout << "[ figures  ] request after an error_message answered in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - t0)
                   .count()
            << " ms (includes the settle)\n";
}

TEST(ClientScripted, WssWithASelfSignedCertificate) {
  const std::string dir = test::make_temp_dir();
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                          "-addext subjectAltName=DNS:localhost -keyout " +
                          dir + "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0)
    GTEST_SKIP() << "openssl CLI not available";
  scripted_peer peer(
      {scripted_peer::expect("invocation_message"), scripted_peer::send(result_text("over tls"))},
      {dir + "/cert.pem", dir + "/key.pem"});
  {
    // Not trusted: the system CA store does not know the certificate.
    auto [s, e] = session::connect({peer.url()});
    EXPECT_EQ(e.code, make_error_code(errc::connection_failed));
  }
  connect_options c{peer.url()};
  c.ca_file = dir + "/cert.pem";
  auto [s, e] = session::connect(c);
  ASSERT_TRUE(s) << e.message;
  auto [qr, error] = s->query("task");
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(qr.text, "over tls");
}

} // namespace
} // namespace agentrt::client

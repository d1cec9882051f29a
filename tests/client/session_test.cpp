// The client library against the real agentrt runtime on loopback: commands, streaming, abort,
// every kind of timeout, artifacts and the end-of-session drain, downloads, secrets, auth,
// connection failures, and query()'s error path when the runtime has no harness.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "agentrt/client/client.hpp"
#include "support/http_test_server.hpp"
#include "support/runtime_process.hpp"

namespace agentrt::client {
namespace {

using namespace std::chrono_literals;
using test::runtime_process;

protocol::command cmd(std::string text) {
  protocol::command c;
  c.command = std::move(text);
  return c;
}

std::unique_ptr<session> connect_to(const runtime_process& rt) {
  auto [s, error] = session::connect({rt.url()});
  EXPECT_FALSE(error) << error.message;
  return std::move(s);
}

TEST(ClientSession, RunsCommandsAndStreamsOutputInOrder) {
  runtime_process rt;
  auto s = connect_to(rt);
  std::string out, err;
  execute_options o;
  o.on_command_output = [&](const protocol::command_output_message& m) {
    (m.stream == "stdout" ? out : err) += m.text;
  };
  auto [result, error] = s->execute_commands({cmd("echo one; echo two >&2"), cmd("echo three")}, o);
  ASSERT_FALSE(error) << error.message;
  ASSERT_EQ(result.results.size(), 2u);
  EXPECT_EQ(result.failed_exit_code(), 0);
  EXPECT_EQ(out, "one\nthree\n");
  EXPECT_EQ(err, "two\n");
  // The session serves further requests on the same connection.
  auto [again, error2] = s->execute_commands({cmd("exit 7"), cmd("echo never")});
  ASSERT_FALSE(error2) << error2.message;
  ASSERT_EQ(again.results.size(), 1u);
  EXPECT_EQ(again.failed_exit_code(), 7);
  EXPECT_FALSE(s->end());
}

TEST(ClientSession, HonoursCwdAndEnv) {
  runtime_process rt;
  auto dir = test::make_temp_dir();
  auto c = cmd("pwd; echo $GREETING");
  c.cwd = dir + "/sub";
  c.env = protocol::string_map{{"GREETING", "hi"}};
  auto [result, error] = client({rt.url()}).execute_commands({c});
  ASSERT_FALSE(error) << error.message;
  ASSERT_EQ(result.results.size(), 1u);
  EXPECT_EQ(result.results[0].stdout_text.value_or(""), dir + "/sub\nhi\n");
}

TEST(ClientSession, AbortDuringStreamingFailsWithCancelledAndKeepsSession) {
  runtime_process rt;
  auto s = connect_to(rt);
  std::atomic<int> chunks{0};
  execute_options o;
  o.on_command_output = [&](const protocol::command_output_message&) { ++chunks; };
  std::thread aborter([&] {
    while (chunks == 0)
      std::this_thread::sleep_for(5ms);
    s->abort();
  });
  const auto start = std::chrono::steady_clock::now();
  auto [result, error] =
      s->execute_commands({cmd("for i in $(seq 1 1000); do echo $i; sleep 0.05; done")}, o);
  aborter.join();
  EXPECT_EQ(error.code, make_error_code(errc::cancelled)) << error.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  auto [ok, error2] = s->execute_commands({cmd("echo after")});
  EXPECT_FALSE(error2) << error2.message;
  s->abort(); // idle: no-op
  EXPECT_FALSE(s->end());
}

TEST(ClientSession, OverallTimeoutCancelsAndSaysWhich) {
  runtime_process rt;
  auto s = connect_to(rt);
  execute_options o;
  o.timeout = 300ms;
  auto [result, error] = s->execute_commands({cmd("sleep 30")}, o);
  EXPECT_EQ(error.code, make_error_code(errc::timed_out));
  EXPECT_NE(error.message.find("overall"), std::string::npos) << error.message;
  EXPECT_NE(error.metadata_json.find("\"timeout\":\"overall\""), std::string::npos);
  // The runtime answered the cancel: the session stays usable.
  auto [ok, error2] = s->execute_commands({cmd("true")});
  EXPECT_FALSE(error2) << error2.message;
}

TEST(ClientSession, IdleTimeoutFiresOnSilenceNotOnOutput) {
  runtime_process rt;
  auto s = connect_to(rt);
  execute_options o;
  o.idle_timeout = 400ms;
  // Output every 100 ms keeps the request alive past the idle timeout...
  auto [ok, e1] =
      s->execute_commands({cmd("for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 0.1; done")}, o);
  EXPECT_FALSE(e1) << e1.message;
  // ...silence does not.
  auto [result, error] = s->execute_commands({cmd("sleep 30")}, o);
  EXPECT_EQ(error.code, make_error_code(errc::idle_timed_out)) << error.message;
  EXPECT_NE(error.metadata_json.find("\"timeout\":\"idle\""), std::string::npos);
}

TEST(ClientSession, HeartbeatsReachTheCallback) {
  runtime_process rt({"--heartbeat-interval", "0.1"});
  auto s = connect_to(rt);
  std::atomic<int> beats{0};
  execute_options o;
  o.on_heartbeat = [&](const protocol::heartbeat_message& m) {
    EXPECT_EQ(m.phase, "request_in_flight");
    ++beats;
  };
  o.idle_timeout = 1s; // heartbeats count as life
  auto [result, error] = s->execute_commands({cmd("sleep 1.5")}, o);
  EXPECT_FALSE(error) << error.message;
  EXPECT_GE(beats.load(), 3);
}

TEST(ClientSession, ArtifactsAreUploadedAndLateOnesDrainedAtEnd) {
  runtime_process rt({"--artifact-settle", "1"});
  test::http_test_server http;
  http.route("/up/a.txt", test::http_response::with_status(200));
  http.route("/up/late.txt", test::http_response::with_status(200));
  auto dir = test::make_temp_dir();
  auto s = connect_to(rt);
  std::vector<std::string> results;
  execute_options o;
  o.artifacts_dirs = {dir + "/out"};
  o.on_artifact_upload_request = [&](const protocol::artifact_upload_request_message& m,
                                     upload_reply reply) {
    // Answered later, from another thread, as a slow presigner would: the request has
    // finished by then, so the answers go out during end()'s drain.
    std::thread([reply, url = http.url("/up/" + m.filename)] {
      std::this_thread::sleep_for(300ms);
      reply(upload_target{url, "text/plain"});
    }).detach();
  };
  o.on_artifact_upload_result = [&](const protocol::artifact_upload_result_message& m) {
    results.push_back(m.filepath + (m.ok ? " ok" : " failed"));
  };
  const std::string out = dir + "/out";
  auto [r, error] = s->execute_commands({cmd("echo hello > " + out + "/a.txt")}, o);
  ASSERT_FALSE(error) << error.message;
  // The runtime kills whatever a command leaves running, so the late file comes from here:
  // written after the request's terminal, it must still be announced, answered and uploaded.
  std::ofstream(out + "/late.txt") << "late\n";
  EXPECT_FALSE(s->end());
  auto puts = http.puts();
  std::map<std::string, std::string> bodies;
  for (const auto& p : puts)
    bodies[p.path] = p.body_head;
  EXPECT_EQ(bodies["/up/a.txt"], "hello\n");
  EXPECT_EQ(bodies["/up/late.txt"], "late\n") << rt.log();
  for (const auto& p : puts)
    EXPECT_EQ(p.content_type, "text/plain");
  EXPECT_GE(results.size(), 1u);
}

TEST(ClientSession, UploadCallbackTimeoutCancelsTheRequest) {
  runtime_process rt;
  auto dir = test::make_temp_dir();
  auto s = connect_to(rt);
  execute_options o;
  o.artifacts_dirs = {dir};
  o.callback_timeout = 200ms;
  o.on_artifact_upload_request = [](const protocol::artifact_upload_request_message&,
                                    upload_reply) { /* never answers */ };
  auto [r, error] = s->execute_commands({cmd("echo x > " + dir + "/f.txt; sleep 30")}, o);
  EXPECT_EQ(error.code, make_error_code(errc::callback_timed_out)) << error.message;
  EXPECT_NE(error.message.find("f.txt"), std::string::npos);
  EXPECT_NE(error.metadata_json.find("\"timeout\":\"callback\""), std::string::npos);
}

TEST(ClientSession, ArtifactDirsAndUploadCallbackAreRequiredTogether) {
  runtime_process rt;
  auto s = connect_to(rt);
  execute_options o;
  o.artifacts_dirs = {"/tmp/x"};
  auto [r, error] = s->execute_commands({cmd("true")}, o);
  EXPECT_EQ(error.code, make_error_code(errc::invalid_options));
  query_options q;
  q.on_artifact_upload_request = [](const protocol::artifact_upload_request_message&,
                                    upload_reply reply) { reply(std::nullopt); };
  auto [qr, qerror] = s->query("hi", q);
  EXPECT_EQ(qerror.code, make_error_code(errc::invalid_options));
}

TEST(ClientSession, DownloadsRunFirstAndSecretsAreRedacted) {
  runtime_process rt;
  test::http_test_server http;
  http.route("/files/data.txt", test::http_response::with_status(200, "payload"));
  auto dir = test::make_temp_dir();
  execute_options o;
  protocol::downloadable d;
  d.download_url = http.url("/files/data.txt");
  d.working_dir = dir;
  o.downloadables = {d};
  o.secrets_to_redact = {"hunter2"};
  std::string streamed;
  o.on_command_output = [&](const protocol::command_output_message& m) { streamed += m.text; };
  auto [r, error] =
      client({rt.url()}).execute_commands({cmd("cat " + dir + "/data.txt; echo hunter2")}, o);
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(streamed, "payload[REDACTED]\n");
}

TEST(ClientSession, QueryOnThisBuildIsARuntimeError) {
  runtime_process rt;
  auto [r, error] = client({rt.url()}).query("hello");
  EXPECT_EQ(error.code, make_error_code(errc::runtime_error));
  EXPECT_NE(error.message.find("no agent harness available"), std::string::npos) << error.message;
}

TEST(ClientSession, ConnectionFailureNamesTheUrlWithoutTheToken) {
  auto [s, error] = session::connect({"ws://127.0.0.1:1/?token=sekrit", std::nullopt, 2000ms});
  ASSERT_FALSE(s);
  EXPECT_EQ(error.code, make_error_code(errc::connection_failed));
  EXPECT_NE(error.message.find("ws://127.0.0.1:1/?token=[REDACTED]"), std::string::npos)
      << error.message;
  EXPECT_EQ(error.message.find("sekrit"), std::string::npos);
  EXPECT_EQ(error.metadata_json.find("sekrit"), std::string::npos);

  auto [s2, error2] = session::connect({"http://127.0.0.1:1/"});
  EXPECT_EQ(error2.code, make_error_code(errc::connection_failed));
}

TEST(ClientSession, BearerTokenIsSent) {
  runtime_process rt({"--token", "t0ken"});
  auto [bad, error] = session::connect({rt.url()});
  EXPECT_EQ(error.code, make_error_code(errc::connection_failed));
  EXPECT_NE(error.metadata_json.find("\"http_status\":401"), std::string::npos)
      << error.metadata_json;
  auto [good, error2] = session::connect({rt.url(), std::string("t0ken")});
  ASSERT_TRUE(good) << error2.message;
  EXPECT_FALSE(good->execute_commands({cmd("true")}).second);
}

TEST(ClientSession, RuntimeGoingAwayFailsTheCallWithClosed) {
  auto rt = std::make_unique<runtime_process>();
  // A durable session would try to reconnect for the default policy's two minutes.
  connect_options o{rt->url()};
  o.reconnect.max_attempts = 2;
  o.reconnect.initial_backoff = std::chrono::milliseconds(10);
  auto [s, connect_error] = session::connect(o);
  ASSERT_TRUE(s) << connect_error.message;
  std::thread killer([&] {
    std::this_thread::sleep_for(300ms);
    rt->stop(SIGKILL);
  });
  auto [r, error] = s->execute_commands({cmd("sleep 30")});
  killer.join();
  EXPECT_EQ(error.code, make_error_code(errc::closed)) << error.message;
  EXPECT_EQ(s->end().code, make_error_code(errc::closed));
}

TEST(ClientAsync, SecondRequestInFlightIsBusy) {
  runtime_process rt;
  io_loop loop;
  auto [s, error] = async_session::connect(loop, {rt.url()}).get();
  ASSERT_TRUE(s) << error.message;
  auto first = s->execute_commands({cmd("sleep 0.3")}, {});
  auto second = s->execute_commands({cmd("true")}, {});
  EXPECT_EQ(second.get().second.code, make_error_code(errc::busy));
  EXPECT_FALSE(first.get().second);
  EXPECT_FALSE(s->end().get());
}

} // namespace
} // namespace agentrt::client

// The agentrt C++ client and the agentrt-client CLI driving the published TypeScript runtime
// (runtimeuse), started with the runtimeuse e2e suite's echo handler.
//
// A manual check: every test is SKIPPED unless AGENTRT_RUNTIMEUSE_CLI names a built runtimeuse
// dist/cli.js. The handler is AGENTRT_RUNTIMEUSE_HANDLER, or else the echo_handler.js of the
// same runtimeuse checkout (packages/runtimeuse-client-python/test/e2e/echo_handler.js).
// tests/conformance/run-runtimeuse-check.sh builds both from a runtimeuse source tree and runs
// this suite. No runtimeuse code is part of this repository.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "agentrt/client/client.hpp"
#include "support/http_test_server.hpp"
#include "support/program_run.hpp"
#include "support/runtime_process.hpp"

namespace {

using namespace std::chrono_literals;
namespace ac = agentrt::client;
namespace p = agentrt::protocol;
using agentrt::test::http_response;
using agentrt::test::http_test_server;

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

using agentrt::test::read_whole_file;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The runtimeuse CLI and its echo handler, or empty strings when the check is not configured.
struct runtimeuse_paths {
  std::string cli, handler;
  static runtimeuse_paths find() {
    runtimeuse_paths r;
    r.cli = env_or_empty("AGENTRT_RUNTIMEUSE_CLI");
    if (r.cli.empty() || !is_file(r.cli))
      return {};
    r.handler = env_or_empty("AGENTRT_RUNTIMEUSE_HANDLER");
    if (r.handler.empty()) {
      // <root>/packages/runtimeuse/dist/cli.js -> <root>/packages/runtimeuse-client-python/...
      const std::string marker = "/runtimeuse/dist/cli.js";
      const auto at = r.cli.rfind(marker);
      if (at != std::string::npos)
        r.handler = r.cli.substr(0, at) + "/runtimeuse-client-python/test/e2e/echo_handler.js";
    }
    if (!is_file(r.handler))
      return {};
    return r;
  }
};

bool accepts(int port) {
  const int fd = agentrt::test::connect_loopback(port);
  if (fd >= 0)
    ::close(fd);
  return fd >= 0;
}

// `node cli.js --handler echo_handler.js --port P`, stopped with SIGTERM (then SIGKILL).
class runtimeuse_process {
public:
  explicit runtimeuse_process(const runtimeuse_paths& paths) {
    log_path_ = agentrt::test::make_temp_dir("runtimeuse-log-") + "/runtime.log";
    for (int attempt = 0; attempt < 3 && pid_ < 0; ++attempt) {
      port_ = agentrt::test::free_port();
      std::vector<std::string> args = {"node",        paths.cli, "--handler",
                                       paths.handler, "--port",  std::to_string(port_)};
      const pid_t pid = ::fork();
      if (pid == 0) {
        const int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        ::dup2(log, 1);
        ::dup2(log, 2);
        std::vector<char*> argv;
        for (auto& a : args)
          argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execvp("node", argv.data());
        ::_exit(127);
      }
      const auto deadline = std::chrono::steady_clock::now() + 20s;
      while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid)
          break; // exited (port taken?): try another port
        if (accepts(port_)) {
          pid_ = pid;
          break;
        }
        std::this_thread::sleep_for(50ms);
      }
      if (pid_ < 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  }
  ~runtimeuse_process() {
    if (pid_ < 0)
      return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_)
        return;
      std::this_thread::sleep_for(20ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  runtimeuse_process(const runtimeuse_process&) = delete;
  runtimeuse_process& operator=(const runtimeuse_process&) = delete;

  bool started() const { return pid_ > 0; }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/"; }
  std::string log() const { return read_whole_file(log_path_); }

private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
};

class RuntimeuseConformance : public ::testing::Test {
protected:
  void SetUp() override {
    paths_ = runtimeuse_paths::find();
    if (paths_.cli.empty())
      GTEST_SKIP() << "manual check: set AGENTRT_RUNTIMEUSE_CLI to a built runtimeuse "
                      "dist/cli.js (see tests/conformance/run-runtimeuse-check.sh)";
    rt_ = std::make_unique<runtimeuse_process>(paths_);
    ASSERT_TRUE(rt_->started()) << "runtimeuse did not start: " << rt_->log();
    dir_ = agentrt::test::make_temp_dir("runtimeuse-conf-");
  }
  void TearDown() override {
    if (HasFailure() && rt_)
      std::cerr << "---- runtimeuse log ----\n" << rt_->log() << "\n";
  }

  ac::client client() const { return ac::client({rt_->url()}); }
  std::unique_ptr<ac::session> session() const {
    auto [s, err] = ac::session::connect({rt_->url()});
    EXPECT_FALSE(err) << err.message;
    return std::move(s);
  }

  runtimeuse_paths paths_;
  std::unique_ptr<runtimeuse_process> rt_;
  std::string dir_;
};

// Collects command output chunks (they arrive on the I/O thread).
struct output_log {
  std::mutex mu;
  std::vector<p::command_output_message> chunks;
  void attach(ac::request_options& o) {
    o.on_command_output = [this](const p::command_output_message& m) {
      std::lock_guard<std::mutex> lock(mu);
      chunks.push_back(m);
    };
  }
  std::string text(const std::string& stream, const std::string& command = "") {
    std::lock_guard<std::mutex> lock(mu);
    std::string out;
    for (const auto& c : chunks)
      if (c.stream == stream && (command.empty() || c.command == command))
        out += c.text;
    return out;
  }
};

// ---- library: invocations -------------------------------------------------------------------

TEST_F(RuntimeuseConformance, TextQueryEchoesExactly) {
  auto [r, err] = client().query("ECHO:hello world", {});
  ASSERT_FALSE(err) << err.message;
  EXPECT_EQ(r.type, ac::query_result::kind::text);
  EXPECT_EQ(r.text, "hello world");
  EXPECT_EQ(r.metadata_json, "{}");
}

TEST_F(RuntimeuseConformance, StructuredOutputRoundTripsNestedJson) {
  ac::query_options q;
  q.output_format_json_schema_str = R"({"type":"json_schema","schema":{"type":"object"}})";
  auto [r, err] =
      client().query(R"(STRUCTURED:{"answer":42,"nested":{"key":"value"},"l":[1,"x"]})", q);
  ASSERT_FALSE(err) << err.message;
  EXPECT_EQ(r.type, ac::query_result::kind::structured_output);
  EXPECT_EQ(r.structured_output_json, R"({"answer":42,"nested":{"key":"value"},"l":[1,"x"]})");
}

TEST_F(RuntimeuseConformance, AssistantMessagesArriveInOrderBeforeTheResult) {
  std::vector<std::string> got;
  ac::query_options q;
  q.on_assistant_message = [&got](const p::assistant_message& m) {
    for (const auto& b : m.text_blocks)
      got.push_back(b);
  };
  auto [r, err] = client().query("STREAM:3", q);
  ASSERT_FALSE(err) << err.message;
  EXPECT_EQ(r.text, "streamed 3 messages");
  EXPECT_EQ(got, (std::vector<std::string>{"message 1 of 3", "message 2 of 3", "message 3 of 3"}));
}

// runtimeuse answers a handler error with two error_messages (the handler's, then the
// request's terminal); the first ends the call and the second must not leak into the next.
TEST_F(RuntimeuseConformance, HandlerErrorIsARuntimeErrorAndTheSessionStaysUsable) {
  auto s = session();
  ASSERT_TRUE(s);
  auto [r1, e1] = s->query("ERROR:something broke", {});
  ASSERT_TRUE(e1);
  EXPECT_EQ(e1.code, ac::make_error_code(ac::errc::runtime_error));
  EXPECT_EQ(e1.message, "something broke");
  EXPECT_NE(e1.metadata_json.find("echo_handler"), std::string::npos) << e1.metadata_json;
  auto [r2, e2] = s->query("ECHO:after", {});
  ASSERT_FALSE(e2) << e2.message;
  EXPECT_EQ(r2.text, "after");
  EXPECT_FALSE(s->end()) << "end-session handshake";
}

// Cancelled while a pre-command streams (the echo handler's STREAM:n sends everything in one
// turn, so the cancel could only race the result).
TEST_F(RuntimeuseConformance, CancelDuringStreamingAndTheSessionStaysUsable) {
  auto s = session();
  ASSERT_TRUE(s);
  std::atomic<bool> aborted{false};
  ac::query_options q;
  q.pre_agent_invocation_commands = {
      {"for i in $(seq 1 100); do echo line$i; sleep 0.1; done", {}, {}, {}, {}}};
  q.on_command_output = [&](const p::command_output_message&) {
    if (!aborted.exchange(true))
      s->abort();
  };
  auto [r, err] = s->query("ECHO:never", q);
  ASSERT_TRUE(err);
  EXPECT_EQ(err.code, ac::make_error_code(ac::errc::cancelled)) << err.message;
  auto [r2, e2] = s->query("ECHO:still here", {});
  ASSERT_FALSE(e2) << e2.message;
  EXPECT_EQ(r2.text, "still here");
}

// runtimeuse aborts a signal, but a custom handler that ignores it (the echo handler's SLOW)
// keeps running, and "Request cancelled" only comes when it returns. The client reports the
// cancel after cancel_grace and gives up on that connection.
TEST_F(RuntimeuseConformance, CancelOfAHandlerThatIgnoresTheSignalEndsAfterTheGrace) {
  auto s = session();
  ASSERT_TRUE(s);
  std::thread aborter([&s] {
    std::this_thread::sleep_for(300ms);
    s->abort();
  });
  ac::query_options q;
  q.cancel_grace = 2s;
  const auto t0 = std::chrono::steady_clock::now();
  auto [r, err] = s->query("SLOW:30000", q);
  aborter.join();
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(err);
  EXPECT_EQ(err.code, ac::make_error_code(ac::errc::cancelled)) << err.message;
  EXPECT_NE(err.message.find("did not answer the cancel"), std::string::npos) << err.message;
  EXPECT_LT(took, 20s);
  std::cout << "[ figures  ] runtimeuse + non-cooperative handler: cancel reported after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms (abort at 300 ms, cancel_grace 2000 ms)\n";
  // A fresh connection works (runtimeuse serves each connection independently).
  auto [r2, e2] = client().query("ECHO:fresh", {});
  ASSERT_FALSE(e2) << e2.message;
  EXPECT_EQ(r2.text, "fresh");
}

TEST_F(RuntimeuseConformance, PrePostCommandsStreamWithTheirCommandAndCwd) {
  output_log out;
  ac::query_options q;
  out.attach(q);
  q.pre_agent_invocation_commands = {{"echo pre-sentinel", {}, {}, {}, {}},
                                     {"pwd", dir_ + "/pre-cwd", {}, {}, {}}};
  q.post_agent_invocation_commands = {{"echo post-sentinel", {}, {}, {}, {}}};
  auto [r, err] = client().query("ECHO:hello", q);
  ASSERT_FALSE(err) << err.message;
  EXPECT_EQ(r.text, "hello");
  EXPECT_EQ(out.text("stdout", "echo pre-sentinel"), "pre-sentinel\n");
  EXPECT_EQ(out.text("stdout", "echo post-sentinel"), "post-sentinel\n");
  EXPECT_EQ(out.text("stdout", "pwd"), dir_ + "/pre-cwd\n");
}

TEST_F(RuntimeuseConformance, FailingPreCommandFailsTheQuery) {
  ac::query_options q;
  q.pre_agent_invocation_commands = {{"exit 3", {}, {}, {}, {}}};
  auto [r, err] = client().query("ECHO:never", q);
  ASSERT_TRUE(err);
  EXPECT_EQ(err.code, ac::make_error_code(ac::errc::runtime_error));
  EXPECT_NE(err.message.find("failed with exit code"), std::string::npos) << err.message;
}

// ---- library: command execution -------------------------------------------------------------

TEST_F(RuntimeuseConformance, CommandsStreamOutputAndReportStdout) {
  output_log out;
  ac::execute_options o;
  out.attach(o);
  auto [r, err] =
      client().execute_commands({{"echo first; echo oops >&2", {}, {}, {}, {}},
                                 {"echo $GREETING", {}, p::string_map{{"GREETING", "hi"}}, {}, {}}},
                                o);
  ASSERT_FALSE(err) << err.message;
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].command, "echo first; echo oops >&2");
  EXPECT_EQ(r.results[0].exit_code, 0);
  EXPECT_EQ(r.results[0].stdout_text.value_or("<none>"), "first\n");
  EXPECT_EQ(r.results[1].stdout_text.value_or("<none>"), "hi\n");
  EXPECT_EQ(out.text("stdout", "echo first; echo oops >&2"), "first\n");
  EXPECT_EQ(out.text("stderr"), "oops\n");
  EXPECT_EQ(r.failed_exit_code(), 0);
}

TEST_F(RuntimeuseConformance, FailingCommandReturnsItsExitCodeAndSkipsTheRest) {
  auto [r, err] = client().execute_commands({{"echo a", {}, {}, {}, {}},
                                             {"exit 7", {}, {}, {}, {}},
                                             {"touch " + dir_ + "/never", {}, {}, {}, {}}},
                                            {});
  ASSERT_FALSE(err) << err.message;
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[1].command, "exit 7");
  EXPECT_EQ(r.results[1].exit_code, 7);
  EXPECT_EQ(r.failed_exit_code(), 7);
  EXPECT_FALSE(is_file(dir_ + "/never"));
}

// docs/protocol.md: a process killed by a signal is never reported as 0 (runtimeuse says -1).
TEST_F(RuntimeuseConformance, CommandKilledBySignalIsNotZero) {
  auto [r, err] = client().execute_commands({{"kill -KILL $$", {}, {}, {}, {}}}, {});
  ASSERT_FALSE(err) << err.message;
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_NE(r.results[0].exit_code, 0);
  std::cout << "[ figures  ] runtimeuse exit_code for SIGKILL: " << r.results[0].exit_code << "\n";
}

TEST_F(RuntimeuseConformance, CancelDuringACommand) {
  auto s = session();
  ASSERT_TRUE(s);
  std::atomic<bool> aborted{false};
  ac::execute_options o;
  o.on_command_output = [&](const p::command_output_message&) {
    if (!aborted.exchange(true))
      s->abort();
  };
  auto [r, err] = s->execute_commands(
      {{"for i in $(seq 1 100); do echo line$i; sleep 0.1; done", {}, {}, {}, {}}}, o);
  ASSERT_TRUE(err);
  EXPECT_EQ(err.code, ac::make_error_code(ac::errc::cancelled)) << err.message;
  auto [r2, e2] = s->execute_commands({{"echo again", {}, {}, {}, {}}}, {});
  ASSERT_FALSE(e2) << e2.message;
  EXPECT_EQ(r2.results.at(0).exit_code, 0);
}

TEST_F(RuntimeuseConformance, SecretsAreRedactedFromOutputResultsAndAssistantText) {
  output_log out;
  ac::execute_options o;
  out.attach(o);
  o.secrets_to_redact = {"my-secret-token"};
  auto [r, err] = client().execute_commands({{"echo my-secret-token", {}, {}, {}, {}}}, o);
  ASSERT_FALSE(err) << err.message;
  EXPECT_EQ(out.text("stdout"), "[REDACTED]\n");
  EXPECT_EQ(r.results.at(0).stdout_text.value_or(""), "[REDACTED]\n");

  std::vector<std::string> said;
  ac::query_options q;
  q.secrets_to_redact = {"super-secret-value"};
  q.on_assistant_message = [&said](const p::assistant_message& m) { said = m.text_blocks; };
  auto [r2, e2] = client().query("STREAM_TEXT:the password is super-secret-value ok", q);
  ASSERT_FALSE(e2) << e2.message;
  EXPECT_EQ(said, std::vector<std::string>{"the password is [REDACTED] ok"});
  auto [r3, e3] = client().query("ECHO:key super-secret-value here", q);
  ASSERT_FALSE(e3) << e3.message;
  EXPECT_EQ(r3.text, "key [REDACTED] here");
  auto [r4, e4] = client().query("ERROR:failed with super-secret-value exposed", q);
  ASSERT_TRUE(e4);
  EXPECT_EQ(e4.message, "failed with [REDACTED] exposed");
}

// ---- library: downloads and artifacts -------------------------------------------------------

TEST_F(RuntimeuseConformance, DownloadablesAreFetchedBeforeTheHandlerRuns) {
  http_test_server http;
  http.route("/files/setup.sh", http_response::with_status(200, "#!/bin/sh\necho hello"));
  const std::string wd = dir_ + "/dl";
  ac::query_options q;
  q.downloadables = {{http.url("/files/setup.sh"), wd, {}}};
  auto [r, err] = client().query("READ_FILE:" + wd + "/setup.sh", q);
  ASSERT_FALSE(err) << err.message;
  EXPECT_EQ(r.text, "#!/bin/sh\necho hello");

  ac::query_options bad;
  bad.downloadables = {{http.url("/files/missing"), wd, {}}};
  auto [r2, e2] = client().query("ECHO:never", bad);
  ASSERT_TRUE(e2);
  EXPECT_EQ(e2.code, ac::make_error_code(ac::errc::runtime_error));
  EXPECT_NE(e2.message.find("Download failed"), std::string::npos) << e2.message;
}

TEST_F(RuntimeuseConformance, ArtifactsRoundTripToThePresignedUrl) {
  http_test_server http;
  http.route("/uploads/hello.txt", http_response::with_status(200));
  http.route("/uploads/cmd.txt", http_response::with_status(200));
  const std::string adir = dir_ + "/artifacts";
  std::mutex mu;
  std::vector<std::string> announced;
  auto upload = [&](const p::artifact_upload_request_message& m, ac::upload_reply reply) {
    {
      std::lock_guard<std::mutex> lock(mu);
      announced.push_back(m.filepath);
    }
    reply(ac::upload_target{http.url("/uploads/" + m.filename), "text/plain"});
  };
  ac::query_options q;
  q.artifacts_dirs = {adir};
  q.on_artifact_upload_request = upload;
  auto [r, err] = client().query("WRITE_FILE:" + adir + "/hello.txt some-content", q);
  ASSERT_FALSE(err) << err.message;
  EXPECT_EQ(r.text, "wrote " + adir + "/hello.txt");

  // A file written by a command into the second of two watched dirs, announced on the
  // session and drained by end().
  const std::string adir2 = dir_ + "/artifacts-2";
  auto s = session();
  ASSERT_TRUE(s);
  ac::execute_options o;
  o.artifacts_dirs = {adir, adir2};
  o.on_artifact_upload_request = upload;
  auto [r2, e2] =
      s->execute_commands({{"printf cmd-bytes > " + adir2 + "/cmd.txt", {}, {}, {}, {}}}, o);
  ASSERT_FALSE(e2) << e2.message;
  EXPECT_FALSE(s->end()) << "end-session drain";

  std::map<std::string, std::string> bodies, types;
  for (const auto& put : http.puts()) {
    bodies[put.path] = put.body_head;
    types[put.path] = put.content_type;
  }
  EXPECT_EQ(bodies["/uploads/hello.txt"], "some-content");
  EXPECT_EQ(types["/uploads/hello.txt"], "text/plain");
  EXPECT_EQ(bodies["/uploads/cmd.txt"], "cmd-bytes");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_NE(std::find(announced.begin(), announced.end(), adir + "/hello.txt"), announced.end());
  EXPECT_NE(std::find(announced.begin(), announced.end(), adir2 + "/cmd.txt"), announced.end());
}

TEST_F(RuntimeuseConformance, EndSessionIsConfirmed) {
  auto s = session();
  ASSERT_TRUE(s);
  auto [r, err] = s->execute_commands({{"true", {}, {}, {}, {}}}, {});
  ASSERT_FALSE(err) << err.message;
  EXPECT_FALSE(s->end());
  auto [r2, e2] = s->execute_commands({{"true", {}, {}, {}, {}}}, {});
  EXPECT_TRUE(e2) << "no requests after end()";
}

// runtimeuse's heartbeat interval is 15 s: the only slow test here.
TEST_F(RuntimeuseConformance, HeartbeatsDecode) {
  std::atomic<int> beats{0};
  std::atomic<long long> elapsed{0};
  ac::query_options q;
  q.on_heartbeat = [&](const p::heartbeat_message& h) {
    ++beats;
    elapsed = h.elapsed_ms;
    EXPECT_EQ(h.phase, "request_in_flight");
  };
  auto [r, err] = client().query("SLOW:16000", q);
  ASSERT_FALSE(err) << err.message;
  EXPECT_EQ(r.text, "done");
  EXPECT_GE(beats.load(), 1);
  EXPECT_GE(elapsed.load(), 14000);
}

// ---- agentrt-client CLI ---------------------------------------------------------------------

agentrt::test::program_result run_cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv{AGENTRT_CLIENT_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return agentrt::test::run_program(argv);
}

TEST_F(RuntimeuseConformance, CliExecStreamsAndPassesTheFailingExitCodeThrough) {
  auto r = run_cli({"exec", rt_->url(), "--", "echo out; echo err >&2", "exit 9", "echo never"});
  EXPECT_EQ(r.code, 9) << r.err;
  EXPECT_EQ(r.out, "out\n");
  EXPECT_NE(r.err.find("err\n"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("never"), std::string::npos);
}

TEST_F(RuntimeuseConformance, CliQueryPrintsTextAndStructuredOutput) {
  auto t = run_cli({"query", rt_->url(), "--prompt", "STREAM:2", "--model", "echo"});
  EXPECT_EQ(t.code, 0) << t.err;
  EXPECT_EQ(t.out, "streamed 2 messages\n");
  EXPECT_NE(t.err.find("message 2 of 2"), std::string::npos)
      << "assistant text on stderr: " << t.err;

  const std::string schema = dir_ + "/schema.json";
  std::ofstream(schema) << R"({"type":"object"})";
  auto s = run_cli(
      {"query", rt_->url(), "--prompt", R"(STRUCTURED:{"a":{"b":[1,2]}})", "--schema", schema});
  EXPECT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(s.out, "{\"a\":{\"b\":[1,2]}}\n");

  auto e = run_cli({"query", rt_->url(), "--prompt", "ERROR:boom"});
  EXPECT_EQ(e.code, 70) << e.err;
  EXPECT_NE(e.err.find("boom"), std::string::npos) << e.err;
}

TEST_F(RuntimeuseConformance, CliJsonAndSecretsAndUploads) {
  const std::string adir = dir_ + "/cli-artifacts";
  const std::string recv = dir_ + "/received";
  auto r =
      run_cli({"exec", rt_->url(), "--json", "--secret", "hunter2", "--artifacts", adir,
               "--upload-to", recv, "--", "echo pw=hunter2; printf data > " + adir + "/a.txt"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"message_type\":\"command_output_message\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pw=[REDACTED]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"message_type\":\"command_execution_result_message\""), std::string::npos);
  EXPECT_EQ(read_whole_file(recv + "/a.txt"), "data") << r.err;
}

} // namespace

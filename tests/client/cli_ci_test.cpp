// agentrt-client as a CI job uses it, against the real runtime: argument parsing (CLI11: per
// subcommand help, --flag=value, "--" ends the options, errors naming the argument), exit codes
// that tell authentication, usage and artifact failures apart, artifacts kept whole (relative
// paths, no silent overwrite, undelivered files reported and failing the run at once), and the
// CI features: per-command timeout and stdin, --script/--shell, --prompt-file/--prompt -,
// --wait-ready, GitHub/GitLab log markup, --summary-json, --idle-timeout counting output, and a
// second Ctrl-C.
#include <gtest/gtest.h>

#include <rapidjson/document.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agentrt/protocol/codec.hpp"
#include "support/http_test_server.hpp"
#include "support/program_run.hpp"
#include "support/runtime_process.hpp"
#include "support/scripted_peer.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

program_result run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), AGENTRT_CLIENT_BINARY);
  return run_program(args);
}

program_run start_cli(std::vector<std::string> args) {
  args.insert(args.begin(), AGENTRT_CLIENT_BINARY);
  return start_program(args);
}

// The CLI with extra environment entries (K=V) and a shell line feeding its stdin.
program_result run_cli_env(const std::vector<std::string>& env, std::vector<std::string> args) {
  std::vector<std::string> argv{"/usr/bin/env"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(AGENTRT_CLIENT_BINARY);
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv);
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

program_result run_cli_with_stdin(const std::string& input, const std::vector<std::string>& args) {
  std::string line = "printf %s " + quote(input) + " | " + quote(AGENTRT_CLIENT_BINARY);
  for (const auto& a : args)
    line += " " + quote(a);
  return run_program({"/bin/sh", "-c", line});
}

void write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- §3 help and argument parsing --------------------------------------------------------

TEST(ClientCliCi, EachSubcommandHelpListsItsOptions) {
  auto exec = run_cli({"exec", "--help"});
  EXPECT_EQ(exec.code, 0) << exec.err;
  for (const char* o : {"--cwd", "--env", "--command-timeout", "--stdin", "--script", "--shell",
                        "--timeout", "--idle-timeout", "--wait-ready", "--artifacts", "--upload-to",
                        "--presign-cmd", "--summary-json", "--ci", "Exit codes"})
    EXPECT_TRUE(contains(exec.out, o)) << o << "\n" << exec.out;
  auto query = run_cli({"query", "-h"});
  EXPECT_EQ(query.code, 0) << query.err;
  for (const char* o : {"--prompt", "--prompt-file", "--system", "--model", "--schema"})
    EXPECT_TRUE(contains(query.out, o)) << o << "\n" << query.out;
  EXPECT_FALSE(contains(query.out, "--cwd")) << query.out;
  auto attach = run_cli({"attach", "--help"});
  EXPECT_EQ(attach.code, 0) << attach.err;
  EXPECT_TRUE(contains(attach.out, "--upload-to")) << attach.out;
  EXPECT_FALSE(contains(attach.out, "--artifacts DIR")) << attach.out;
  EXPECT_EQ(run_cli({"query", "--version"}).code, 0);
}

TEST(ClientCliCi, FlagEqualsValueAndDoubleDashAndErrorsNameTheArgument) {
  runtime_process rt;
  auto eq = run_cli({"exec", rt.url(), "--timeout=20", "--env=A=b", "--", "echo $A"});
  EXPECT_EQ(eq.code, 0) << eq.err;
  EXPECT_EQ(eq.out, "b\n");
  // After "--", -h is the command's own: here /bin/sh's (an invalid option), not our help.
  auto h = run_cli({"exec", rt.url(), "--", "-h"});
  EXPECT_NE(h.code, 0);
  EXPECT_FALSE(contains(h.out, "Usage")) << h.out;
  auto v = run_cli({"exec", "-v", rt.url(), "--", "true"});
  EXPECT_EQ(v.code, 64);
  EXPECT_TRUE(contains(v.err, "-v")) << v.err;
  auto t = run_cli({"exec", rt.url(), "--timeout", "soon", "--", "true"});
  EXPECT_EQ(t.code, 64);
  EXPECT_TRUE(contains(t.err, "--timeout")) << t.err;
  EXPECT_TRUE(contains(t.err, "soon")) << t.err;
}

// ---- §2 exit codes and messages ----------------------------------------------------------

TEST(ClientCliCi, RefusedAuthenticationExits77WithAPlainMessage) {
  runtime_process rt({"--token", "right-token"});
  for (const auto& token : std::vector<std::vector<std::string>>{{}, {"--token", "wrong"}}) {
    std::vector<std::string> args{"exec", rt.url()};
    args.insert(args.end(), token.begin(), token.end());
    args.insert(args.end(), {"--", "true"});
    auto r = run_cli(args);
    EXPECT_EQ(r.code, 77) << r.err;
    EXPECT_TRUE(contains(r.err, "authentication refused (HTTP 401)")) << r.err;
    EXPECT_FALSE(contains(r.err, "Invalid HTTP status")) << r.err;
  }
  auto j = run_cli({"exec", rt.url(), "--json", "--", "true"});
  EXPECT_EQ(j.code, 77);
  EXPECT_TRUE(contains(j.out, R"("code":"authentication_refused")")) << j.out;
  auto ok = run_cli_env({"AGENTRT_TOKEN=right-token"}, {"exec", rt.url(), "--", "echo in"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(ok.out, "in\n");
}

TEST(ClientCliCi, AUrlThatIsNotWebsocketIsAUsageError) {
  for (const char* url : {"http://127.0.0.1:1/", "127.0.0.1:8080", "ftp://x/"}) {
    auto r = run_cli({"exec", url, "--", "true"});
    EXPECT_EQ(r.code, 64) << url << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "invalid URL")) << r.err;
  }
}

TEST(ClientCliCi, JsonClientErrorCodesAreStableNamesAndFailedCommandsAreNamed) {
  auto c = run_cli({"exec", "ws://127.0.0.1:1/", "--json", "--", "true"});
  EXPECT_EQ(c.code, 69);
  rapidjson::Document d;
  d.Parse(c.out.c_str());
  ASSERT_FALSE(d.HasParseError()) << c.out;
  EXPECT_STREQ(d["code"].GetString(), "connection_failed");
  runtime_process rt;
  auto f = run_cli({"exec", rt.url(), "--json", "--", "true", "exit 3"});
  EXPECT_EQ(f.code, 3);
  EXPECT_TRUE(contains(
      f.out, R"({"message_type":"command_failed","index":1,"command":"exit 3","exit_code":3})"))
      << f.out;
  auto t = run_cli({"exec", rt.url(), "--timeout", "0.5", "--", "sleep 30"});
  EXPECT_EQ(t.code, 124);
  EXPECT_TRUE(contains(t.err, "'sleep 30'")) << t.err;
}

// ---- §1 artifacts ------------------------------------------------------------------------

TEST(ClientCliCi, UploadToKeepsRelativePathsAndNeverOverwritesSilently) {
  runtime_process rt;
  auto remote = make_temp_dir();
  auto local = make_temp_dir();
  auto r = run_cli({"exec", rt.url(), "--artifacts", remote, "--upload-to", local, "--",
                    "mkdir -p " + remote + "/a " + remote + "/b && echo A > " + remote +
                        "/a/r.xml && echo B > " + remote + "/b/r.xml"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(read_whole_file(local + "/a/r.xml"), "A\n");
  EXPECT_EQ(read_whole_file(local + "/b/r.xml"), "B\n");
  EXPECT_FALSE(std::filesystem::exists(local + "/r.xml"));

  // Two artifact directories: each under its own name.
  auto one = make_temp_dir(), two = make_temp_dir(), local2 = make_temp_dir();
  auto r2 = run_cli({"exec", rt.url(), "--artifacts", one, "--artifacts", two, "--upload-to",
                     local2, "--", "echo 1 > " + one + "/r.xml; echo 2 > " + two + "/r.xml"});
  EXPECT_EQ(r2.code, 0) << r2.err;
  const std::string n1 = std::filesystem::path(one).filename(),
                    n2 = std::filesystem::path(two).filename();
  EXPECT_EQ(read_whole_file(local2 + "/" + n1 + "/r.xml"), "1\n");
  EXPECT_EQ(read_whole_file(local2 + "/" + n2 + "/r.xml"), "2\n");

  // A file already in LOCAL is kept; the run says so and fails.
  auto remote3 = make_temp_dir(), local3 = make_temp_dir();
  write_file(local3 + "/keep.txt", "old\n");
  const auto started = clock_type::now();
  auto r3 = run_cli({"exec", rt.url(), "--artifacts", remote3, "--upload-to", local3, "--",
                     "echo new > " + remote3 + "/keep.txt"});
  std::printf("[ figures  ] declined upload (file exists): exit after %.2f s\n",
              seconds_since(started));
  EXPECT_EQ(r3.code, 74) << r3.err;
  EXPECT_TRUE(contains(r3.err, remote3 + "/keep.txt")) << r3.err;
  EXPECT_TRUE(contains(r3.err, "already exists")) << r3.err;
  EXPECT_EQ(read_whole_file(local3 + "/keep.txt"), "old\n");
  auto r4 = run_cli({"exec", rt.url(), "--artifacts", remote3, "--upload-to", local3, "--overwrite",
                     "--", "echo newer > " + remote3 + "/keep.txt"});
  EXPECT_EQ(r4.code, 0) << r4.err;
  EXPECT_EQ(read_whole_file(local3 + "/keep.txt"), "newer\n");
}

TEST(ClientCliCi, AFailingPresignCmdFailsTheRunAtOnceNamingTheFile) {
  runtime_process rt;
  auto remote = make_temp_dir();
  const auto started = clock_type::now();
  auto r = run_cli({"exec", rt.url(), "--artifacts", remote, "--presign-cmd", "exit 3", "--",
                    "echo x > " + remote + "/report.xml"});
  const double took = seconds_since(started);
  std::printf("[ figures  ] failing --presign-cmd: exit after %.2f s (runtime drain: 30 s)\n",
              took);
  EXPECT_EQ(r.code, 74) << r.err;
  EXPECT_TRUE(contains(r.err, remote + "/report.xml")) << r.err;
  EXPECT_TRUE(contains(r.err, "--presign-cmd failed (exit code 3)")) << r.err;
  EXPECT_LT(took, 25.0); // the client stops waiting for the runtime's drain
  // The decline reached the runtime (extension upload-decline): it stopped waiting at once
  // instead of draining for --drain-timeout.
  const std::string line = "the client declined the upload of " + remote + "/report.xml";
  for (int i = 0; i < 100 && !contains(rt.log(), line); ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(contains(rt.log(), line)) << rt.log();
  EXPECT_FALSE(contains(rt.log(), "gave up waiting")) << rt.log();
}

// The --upload-to receiver is reachable by whatever can reach this machine: a malformed PUT
// is refused with 400, and the CLI lives on (a Content-Length it could not parse used to throw
// on the receiver's thread and abort the CLI).
TEST(ClientCliCi, UploadToRefusesAMalformedPutAndSurvivesIt) {
  const std::string adir = make_temp_dir(), local = make_temp_dir();
  protocol::artifact_upload_request_message announce{"a.txt", adir + "/a.txt"};
  protocol::command_execution_result_message result;
  result.results.push_back(protocol::command_result{"true", 0, std::string(), false});
  scripted_peer peer(
      {scripted_peer::expect("command_execution_message"), scripted_peer::send(announce),
       scripted_peer::expect("artifact_upload_response_message"), scripted_peer::pause(1500ms),
       scripted_peer::send(result), scripted_peer::expect("end_session_message"),
       scripted_peer::send(protocol::end_session_confirm_message{}), scripted_peer::close()});
  auto cli = start_cli({"exec", peer.url(), "--no-durable", "--artifacts", adir, "--upload-to",
                        local, "--", "true"});
  std::string url;
  for (int i = 0; i < 100 && url.empty(); ++i) {
    for (const auto& frame : peer.received()) {
      const auto d = protocol::decode(frame);
      if (d.msg)
        if (auto* r = std::get_if<protocol::artifact_upload_response_message>(&*d.msg))
          url = r->presigned_url;
    }
    if (url.empty())
      std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(url.rfind("http://127.0.0.1:", 0), 0u) << url;
  const auto colon = url.find(':', 7), slash = url.find('/', colon);
  const int port = std::atoi(url.substr(colon + 1, slash - colon - 1).c_str());
  const int fd = connect_loopback(port);
  ASSERT_GE(fd, 0);
  const std::string put =
      "PUT " + url.substr(slash) + " HTTP/1.1\r\nHost: x\r\nContent-Length: zzz\r\n\r\nbody";
  ASSERT_EQ(::write(fd, put.data(), put.size()), static_cast<ssize_t>(put.size()));
  char buf[256] = {};
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  EXPECT_TRUE(n > 0 && contains(buf, "400 Bad Request")) << buf;
  const int code = cli.wait();
  // Not delivered (the one PUT was refused): 74, never a crash.
  EXPECT_EQ(code, 74) << cli.err();
  EXPECT_TRUE(contains(cli.err(), adir + "/a.txt")) << cli.err();
  EXPECT_TRUE(peer.wait_done()) << peer.failure();
}

TEST(ClientCliCi, AnUploadToAnUnreachableUrlFailsTheRun) {
  runtime_process rt;
  auto remote = make_temp_dir();
  const int port = free_port(); // nothing listens there
  const auto started = clock_type::now();
  auto r = run_cli({"exec", rt.url(), "--json", "--artifacts", remote, "--presign-cmd",
                    "printf 'http://127.0.0.1:" + std::to_string(port) + "/%s\\n'", "--",
                    "echo x > " + remote + "/out.bin"});
  std::printf("[ figures  ] upload to an unreachable URL: exit after %.2f s\n",
              seconds_since(started));
  EXPECT_EQ(r.code, 74) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, R"("code":"artifact_not_delivered")")) << r.out;
  EXPECT_TRUE(contains(r.out, remote + "/out.bin")) << r.out;
  EXPECT_TRUE(contains(r.out, "127.0.0.1:" + std::to_string(port) + "/out.bin")) << r.out;
  EXPECT_FALSE(contains(r.out, "bad/illegal format")) << r.out; // a real URL, unreachable
}

// ---- §4 what a CI job needs --------------------------------------------------------------

TEST(ClientCliCi, PerCommandStdinAndTimeout) {
  runtime_process rt;
  auto dir = make_temp_dir();
  write_file(dir + "/in.txt", "from a file\n");
  auto f = run_cli({"exec", rt.url(), "--stdin", dir + "/in.txt", "--", "cat"});
  EXPECT_EQ(f.code, 0) << f.err;
  EXPECT_EQ(f.out, "from a file\n");
  auto s = run_cli_with_stdin("piped\n", {"exec", rt.url(), "--stdin", "-", "--", "tr a-z A-Z"});
  EXPECT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(s.out, "PIPED\n");
  const auto started = clock_type::now();
  auto t = run_cli({"exec", rt.url(), "--command-timeout", "0.5", "--", "sleep 30", "echo never"});
  std::printf("[ figures  ] --command-timeout 0.5: exit %d after %.2f s\n", t.code,
              seconds_since(started));
  EXPECT_NE(t.code, 0);
  EXPECT_FALSE(contains(t.out, "never"));
  EXPECT_TRUE(contains(t.err, "sleep 30")) << t.err;
}

TEST(ClientCliCi, ScriptRunsAFileAsOneCommandWithAChosenShell) {
  runtime_process rt;
  auto dir = make_temp_dir();
  write_file(dir + "/ci.sh", "set -e\necho one\nx=$((2+3))\necho \"two $x\"\n");
  auto r = run_cli({"exec", rt.url(), "--script", dir + "/ci.sh"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "one\ntwo 5\n");
  write_file(dir + "/b.sh", "if [[ a == a ]]; then echo \"bash $0\"; fi\nexit 4\n");
  auto b = run_cli({"exec", rt.url(), "--script", dir + "/b.sh", "--shell", "bash"});
  EXPECT_EQ(b.code, 4) << b.err;
  EXPECT_EQ(b.out, "bash " + dir + "/b.sh\n");
  EXPECT_EQ(run_cli({"exec", rt.url(), "--script", dir + "/b.sh", "--", "true"}).code, 64);
  EXPECT_EQ(run_cli({"exec", rt.url(), "--script", dir + "/missing.sh"}).code, 64);
}

TEST(ClientCliCi, PromptFromAFileOrStdin) {
  auto dir = make_temp_dir();
  // A handler (agentrt's custom harness protocol) that answers with the prompt it got.
  write_file(dir + "/echo.py",
             "#!/usr/bin/env python3\nimport json, sys\nreq = json.loads(sys.stdin.readline())\n"
             "print(json.dumps({'type': 'result', 'data': {'type': 'text', 'text': "
             "'got: ' + req['user_prompt']}, 'metadata': {}}), flush=True)\n");
  std::filesystem::permissions(dir + "/echo.py", std::filesystem::perms::owner_all);
  runtime_process rt({"--handler", dir + "/echo.py"});
  write_file(dir + "/prompt.txt", "from the file");
  auto f = run_cli({"query", rt.url(), "--prompt-file", dir + "/prompt.txt"});
  EXPECT_EQ(f.code, 0) << f.err;
  EXPECT_EQ(f.out, "got: from the file\n");
  auto s = run_cli_with_stdin("from stdin", {"query", rt.url(), "--prompt", "-"});
  EXPECT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(s.out, "got: from stdin\n");
  EXPECT_EQ(
      run_cli({"query", rt.url(), "--prompt", "x", "--prompt-file", dir + "/prompt.txt"}).code, 64);
}

TEST(ClientCliCi, WaitReadyRetriesUntilTheRuntimeAnswers) {
  const int port = free_port();
  const std::string url = "ws://127.0.0.1:" + std::to_string(port) + "/";
  EXPECT_EQ(run_cli({"exec", url, "--", "true"}).code, 69);
  const auto started = clock_type::now();
  auto cli = start_cli({"exec", url, "--wait-ready", "20", "--", "echo ready"});
  std::this_thread::sleep_for(1500ms);
  auto rt = start_program({AGENTRT_BINARY, "--host", "127.0.0.1", "--port", std::to_string(port)});
  const int code = cli.wait();
  std::printf(
      "[ figures  ] --wait-ready: connected %.2f s after start (runtime started at 1.5 s)\n",
      seconds_since(started));
  ::kill(rt.pid, SIGTERM);
  rt.wait();
  EXPECT_EQ(code, 0) << cli.err();
  EXPECT_EQ(cli.out(), "ready\n");
  // A deadline that passes: a connection failure as without the flag.
  auto gone = run_cli({"exec", url, "--wait-ready", "0.6", "--", "true"});
  EXPECT_EQ(gone.code, 69);
}

TEST(ClientCliCi, GithubActionsAndGitlabMarkup) {
  runtime_process rt;
  auto gh = run_cli_env({"GITHUB_ACTIONS=true"},
                        {"exec", rt.url(), "--", "echo hi", "echo oops >&2; exit 2"});
  EXPECT_EQ(gh.code, 2);
  EXPECT_EQ(gh.out, "::group::$ echo hi\nhi\n::endgroup::\n::group::$ echo oops >&2; exit 2\n"
                    "::endgroup::\n::error title=agentrt-client::command 2 of 2 failed with exit "
                    "code 2: echo oops >&2; exit 2\n");
  // Off with --json (stdout is JSON lines) and with --ci none.
  auto none =
      run_cli_env({"GITHUB_ACTIONS=true"}, {"exec", rt.url(), "--ci", "none", "--", "echo hi"});
  EXPECT_EQ(none.out, "hi\n");
  auto gl = run_cli({"exec", rt.url(), "--ci", "gitlab", "--", "echo hi"});
  EXPECT_EQ(gl.code, 0);
  EXPECT_TRUE(contains(gl.out, "\033[0Ksection_start:")) << gl.out;
  EXPECT_TRUE(contains(gl.out, ":agentrt_command_1\r\033[0K$ echo hi\nhi\n\033[0Ksection_end:"))
      << gl.out;
}

TEST(ClientCliCi, SummaryJsonHasCommandsDurationsAndArtifacts) {
  runtime_process rt;
  auto remote = make_temp_dir(), local = make_temp_dir(), dir = make_temp_dir();
  auto r = run_cli({"exec", rt.url(), "--summary-json", dir + "/s.json", "--artifacts", remote,
                    "--upload-to", local, "--", "echo r > " + remote + "/r.xml", "sleep 0.3",
                    "exit 5", "echo never"});
  EXPECT_EQ(r.code, 5) << r.err;
  rapidjson::Document d;
  const std::string text = read_whole_file(dir + "/s.json");
  d.Parse(text.c_str());
  ASSERT_FALSE(d.HasParseError()) << text;
  EXPECT_EQ(d["exit_code"].GetInt(), 5);
  EXPECT_STREQ(d["mode"].GetString(), "exec");
  const auto& commands = d["commands"];
  ASSERT_EQ(commands.Size(), 3u) << text; // the fourth never ran
  EXPECT_EQ(commands[0]["exit_code"].GetInt(), 0);
  EXPECT_GE(commands[1]["duration_s"].GetDouble(), 0.3);
  EXPECT_EQ(commands[2]["exit_code"].GetInt(), 5);
  ASSERT_EQ(d["artifacts"]["delivered"].Size(), 1u) << text;
  EXPECT_EQ(std::string(d["artifacts"]["delivered"][0]["filepath"].GetString()), remote + "/r.xml");
  EXPECT_EQ(d["artifacts"]["failed"].Size(), 0u);
  // A run that failed to connect still writes it.
  auto c = run_cli({"exec", "ws://127.0.0.1:1/", "--summary-json", dir + "/c.json", "--", "x"});
  EXPECT_EQ(c.code, 69);
  EXPECT_TRUE(contains(read_whole_file(dir + "/c.json"), R"("code":"connection_failed")"));
}

TEST(ClientCliCi, IdleTimeoutCountsOutputNotHeartbeats) {
  runtime_process rt({"--heartbeat-interval", "0.2"});
  const auto started = clock_type::now();
  auto silent =
      run_cli({"exec", rt.url(), "--idle-timeout", "1", "--timeout", "20", "--", "sleep 30"});
  std::printf("[ figures  ] --idle-timeout 1 with heartbeats every 0.2 s: exit after %.2f s\n",
              seconds_since(started));
  EXPECT_EQ(silent.code, 124) << silent.err;
  EXPECT_TRUE(contains(silent.err, "idle timeout")) << silent.err;
  auto chatty = run_cli({"exec", rt.url(), "--idle-timeout", "1", "--",
                         "for i in 1 2 3 4 5 6; do echo $i; sleep 0.4; done"});
  EXPECT_EQ(chatty.code, 0) << chatty.err;
}

TEST(ClientCliCi, DeadAfterCountsEveryFrame) {
  // A peer that takes the request and then sends nothing at all, heartbeats included.
  scripted_peer peer(
      {scripted_peer::expect("command_execution_message"), scripted_peer::pause(30s)});
  const auto started = clock_type::now();
  auto r = run_cli({"exec", peer.url(), "--dead-after", "0.5", "--", "sleep 100"});
  std::printf("[ figures  ] --dead-after 0.5 against a silent peer: exit after %.2f s\n",
              seconds_since(started));
  EXPECT_EQ(r.code, 124) << r.err;
  // With heartbeats the runtime is alive: a silent command outlives --dead-after.
  runtime_process rt({"--heartbeat-interval", "0.2"});
  auto alive = run_cli({"exec", rt.url(), "--dead-after", "1", "--", "sleep 2; echo done"});
  EXPECT_EQ(alive.code, 0) << alive.err;
  EXPECT_EQ(alive.out, "done\n");
}

TEST(ClientCliCi, ASecondInterruptQuitsAtOnce) {
  // A peer that never answers the cancel: the first SIGINT waits for it (cancel grace 10 s).
  scripted_peer peer(
      {scripted_peer::expect("command_execution_message"), scripted_peer::pause(30s)});
  auto r = start_cli({"exec", peer.url(), "--", "sleep 100"});
  std::this_thread::sleep_for(700ms);
  ::kill(r.pid, SIGINT);
  std::this_thread::sleep_for(300ms);
  const auto second = clock_type::now();
  ::kill(r.pid, SIGINT);
  const int code = r.wait();
  std::printf("[ figures  ] second SIGINT: exit after %.3f s\n", seconds_since(second));
  EXPECT_EQ(code, 130);
  EXPECT_TRUE(contains(r.err(), "interrupted again")) << r.err();
  EXPECT_LT(seconds_since(second), 5.0);
}

} // namespace
} // namespace agentrt::test

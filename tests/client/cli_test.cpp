// agentrt-client against the real runtime: exit codes for each outcome, streaming of command
// output while the command still runs, --json, artifacts through --upload-to/--presign-cmd.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "agentrt/client/version.hpp"
#include "support/http_test_server.hpp"
#include "support/program_run.hpp"
#include "support/runtime_process.hpp"

namespace {

using namespace std::chrono_literals;
using agentrt::test::runtime_process;

std::string read_file(const std::string& path) {
  return agentrt::test::read_whole_file(path);
}

agentrt::test::program_run start_cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv{AGENTRT_CLIENT_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return agentrt::test::start_program(argv);
}

agentrt::test::program_result run_cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv{AGENTRT_CLIENT_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return agentrt::test::run_program(argv);
}

TEST(ClientCli, ExecStreamsOutputAndReturnsTheFailingExitCode) {
  runtime_process rt;
  auto r = run_cli({"exec", rt.url(), "--", "echo out; echo err >&2", "exit 9", "echo never"});
  EXPECT_EQ(r.code, 9);
  EXPECT_EQ(r.out, "out\n");
  // The failing command is named (2 of 3: which one, when one text appears twice).
  EXPECT_EQ(r.err, "err\nagentrt-client: command 2 of 3 failed with exit code 9: exit 9\n");
  auto ok = run_cli({"exec", rt.url(), "--env", "A=b", "--cwd", "/tmp", "--", "echo $A; pwd"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(ok.out, "b\n/tmp\n");
}

TEST(ClientCli, OutputArrivesWhileTheCommandRuns) {
  runtime_process rt;
  auto r = start_cli({"exec", rt.url(), "--", "echo first; sleep 3; echo second"});
  std::string seen;
  const auto deadline = std::chrono::steady_clock::now() + 2500ms;
  while (std::chrono::steady_clock::now() < deadline && seen.empty()) {
    std::this_thread::sleep_for(50ms);
    seen = read_file(r.out_path);
  }
  EXPECT_EQ(seen, "first\n");
  EXPECT_EQ(r.wait(), 0);
  EXPECT_EQ(r.out(), "first\nsecond\n");
}

TEST(ClientCli, ExitCodesTellOutcomesApart) {
  runtime_process rt;
  EXPECT_EQ(run_cli({"exec", rt.url()}).code, 64); // no commands
  EXPECT_EQ(run_cli({"frobnicate"}).code, 64);     // unknown subcommand
  EXPECT_EQ(run_cli({"exec", rt.url(), "--artifacts", "/tmp/x", "--", "true"}).code, 64);
  EXPECT_EQ(run_cli({"exec", "ws://127.0.0.1:1/", "--", "true"}).code, 69);
  auto q = run_cli({"query", rt.url(), "--prompt", "hi"});
  EXPECT_EQ(q.code, 70);
  EXPECT_NE(q.err.find("no agent harness available"), std::string::npos) << q.err;
  auto t = run_cli({"exec", rt.url(), "--timeout", "0.3", "--", "sleep 30"});
  EXPECT_EQ(t.code, 124);
  EXPECT_NE(t.err.find("overall"), std::string::npos) << t.err;
  EXPECT_EQ(run_cli({"exec", rt.url(), "--idle-timeout", "0.3", "--", "sleep 30"}).code, 124);
  auto help = run_cli({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("Exit codes"), std::string::npos);
}

TEST(ClientCli, VersionPrintsTheProjectVersion) {
  const std::string version = agentrt::client::version();
  auto v = run_cli({"--version"});
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_EQ(v.out, "agentrt-client " + version + "\n");
  // One project version: the runtime reports the same.
  EXPECT_EQ(agentrt::test::run_program({AGENTRT_BINARY, "--version"}).out,
            "agentrt " + version + "\n");
  EXPECT_EQ(run_cli({"exec", "--version"}).out, v.out);
  EXPECT_NE(run_cli({"--help"}).out.find("--version"), std::string::npos);
  // After "--" it is a command's text, not an option.
  runtime_process rt;
  auto r = run_cli({"exec", rt.url(), "--", "echo --version"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "--version\n");
}

TEST(ClientCli, SigintCancelsTheRequest) {
  runtime_process rt;
  auto r = start_cli({"exec", rt.url(), "--", "echo started; sleep 30"});
  for (int i = 0; i < 100 && read_file(r.out_path).empty(); ++i)
    std::this_thread::sleep_for(50ms);
  ::kill(r.pid, SIGINT);
  EXPECT_EQ(r.wait(), 130);
}

TEST(ClientCli, JsonPrintsEveryMessageAsALine) {
  runtime_process rt;
  auto r = run_cli({"exec", rt.url(), "--json", "--secret", "s3cret", "--", "echo s3cret"});
  EXPECT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::vector<std::string> all;
  for (std::string line; std::getline(lines, line);)
    all.push_back(line);
  ASSERT_GE(all.size(), 2u) << r.out;
  EXPECT_EQ(all.front().rfind(R"({"message_type":"command_output_message")", 0), 0u);
  EXPECT_EQ(all.back().rfind(R"({"message_type":"command_execution_result_message")", 0), 0u);
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos);
  auto c = run_cli({"exec", "ws://127.0.0.1:1/", "--json", "--", "true"});
  EXPECT_EQ(c.code, 69);
  EXPECT_EQ(c.out.rfind(R"({"message_type":"client_error")", 0), 0u) << c.out;
}

TEST(ClientCli, ArtifactsViaUploadToAndPresignCmd) {
  runtime_process rt;
  auto remote = agentrt::test::make_temp_dir();
  auto local = agentrt::test::make_temp_dir();
  auto r = run_cli({"exec", rt.url(), "--artifacts", remote, "--upload-to", local, "--",
                    "echo payload > " + remote + "/a.txt"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(read_file(local + "/a.txt"), "payload\n");

  agentrt::test::http_test_server http;
  http.route("/presigned/b.txt", agentrt::test::http_response::with_status(200));
  auto remote2 = agentrt::test::make_temp_dir();
  auto r2 = run_cli({"exec", rt.url(), "--artifacts", remote2, "--presign-cmd",
                     "printf '" + http.url("/presigned/") + "%s\\n'", "--",
                     "echo more > " + remote2 + "/b.txt"});
  EXPECT_EQ(r2.code, 0) << r2.err;
  auto puts = http.puts();
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].body_head, "more\n");
}

} // namespace

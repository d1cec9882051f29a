// The texts a user sees when the client library or the CLI refuses its input before anything
// reaches a runtime: an unusable URL (WebSocket and files API), a session handle that is not
// one, a process command without a process, an --upload-to receiver that cannot be set up, a
// file an option names that cannot be read. Each is pinned word for word with its exit code, so
// that a change in how these failures travel inside the client cannot change what is printed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agentrt/client/async_session.hpp"
#include "agentrt/client/files.hpp"
#include "agentrt/client/io_loop.hpp"
#include "support/program_run.hpp"

namespace agentrt::test {
namespace {

// No runtime listens here: every case below must fail before connecting.
constexpr const char* nowhere = "ws://127.0.0.1:1/";

const std::string usage_hint_attach = "\nRun 'agentrt-client attach --help' for the options.\n";

// The CLI with the AGENTRT_* handle variables unset and `env` (K=V) added.
program_result run_cli(const std::vector<std::string>& env, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/bin/env",     "-u", "AGENTRT_URL",          "-u",
                                "AGENTRT_SESSION",  "-u", "AGENTRT_RESUME_TOKEN", "-u",
                                "AGENTRT_LAST_SEQ", "-u", "AGENTRT_PROCESS"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(AGENTRT_CLIENT_BINARY);
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv);
}

TEST(ClientErrorText, ASessionUrlThatIsNotWebsocketFailsTheConnect) {
  client::io_loop loop;
  auto [s, e] = client::async_session::connect(loop, {"http://127.0.0.1:1/"}).get();
  EXPECT_EQ(s, nullptr);
  EXPECT_EQ(e.code, client::errc::connection_failed);
  EXPECT_EQ(e.message, "cannot connect to http://127.0.0.1:1/: invalid URL: the URL must start "
                       "with ws:// or wss://");
}

// websocketpp refuses the URL only once the transport has installed its handlers, which hold the
// transport; they used to keep it (and its endpoint) alive for good. Under ASan's leak checker
// (the ASan pass sets detect_leaks=1) that leak failed this test at exit.
TEST(ClientErrorText, AUrlWebsocketppRefusesFailsTheConnectAndLeavesNothing) {
  client::io_loop loop;
  for (int i = 0; i < 3; ++i) {
    auto [s, e] = client::async_session::connect(loop, {"ws://127.0.0.1:99999/"}).get();
    EXPECT_EQ(s, nullptr);
    EXPECT_EQ(e.code, client::errc::connection_failed);
    EXPECT_EQ(e.message, "cannot connect to ws://127.0.0.1:99999/: invalid URL: invalid uri");
  }
}

TEST(ClientErrorText, AFilesUrlThatCannotBeUsedFailsTheCall) {
  const std::pair<const char*, const char*> cases[] = {
      {"ftp://127.0.0.1/", "not a ws://, wss://, http:// or https:// URL: ftp://127.0.0.1/"},
      {"ws://[::1/", "bad IPv6 address in ws://[::1/"},
      {"ws:///files", "no host in ws:///files"},
  };
  for (const auto& [url, text] : cases) {
    client::files_client files({url});
    const auto r = files.mkdir("/tmp/never");
    EXPECT_EQ(r.error.code, client::errc::invalid_options) << url;
    EXPECT_EQ(r.error.message, text);
  }
}

TEST(ClientErrorText, AttachRefusesAHandleThatIsNotOne) {
  const std::pair<std::string, std::string> cases[] = {
      {"not json",
       "the handle is not a JSON object (give the output of --detach, or set AGENTRT_URL, "
       "AGENTRT_SESSION and AGENTRT_RESUME_TOKEN)"},
      {R"({"url":"ws://127.0.0.1:1/","session_id":"s"})",
       "the handle needs the strings url, session_id and resume_token"},
      {R"({"url":"ws://127.0.0.1:1/","session_id":"s","resume_token":"t","last_seq":-1})",
       "the handle's last_seq must be a non-negative integer"},
  };
  for (const auto& [handle, text] : cases) {
    const auto r = run_cli({}, {"attach", handle});
    EXPECT_EQ(r.code, 64) << handle;
    EXPECT_EQ(r.err, "agentrt-client: " + text + usage_hint_attach);
  }
}

TEST(ClientErrorText, AttachWithoutAHandleOrWithABadLastSeqInTheEnvironment) {
  auto r = run_cli({}, {"attach"});
  EXPECT_EQ(r.code, 64);
  EXPECT_EQ(r.err, "agentrt-client: attach needs a handle: the output of --detach as its "
                   "argument, or AGENTRT_URL, AGENTRT_SESSION and AGENTRT_RESUME_TOKEN in the "
                   "environment" +
                       usage_hint_attach);
  r = run_cli({std::string("AGENTRT_URL=") + nowhere, "AGENTRT_SESSION=s", "AGENTRT_RESUME_TOKEN=t",
               "AGENTRT_LAST_SEQ=abc"},
              {"attach"});
  EXPECT_EQ(r.code, 64);
  EXPECT_EQ(r.err,
            "agentrt-client: AGENTRT_LAST_SEQ must be a non-negative integer" + usage_hint_attach);
}

TEST(ClientErrorText, KillAndWaitNeedAProcessId) {
  const std::string handle =
      std::string(R"({"url":")") + nowhere + R"(","session_id":"s","resume_token":"t"})";
  for (const std::string mode : {"kill", "wait"}) {
    const auto r = run_cli({}, {mode, handle});
    EXPECT_EQ(r.code, 64) << mode;
    EXPECT_EQ(r.err, "agentrt-client: " + mode +
                         " needs a process ID (an argument, AGENTRT_PROCESS, or spawn's output "
                         "as the handle)\nRun 'agentrt-client " +
                         mode + " --help' for the options.\n");
  }
}

TEST(ClientErrorText, AnUploadReceiverThatCannotBeSetUpIsAUsageError) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("agentrt-error-text-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string blocker = (dir / "file").string();
  std::ofstream(blocker) << "a file where the directory should be";

  auto r = run_cli(
      {}, {"exec", nowhere, "--artifacts", "/tmp", "--upload-to", blocker + "/sub", "--", "true"});
  EXPECT_EQ(r.code, 64);
  EXPECT_EQ(r.err.rfind("agentrt-client: cannot create " + blocker + "/sub: ", 0), 0u) << r.err;

  r = run_cli({}, {"exec", nowhere, "--artifacts", "/tmp", "--upload-to", (dir / "in").string(),
                   "--upload-bind", "not-an-address", "--", "true"});
  EXPECT_EQ(r.code, 64);
  EXPECT_EQ(r.err, "agentrt-client: cannot listen on not-an-address\n");
  std::filesystem::remove_all(dir);
}

TEST(ClientErrorText, AFileAnOptionNamesThatCannotBeRead) {
  const std::string missing = "/nonexistent/agentrt-error-text";
  auto r = run_cli({}, {"exec", nowhere, "--script", missing});
  EXPECT_EQ(r.code, 64);
  EXPECT_EQ(r.err, "agentrt-client: --script: cannot read " + missing +
                       "\nRun 'agentrt-client exec --help' for the options.\n");
  r = run_cli({}, {"query", nowhere, "--prompt", "hi", "--schema", missing});
  EXPECT_EQ(r.code, 64);
  EXPECT_EQ(r.err, "agentrt-client: --schema: cannot read " + missing +
                       "\nRun 'agentrt-client query --help' for the options.\n");
}

} // namespace
} // namespace agentrt::test

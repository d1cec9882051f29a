// A client vanishes with work under way — a command streaming output (with a child that
// ignores SIGTERM, so the kill is still in progress), an artifact waiting for its presigned
// URL or already uploading, a download — and then the runtime gets SIGTERM. It must exit 0
// promptly with every process of the request gone. In the ASan build LeakSanitizer turns any
// object still alive at exit (a shared_ptr cycle, a handler that never ran) into a non-zero
// exit (ASan's exitcode, 1 by default; 23 with standalone LSan) and its report into the log,
// so "exits 0" is also the leak check there. A last test sends 50 clients away mid-request
// and checks that descriptors and threads come back to their baseline (RSS is reported).
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agentrt/protocol/codec.hpp"
#include "support/http_test_server.hpp"
#include "support/process_resources.hpp"
#include "support/protocol_helpers.hpp"
#include "support/runtime_fault_fixture.hpp"
#include "support/runtime_process.hpp"
#include "support/ws_test_client.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;

std::string describe_status(int status) {
  if (status == -1)
    return "still running after the timeout";
  if (WIFEXITED(status))
    return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

class ShutdownAfterVanish : public runtime_fault_fixture {
protected:
  void SetUp() override { dir_ = make_temp_dir("agentrt-shutdown-"); }
  // Not the base's check that the runtime is still up: these tests stop it themselves.
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--transfer-retries", "1", "--low-speed-time", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    start_runtime(std::move(args));
  }

  // Waits until the runtime logged that the client left (so the SIGTERM below really comes
  // after the close, while its clean-up is under way).
  void expect_noticed(const std::string& what) {
    EXPECT_TRUE(wait_until([&] { return rt().log().find(what) != std::string::npos; }, 10s))
        << rt().log();
  }

  // The request's terminal and the announcement of its artifact, in either order (the file's
  // inotify event and the command's exit race).
  static bool receive_terminal_and_announcement(ws_test_client& ws) {
    bool terminal = false;
    bool announced = false;
    while (!terminal || !announced) {
      auto m = ws.receive(10s);
      if (!m)
        return false;
      announced = announced || as<p::artifact_upload_request_message>(*m) != nullptr;
      terminal = terminal || as<p::command_execution_result_message>(*m) != nullptr ||
                 as<p::error_message>(*m) != nullptr;
    }
    return true;
  }

  // A request writes an artifact; the client never answers its upload request and vanishes
  // (after ending the session, if end_first, so that the runtime is draining).
  void vanish_with_unanswered_upload(bool end_first) {
    auto ws = connect();
    ASSERT_TRUE(ws);
    auto req = exec_request({"printf artifact > " + dir_ + "/out/a.txt"});
    req.artifacts_dirs = {dir_ + "/out"};
    ws->send(req);
    ASSERT_TRUE(receive_terminal_and_announcement(*ws));
    if (end_first) {
      ws->send(p::end_session_message{});
      std::this_thread::sleep_for(300ms); // past --artifact-settle: now awaiting the answer
    }
    ws->drop();
    expect_noticed("session 1 closed");
  }

  // SIGTERM, then: exit status 0 within timeout. Returns how long it took.
  double expect_clean_exit(std::chrono::milliseconds timeout = 15s) {
    const auto t0 = std::chrono::steady_clock::now();
    const int status = rt().stop(SIGTERM, timeout);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_TRUE(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << describe_status(status) << "; log:\n"
        << rt().log();
    std::printf("[ figures  ] %s: exited %.0f ms after SIGTERM\n",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(), ms);
    return ms;
  }

  std::string dir_;
};

TEST_F(ShutdownAfterVanish, MidCommand) {
  // --kill-grace 5: the child that ignores SIGTERM is still alive when SIGTERM reaches the
  // runtime, whose shutdown must cut the grace short and SIGKILL it.
  start({"--kill-grace", "5"});
  const std::string tag = "301.1";
  const std::vector<std::string> prefixes = {"sleep " + tag + "1", "sleep " + tag + "2",
                                             "sleep " + tag + "3"};
  const std::string command = "sleep " + tag + "1 & setsid sleep " + tag +
                              "2 & sh -c 'trap \"\" TERM; exec sleep " + tag +
                              "3' & while :; do echo tick; sleep 0.05; done";
  auto ws = connect();
  ASSERT_TRUE(ws);
  ws->send(exec_request({command}));
  auto m = ws->receive(10s);
  ASSERT_TRUE(m);
  ASSERT_NE(as<p::command_output_message>(*m), nullptr) << p::encode(*m);
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& pre : prefixes) {
          if (find_processes(pre).empty())
            return false;
        }
        return true;
      },
      10s));

  ws->drop();
  expect_noticed("client went away with a request in flight");
  EXPECT_LT(expect_clean_exit(), 5000.0) << "shutdown waited for the full --kill-grace";
  EXPECT_TRUE(wait_processes_gone(prefixes, 5s)) << "a process of the request outlived the runtime";
}

TEST_F(ShutdownAfterVanish, CancelledThenSigtermDuringKillGrace) {
  // Same tree, but the client cancels and stays: the request is still terminating.
  start({"--kill-grace", "5"});
  const std::string tag = "301.2";
  auto ws = connect();
  ASSERT_TRUE(ws);
  ws->send(exec_request({"sh -c 'trap \"\" TERM; exec sleep " + tag + "1' & echo started; wait"}));
  auto m = ws->receive(10s);
  ASSERT_TRUE(m);
  ASSERT_TRUE(wait_until([&] { return !find_processes("sleep " + tag + "1").empty(); }, 10s));
  ws->send(p::cancel_message{});
  expect_noticed("cancel requested");
  expect_clean_exit();
  EXPECT_TRUE(wait_processes_gone({"sleep " + tag + "1"}, 5s));
}

TEST_F(ShutdownAfterVanish, UploadRequestUnanswered) {
  start({"--drain-timeout", "30"});
  vanish_with_unanswered_upload(false);
  expect_clean_exit();
}

TEST_F(ShutdownAfterVanish, UploadRequestUnansweredAfterEndSession) {
  // The client ended the session, so the runtime is draining (waiting for the answer to its
  // upload request) when the client vanishes.
  start({"--drain-timeout", "30"});
  vanish_with_unanswered_upload(true);
  expect_clean_exit();
}

TEST_F(ShutdownAfterVanish, UploadInFlight) {
  // The upload outlives the session (for --drain-timeout); SIGTERM must cancel it, not wait.
  start({"--drain-timeout", "30"});
  http_test_server http;
  http_response slow = http_response::with_status(200);
  slow.bytes_per_second = 256 * 1024; // 4 MiB: 16 s
  http.route("/slowput", slow);
  const std::string out = dir_ + "/out";
  auto ws = connect();
  ASSERT_TRUE(ws);
  auto req = exec_request({"head -c 4194304 /dev/zero > " + out + "/big.bin"});
  req.artifacts_dirs = {out};
  ws->send(req);
  bool answered = false;
  for (int i = 0; i < 20 && !answered; ++i) {
    auto m = ws->receive(10s);
    ASSERT_TRUE(m);
    if (auto* up = as<p::artifact_upload_request_message>(*m)) {
      p::artifact_upload_response_message resp;
      resp.filename = up->filename;
      resp.filepath = up->filepath;
      resp.presigned_url = http.url("/slowput");
      resp.content_type = "application/octet-stream";
      ws->send(resp);
      answered = true;
    }
  }
  ASSERT_TRUE(answered);
  ASSERT_TRUE(wait_until([&] { return http.request_count("/slowput") == 1; }, 10s));
  ws->drop();
  expect_noticed("session 1 closed");
  EXPECT_LT(expect_clean_exit(), 5000.0) << "shutdown waited for the upload";
}

TEST_F(ShutdownAfterVanish, MidDownload) {
  start();
  http_test_server http;
  http_response slow = http_response::generated(64ull << 20);
  slow.bytes_per_second = 512 * 1024;
  http.route("/slow.bin", slow);
  const std::string work = dir_ + "/work";
  auto ws = connect();
  ASSERT_TRUE(ws);
  auto req = exec_request({"true"});
  p::downloadable d;
  d.download_url = http.url("/slow.bin");
  d.working_dir = work;
  req.pre_execution_downloadables.push_back(d);
  ws->send(req);
  const std::string part = work + "/.slow.bin.part";
  ASSERT_TRUE(wait_file_not_empty(part, 10s)) << "the download did not start";
  ws->drop();
  expect_noticed("client went away with a request in flight");
  EXPECT_LT(expect_clean_exit(), 5000.0) << "shutdown waited for the download";
  EXPECT_TRUE(wait_until([&] { return http.open_connections() == 0; }, 5s));
}

TEST_F(ShutdownAfterVanish, FiftyVanishedClientsLeaveNothingBehind) {
  start({"--kill-grace", "1", "--drain-timeout", "1"});
  const std::string out = dir_ + "/out";
  // Each client: a streaming command with a background child and an artifact the client never
  // answers for, then the client vanishes (alternately with and without a close frame).
  auto vanish_once = [&](int i) {
    const std::string tag = "302." + std::to_string(i);
    auto ws = connect();
    ASSERT_TRUE(ws);
    auto req = exec_request({"sleep " + tag + " & printf x > " + out + "/f" + std::to_string(i) +
                             ".txt; while :; do echo tick; sleep 0.05; done"});
    req.artifacts_dirs = {out};
    ws->send(req);
    auto m = ws->receive(10s);
    ASSERT_TRUE(m);
    if (i % 2 == 0) {
      ws->close();
      ws->wait_closed(5s);
    } else {
      ws->drop();
    }
    ws.reset();
    ASSERT_TRUE(wait_processes_gone({"sleep " + tag}, 10s)) << "request " << i << " survived";
    ASSERT_TRUE(wait_idle());
  };
  // Warm-up: pools, curl and inotify are set up lazily.
  for (int i = 0; i < 3; ++i) {
    vanish_once(i);
    if (HasFatalFailure())
      return;
  }
  take_baseline();
  const long rss_before = rss_kib(rt().pid());
  constexpr int clients = 50;
  for (int i = 3; i < 3 + clients; ++i) {
    vanish_once(i);
    if (HasFatalFailure())
      return;
  }
  // Descriptors and threads back to the baseline, and the next client is served.
  expect_recovered();
  const process_resources after = resources_of(rt().pid());
  const long rss_after = rss_kib(rt().pid());
  std::printf("[ figures  ] %d vanished clients: fds %d -> %d, threads %d -> %d, RSS %ld -> %ld "
              "KiB (%+ld KiB, %+.1f KiB per client)\n",
              clients, baseline_.fds, after.fds, baseline_.threads, after.threads, rss_before,
              rss_after, rss_after - rss_before,
              static_cast<double>(rss_after - rss_before) / clients);
  expect_clean_exit();
}

} // namespace
} // namespace agentrt::test

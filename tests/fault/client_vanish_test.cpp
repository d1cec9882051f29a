// A client that vanishes mid-request — closing without ending the session, dropping its TCP
// connection, dropping it while the runtime is blocked on a full socket (backpressure), or
// being killed as a process — during a command, a download, an artifact upload and a harness
// run. Each time the runtime must kill everything the request started (a setsid() escapee and
// a child that ignores SIGTERM included), stop its transfers, leak no descriptor or thread,
// and serve the next client normally.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "agentrt/protocol/codec.hpp"
#include "support/cli_process.hpp"
#include "support/http_test_server.hpp"
#include "support/protocol_helpers.hpp"
#include "support/runtime_fault_fixture.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;

enum class vanish {
  close_without_end,        // WebSocket close handshake, no end_session_message
  drop_socket,              // TCP connection shut down, no close frame
  drop_while_backpressured, // reading stopped first, so the runtime's sends are blocked
  process_killed,           // agentrt-client killed with SIGKILL mid-request
};

std::string vanish_name(const ::testing::TestParamInfo<vanish>& info) {
  switch (info.param) {
  case vanish::close_without_end:
    return "CloseWithoutEnd";
  case vanish::drop_socket:
    return "DropSocket";
  case vanish::drop_while_backpressured:
    return "DropWhileBackpressured";
  case vanish::process_killed:
    return "ProcessKilled";
  }
  return "unknown";
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// A tree a request leaves behind: a plain background child, a setsid() escapee (found only by
// the scope marker in its environment) and a child that ignores SIGTERM (needs the SIGKILL
// after --kill-grace). tag makes the command lines unique to one test.
std::string background_tree(const std::string& tag) {
  return "sleep " + tag + "1 & setsid sleep " + tag + "2 & sh -c 'trap \"\" TERM; exec sleep " +
         tag + "3' & ";
}

std::vector<std::string> tree_prefixes(const std::string& tag) {
  return {"sleep " + tag + "1", "sleep " + tag + "2", "sleep " + tag + "3"};
}

bool all_running(const std::vector<std::string>& prefixes) {
  for (const auto& prefix : prefixes) {
    if (find_processes(prefix).empty())
      return false;
  }
  return true;
}

class ClientVanishes : public runtime_fault_fixture, public ::testing::WithParamInterface<vanish> {
protected:
  void SetUp() override { dir_ = make_temp_dir("agentrt-vanish-"); }
  void TearDown() override {
    runtime_fault_fixture::TearDown();
    std::system(("rm -rf " + dir_).c_str());
  }

  void start(std::vector<std::string> extra = {}) {
    // agentrt-client asks for a durable session, so when it is killed its request lives on
    // for --resume-window (docs/durable-sessions.md): 1 s here, then it is killed as for a
    // client that did not opt in.
    std::vector<std::string> args = {"--kill-grace",     "1", "--transfer-retries", "1",
                                     "--low-speed-time", "2", "--drain-timeout",    "1",
                                     "--resume-window",  "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    start_runtime(std::move(args));
  }

  std::vector<std::string> cli(std::vector<std::string> args) {
    args.insert(args.begin(), {AGENTRT_CLIENT_BINARY});
    return args;
  }

  // Makes the client go away as the parameter says.
  void vanish_now(ws_test_client* ws, cli_process* proc) {
    if (proc) {
      ASSERT_NE(proc->kill_and_wait(SIGKILL), -1);
      return;
    }
    if (GetParam() == vanish::close_without_end) {
      ws->close();
      ws->wait_closed(5s);
    } else {
      ws->drop();
    }
  }

  // Once the client vanished: everything the request started is gone within the kill grace
  // (plus the resume window for the durable agentrt-client) plus slack, and the runtime says
  // why in its log.
  void expect_tree_killed(const std::vector<std::string>& prefixes,
                          std::chrono::steady_clock::time_point vanished) {
    EXPECT_TRUE(wait_processes_gone(prefixes, 10s)) << "a process of the request survived";
    std::printf(
        "[ figures  ] %s: request's processes gone %.0f ms after the client vanished\n",
        ::testing::UnitTest::GetInstance()->current_test_info()->name(),
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - vanished)
            .count());
    EXPECT_NE(rt().log().find("client went away with a request in flight"), std::string::npos)
        << rt().log();
  }

  std::string dir_;
};

// Commands stream output, so a client can also vanish while the runtime is blocked on it.
using ClientVanishesWhileStreaming = ClientVanishes;

TEST_P(ClientVanishesWhileStreaming, MidCommand) {
  start();
  {
    auto warm = connect();
    ASSERT_TRUE(warm);
    expect_usable(*warm);
  }
  take_baseline();

  const std::string tag = "300.1" + std::to_string(static_cast<int>(GetParam()));
  const bool flood = GetParam() == vanish::drop_while_backpressured;
  // The foreground part streams: slowly (so output is seen arriving), or as fast as possible
  // into a client that stopped reading.
  const std::string foreground =
      flood ? "exec yes flood-" + tag : "while :; do echo tick; sleep 0.05; done";
  auto prefixes = tree_prefixes(tag);
  if (flood)
    prefixes.push_back("yes flood-" + tag);
  const std::string command = background_tree(tag) + foreground;

  std::unique_ptr<ws_test_client> ws;
  std::unique_ptr<cli_process> proc;
  if (GetParam() == vanish::process_killed) {
    proc = std::make_unique<cli_process>(cli({"exec", rt().url(), "--", command}));
    ASSERT_TRUE(wait_until([&] { return proc->out().find("tick") != std::string::npos; }, 10s))
        << proc->err();
  } else {
    ws = connect();
    ASSERT_TRUE(ws);
    if (flood)
      ws->pause_reading();
    ws->send(exec_request({command}));
    if (!flood) {
      auto m = ws->receive(10s);
      ASSERT_TRUE(m);
      const auto* out = as<p::command_output_message>(*m);
      ASSERT_NE(out, nullptr) << p::encode(*m);
      EXPECT_EQ(out->text.substr(0, 4), "tick");
    }
  }
  ASSERT_TRUE(wait_until([&] { return all_running(prefixes); }, 10s));
  // Long enough for the flood to fill both socket buffers and the runtime's 4 MiB high water.
  if (flood)
    std::this_thread::sleep_for(500ms);

  const auto vanished = std::chrono::steady_clock::now();
  vanish_now(ws.get(), proc.get());
  expect_tree_killed(prefixes, vanished);
  expect_recovered();
}

TEST_P(ClientVanishes, MidDownload) {
  start();
  http_test_server http;
  http.route("/small.txt", http_response::with_status(200, "small-payload"));
  // 64 MiB at 512 KiB/s: two minutes, unless the runtime stops it.
  http_response slow = http_response::generated(64ull << 20);
  slow.bytes_per_second = 512 * 1024;
  http.route("/slow.bin", slow);

  auto download = [&](const std::string& path, const std::string& dir, const std::string& cmd) {
    auto m = exec_request({cmd});
    p::downloadable d;
    d.download_url = http.url(path);
    d.working_dir = dir;
    m.pre_execution_downloadables.push_back(d);
    return m;
  };
  {
    auto warm = connect();
    ASSERT_TRUE(warm);
    warm->send(download("/small.txt", dir_ + "/warm", "cat " + dir_ + "/warm/small.txt"));
    auto msgs = warm->receive_until_terminal();
    ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr);
    EXPECT_EQ(joined_output(msgs, "stdout"), "small-payload");
  }
  take_baseline();

  const std::string work = dir_ + "/work";
  const std::string marker = dir_ + "/command-ran";
  std::unique_ptr<ws_test_client> ws;
  std::unique_ptr<cli_process> proc;
  if (GetParam() == vanish::process_killed) {
    proc = std::make_unique<cli_process>(
        cli({"exec", rt().url(), "--download", http.url("/slow.bin") + "=" + work, "--",
             "touch " + marker}));
  } else {
    ws = connect();
    ASSERT_TRUE(ws);
    ws->send(download("/slow.bin", work, "touch " + marker));
  }
  const std::string part = work + "/.slow.bin.part";
  ASSERT_TRUE(wait_file_not_empty(part, 10s)) << "the download did not start";

  const auto vanished = std::chrono::steady_clock::now();
  vanish_now(ws.get(), proc.get());
  // The runtime hangs up on the server (the transfer is cancelled, not left to run out).
  EXPECT_TRUE(wait_until([&] { return http.open_connections() == 0; }, 5s))
      << "the download is still running";
  std::printf("[ figures  ] %s: download connection closed %.0f ms after the client vanished\n",
              ::testing::UnitTest::GetInstance()->current_test_info()->name(),
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - vanished)
                  .count());
  EXPECT_TRUE(wait_until([&] { return !exists(part); }, 5s)) << "partial file left behind";
  EXPECT_FALSE(exists(work + "/slow.bin"));
  EXPECT_FALSE(exists(marker)) << "the request went on after its client left";
  expect_recovered();
  // And downloads still work.
  auto next = connect();
  ASSERT_TRUE(next);
  next->send(download("/small.txt", dir_ + "/after", "cat " + dir_ + "/after/small.txt"));
  auto msgs = next->receive_until_terminal();
  ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr)
      << p::encode(msgs.back());
  EXPECT_EQ(joined_output(msgs, "stdout"), "small-payload");
}

TEST_P(ClientVanishes, MidUpload) {
  start();
  http_test_server http;
  http.route("/put", http_response::with_status(200));
  // 4 MiB at 256 KiB/s: 16 s, far beyond --drain-timeout 1.
  http_response slow = http_response::with_status(200);
  slow.bytes_per_second = 256 * 1024;
  http.route("/slowput", slow);

  // Runs the request on c, answering every upload request with url.
  auto run_with_uploads = [](ws_test_client& c, const p::message& req, const std::string& url,
                             bool stop_at_terminal) {
    c.send(req);
    std::vector<p::message> seen;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto m = c.receive(stop_at_terminal ? 10s : 2s);
      if (!m)
        break;
      if (auto* up = as<p::artifact_upload_request_message>(*m)) {
        p::artifact_upload_response_message resp;
        resp.filename = up->filename;
        resp.filepath = up->filepath;
        resp.presigned_url = url;
        resp.content_type = "application/octet-stream";
        c.send(resp);
        if (!stop_at_terminal)
          return;
      }
      seen.push_back(*m);
      if (stop_at_terminal && as<p::artifact_upload_result_message>(*m))
        return;
    }
    ADD_FAILURE() << "no upload round trip; got " << seen.size() << " message(s)";
  };
  {
    auto warm = connect();
    ASSERT_TRUE(warm);
    auto req = exec_request({"printf warm > " + dir_ + "/warm/w.txt"});
    req.artifacts_dirs = {dir_ + "/warm"};
    req.client_capabilities = {"upload_results"};
    run_with_uploads(*warm, req, http.url("/put"), true);
  }
  ASSERT_TRUE(wait_until([&] { return http.puts().size() == 1 && http.puts()[0].complete; }, 5s));
  take_baseline();

  const std::string out = dir_ + "/out";
  const std::string write_artifact = "head -c 4194304 /dev/zero > " + out + "/big.bin";
  std::unique_ptr<ws_test_client> ws;
  std::unique_ptr<cli_process> proc;
  if (GetParam() == vanish::process_killed) {
    proc = std::make_unique<cli_process>(
        cli({"exec", rt().url(), "--artifacts", out, "--presign-cmd",
             "echo " + http.url("/slowput") + " #", "--", write_artifact}));
  } else {
    ws = connect();
    ASSERT_TRUE(ws);
    auto req = exec_request({write_artifact});
    req.artifacts_dirs = {out};
    run_with_uploads(*ws, req, http.url("/slowput"), false);
  }
  ASSERT_TRUE(wait_until([&] { return http.request_count("/slowput") == 1; }, 10s))
      << "the upload did not start";
  std::this_thread::sleep_for(300ms); // well into the body

  const auto vanished = std::chrono::steady_clock::now();
  vanish_now(ws.get(), proc.get());
  // Uploads already under way may run on for --drain-timeout (1 s), then are cancelled. (The
  // server may go on receiving for a while: the kernel still delivers what the runtime had
  // queued in the socket before closing it, so the runtime's side is what is checked.)
  EXPECT_TRUE(wait_until(
      [&] {
        const std::string log = rt().log();
        return log.find("connection closed: cancelling 1 upload(s) still running") !=
                   std::string::npos &&
               log.find("upload failed: upload of " + out + "/big.bin to " + http.url("/slowput") +
                        " cancelled") != std::string::npos;
      },
      6s))
      << rt().log();
  std::printf("[ figures  ] %s: upload cancelled %.0f ms after the client vanished "
              "(--drain-timeout 1)\n",
              ::testing::UnitTest::GetInstance()->current_test_info()->name(),
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - vanished)
                  .count());
  EXPECT_EQ(http.request_count("/slowput"), 1u) << "a cancelled upload is not retried";
  expect_recovered();
}

TEST_P(ClientVanishes, MidHarnessRun) {
  const std::string tag = "300.3" + std::to_string(static_cast<int>(GetParam()));
  const std::string handler = dir_ + "/handler.sh";
  {
    std::ofstream h(handler);
    h << "#!/bin/sh\n"
         "read line\n"
         "case \"$line\" in *warm-up*)\n"
         "  printf '%s\\n' '{\"type\":\"result\",\"data\":{\"type\":\"text\",\"text\":\"warm\"}}'\n"
         "  exit 0;;\n"
         "esac\n"
      << background_tree(tag) << "\n"
      << "printf '%s\\n' '{\"type\":\"assistant\",\"text_blocks\":[\"handler is working\"]}'\n"
      << "exec sleep " << tag << "4\n";
  }
  ASSERT_EQ(::chmod(handler.c_str(), 0755), 0);
  start({"--handler", handler});
  auto invocation = [](const std::string& prompt) {
    p::invocation_message inv;
    inv.system_prompt = "s";
    inv.user_prompt = prompt;
    inv.model = "m";
    return inv;
  };
  {
    auto warm = connect();
    ASSERT_TRUE(warm);
    warm->send(invocation("warm-up"));
    auto msgs = warm->receive_until_terminal();
    ASSERT_FALSE(msgs.empty());
    const auto* res = as<p::result_message>(msgs.back());
    ASSERT_NE(res, nullptr) << p::encode(msgs.back());
    EXPECT_EQ(res->data.text, "warm");
  }
  take_baseline();

  auto prefixes = tree_prefixes(tag);
  prefixes.push_back("sleep " + tag + "4"); // the handler itself
  std::unique_ptr<ws_test_client> ws;
  std::unique_ptr<cli_process> proc;
  if (GetParam() == vanish::process_killed) {
    proc = std::make_unique<cli_process>(
        cli({"query", rt().url(), "--prompt", "work", "--model", "m"}));
    ASSERT_TRUE(wait_until(
        [&] { return proc->err().find("handler is working") != std::string::npos; }, 10s))
        << proc->err();
  } else {
    ws = connect();
    ASSERT_TRUE(ws);
    ws->send(invocation("work"));
    auto m = ws->receive(10s);
    ASSERT_TRUE(m);
    const auto* a = as<p::assistant_message>(*m);
    ASSERT_NE(a, nullptr) << p::encode(*m);
    EXPECT_EQ(a->text_blocks, std::vector<std::string>{"handler is working"});
  }
  ASSERT_TRUE(wait_until([&] { return all_running(prefixes); }, 10s));

  const auto vanished = std::chrono::steady_clock::now();
  vanish_now(ws.get(), proc.get());
  expect_tree_killed(prefixes, vanished);
  expect_recovered();
}

// Not a vanishing client but its near relative: one that stopped reading (so the runtime paused
// the command's output) and then cancels. Nothing may be left behind although the paused pipes
// are never read by anyone who cares.
class SlowClient : public runtime_fault_fixture {};

TEST_F(SlowClient, CancelWhileBackpressuredLeavesNothingBehind) {
  start_runtime({"--kill-grace", "1"});
  {
    auto warm = connect();
    ASSERT_TRUE(warm);
    expect_usable(*warm);
  }
  take_baseline();
  const std::string tag = "300.51";
  const std::string line = "flood-" + tag + "\n";
  auto prefixes = tree_prefixes(tag);
  prefixes.push_back("yes flood-" + tag);
  auto c = connect();
  ASSERT_TRUE(c);
  c->pause_reading();
  c->send(exec_request({background_tree(tag) + "exec yes flood-" + tag}));
  ASSERT_TRUE(wait_until([&] { return all_running(prefixes); }, 10s));
  std::this_thread::sleep_for(500ms); // the runtime's output is paused by now
  c->send(p::cancel_message{});
  // Killed while the client still reads nothing...
  EXPECT_TRUE(wait_processes_gone(prefixes, 10s)) << "a process of the request survived";
  // ... and what was queued before the cancel arrives intact, then the terminal.
  c->resume_reading();
  const auto msgs = c->receive_until_terminal(60s);
  ASSERT_FALSE(msgs.empty());
  const auto* e = as<p::error_message>(msgs.back());
  ASSERT_NE(e, nullptr) << p::encode(msgs.back()).substr(0, 300);
  EXPECT_EQ(e->error, "Request cancelled");
  const std::string out = joined_output(msgs, "stdout");
  EXPECT_GT(out.size(), 1u << 20) << "the flood was not backpressured";
  std::size_t bad = out.size();
  for (std::size_t i = 0; i < out.size() && bad == out.size(); ++i) {
    if (out[i] != line[i % line.size()])
      bad = i;
  }
  EXPECT_EQ(bad, out.size()) << "stdout corrupted at byte " << bad << " of " << out.size();
  std::printf("[ figures  ] cancel while backpressured: %zu bytes of queued output delivered, then "
              "the terminal\n",
              out.size());
  expect_usable(*c);
  c.reset();
  expect_recovered();
}

INSTANTIATE_TEST_SUITE_P(Fault, ClientVanishesWhileStreaming,
                         ::testing::Values(vanish::close_without_end, vanish::drop_socket,
                                           vanish::drop_while_backpressured,
                                           vanish::process_killed),
                         vanish_name);
INSTANTIATE_TEST_SUITE_P(Fault, ClientVanishes,
                         ::testing::Values(vanish::close_without_end, vanish::drop_socket,
                                           vanish::process_killed),
                         vanish_name);

} // namespace
} // namespace agentrt::test

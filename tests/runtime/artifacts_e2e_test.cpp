// Artifacts through the real runtime: files written by commands are announced, uploaded only on
// the client's answer for an announced path, with outcomes reported to clients that asked, and
// late files drained at end of session. What a path names may change between announcement and
// answer: a symlink swapped in, a directory replaced by a symlink or a FIFO is refused.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "agentrt/protocol/codec.hpp"
#include "support/http_test_server.hpp"
#include "support/protocol_helpers.hpp"
#include "support/runtime_process.hpp"
#include "support/ws_test_client.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;

class Artifacts : public ::testing::Test {
protected:
  void SetUp() override {
    root_ = make_temp_dir("agentrt-art-");
    rt_ = std::make_unique<runtime_process>(
        std::vector<std::string>{"--transfer-retries", "0", "--drain-timeout", "5"});
    auto r = ws_test_client::connect(rt_->url());
    ASSERT_TRUE(r.client) << r.error;
    c_ = std::move(r.client);
    http_.route("/put", http_response::with_status(200));
  }
  void TearDown() override { std::system(("rm -rf " + root_).c_str()); }

  // Sends req and answers every upload request with a PUT URL on the test server (path
  // "/put?f=<filepath>"), until the terminal. Returns everything received.
  std::vector<p::message> run_answering(const p::message& req,
                                        std::chrono::milliseconds timeout = 30s) {
    c_->send(req);
    return answer_until(
        [](const p::message& m) {
          return as<p::command_execution_result_message>(m) || as<p::error_message>(m);
        },
        timeout);
  }

  // The rest of a request already sent (as raw text), answering uploads, until its terminal.
  std::vector<p::message> run_answering_received(std::chrono::milliseconds timeout = 30s) {
    return answer_until(
        [](const p::message& m) {
          return as<p::command_execution_result_message>(m) || as<p::error_message>(m);
        },
        timeout);
  }

  // before_answer(filepath) runs between an announcement and its answer: what a command could
  // do to the file in the meantime.
  template <class Stop>
  std::vector<p::message>
  answer_until(Stop stop, std::chrono::milliseconds timeout = 30s,
               const std::function<void(const std::string&)>& before_answer = {}) {
    std::vector<p::message> out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto m = c_->receive(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!m)
        break;
      if (auto* up = as<p::artifact_upload_request_message>(*m)) {
        if (before_answer)
          before_answer(up->filepath);
        p::artifact_upload_response_message resp;
        resp.filename = up->filename;
        resp.filepath = up->filepath;
        resp.presigned_url = http_.url("/put?f=" + up->filepath);
        resp.content_type = "text/plain";
        c_->send(resp);
      }
      out.push_back(*m);
      if (stop(*m))
        break;
    }
    return out;
  }

  // Waits until n PUT bodies completed at the test server.
  bool wait_puts(std::size_t n, std::chrono::milliseconds within = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      std::size_t complete = 0;
      for (const auto& put : http_.puts())
        complete += put.complete ? 1 : 0;
      if (complete >= n)
        return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  std::set<std::string> announced(const std::vector<p::message>& msgs) {
    std::set<std::string> out;
    for (const auto& m : msgs) {
      if (auto* up = as<p::artifact_upload_request_message>(m))
        out.insert(up->filepath);
    }
    return out;
  }

  // Runs a command that writes dir/relative, lets swap(filepath) change what the path names before
  // answering its announcement, and returns the upload result the runtime reports.
  std::optional<p::artifact_upload_result_message>
  upload_after_swap(const std::string& dir, const std::string& relative,
                    const std::function<void(const std::string&)>& swap) {
    const std::string file = dir + "/" + relative;
    auto req = exec_request({"mkdir -p $(dirname " + file + ") && printf artifact > " + file});
    req.artifacts_dirs = {dir};
    req.client_capabilities = {"upload_results"};
    c_->send(req);
    // Both the request's terminal and the upload's result, in either order, so that the next
    // request finds the session idle.
    std::optional<p::artifact_upload_result_message> result;
    bool terminal = false;
    answer_until(
        [&](const p::message& m) {
          if (auto* r = as<p::artifact_upload_result_message>(m))
            result = *r;
          terminal =
              terminal || as<p::command_execution_result_message>(m) || as<p::error_message>(m);
          return result && terminal;
        },
        15s, swap);
    return result;
  }

  // The upload was refused with a text containing expected, and no byte reached the server.
  void expect_refused_and_nothing_sent(const std::optional<p::artifact_upload_result_message>& r,
                                       const std::string& expected) {
    ASSERT_TRUE(r) << "no upload result (an open that blocked never ends)";
    EXPECT_FALSE(r->ok);
    EXPECT_NE(r->error.value_or("").find(expected), std::string::npos) << r->error.value_or("");
    std::this_thread::sleep_for(200ms);
    EXPECT_TRUE(http_.puts().empty()) << "uploaded: " << http_.puts()[0].body_head;
  }

  std::string root_;
  http_test_server http_;
  std::unique_ptr<runtime_process> rt_;
  std::unique_ptr<ws_test_client> c_;
};

TEST_F(Artifacts, FilesWrittenByCommandsAreAnnouncedAndUploadedExactly) {
  const std::string dir = root_ + "/out";
  auto req = exec_request({"mkdir -p " + dir + "/a " + dir + "/b && printf report-a > " + dir +
                           "/a/report.txt && printf report-bb > " + dir + "/b/report.txt"});
  req.artifacts_dirs = {dir};
  req.client_capabilities = {"upload_results"};
  auto msgs = run_answering(req);
  ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr)
      << p::encode(msgs.back());
  // Both announcements belong to the session; uploads may finish after the terminal.
  auto more = answer_until([&](const p::message&) { return false; }, 1500ms);
  msgs.insert(msgs.end(), more.begin(), more.end());
  EXPECT_EQ(announced(msgs), (std::set<std::string>{dir + "/a/report.txt", dir + "/b/report.txt"}));
  for (const auto& m : msgs) {
    if (auto* up = as<p::artifact_upload_request_message>(m)) {
      EXPECT_EQ(up->filename, "report.txt");
    }
  }
  ASSERT_TRUE(wait_puts(2));
  std::map<std::string, std::string> bodies;
  for (const auto& put : http_.puts()) {
    EXPECT_EQ(put.content_type, "text/plain");
    bodies[put.target] = put.body_head;
  }
  EXPECT_EQ(bodies["/put?f=" + dir + "/a/report.txt"], "report-a");
  EXPECT_EQ(bodies["/put?f=" + dir + "/b/report.txt"], "report-bb");
  std::size_t ok_results = 0;
  for (const auto& m : msgs) {
    if (auto* r = as<p::artifact_upload_result_message>(m)) {
      EXPECT_TRUE(r->ok);
      EXPECT_EQ(r->http_status.value_or(0), 200);
      ++ok_results;
    }
  }
  EXPECT_EQ(ok_results, 2u);
}

TEST_F(Artifacts, IgnoredEmptyAndArtifactignoreAreNotAnnounced) {
  const std::string dir = root_ + "/out";
  auto req = exec_request({"mkdir -p " + dir + "/node_modules " + dir +
                           "/logs && "
                           "echo x > " +
                           dir + "/node_modules/dep.js && : > " + dir +
                           "/empty && "
                           "echo y > " +
                           dir + "/logs/debug.log && echo z > " + dir + "/keep.txt"});
  req.artifacts_dirs = {dir};
  req.artifacts_ignore_content = "*.log\nnode_modules/\n";
  auto msgs = run_answering(req);
  auto more = answer_until([&](const p::message&) { return false; }, 800ms);
  msgs.insert(msgs.end(), more.begin(), more.end());
  EXPECT_EQ(announced(msgs), (std::set<std::string>{dir + "/keep.txt"}));
}

TEST_F(Artifacts, FilesAlreadyThereAreAnnouncedAsRuntimeuseDoesUnlessTurnedOff) {
  // runtimeuse's watcher scans a directory when it starts watching it: a client gets every file
  // in it, also those written before the request (by an earlier request or the image).
  const std::string dir = root_ + "/out";
  const std::string quiet = root_ + "/quiet";
  ASSERT_EQ(std::system(("mkdir -p " + dir + "/sub " + dir + "/node_modules " + quiet +
                         " && echo old > " + dir + "/old.txt && echo deep > " + dir +
                         "/sub/deep.txt && echo dep > " + dir +
                         "/node_modules/dep.js && echo q > " + quiet + "/before.txt")
                            .c_str()),
            0);
  auto req = exec_request({"echo new > " + dir + "/new.txt"});
  req.artifacts_dirs = {dir};
  auto msgs = run_answering(req);
  auto more = answer_until([&](const p::message&) { return false; }, 800ms);
  msgs.insert(msgs.end(), more.begin(), more.end());
  EXPECT_EQ(announced(msgs),
            (std::set<std::string>{dir + "/old.txt", dir + "/sub/deep.txt", dir + "/new.txt"}));
  // A second request on the session does not announce them again.
  auto again = exec_request({"true"});
  again.artifacts_dirs = {dir};
  msgs = run_answering(again);
  more = answer_until([&](const p::message&) { return false; }, 500ms);
  msgs.insert(msgs.end(), more.begin(), more.end());
  EXPECT_TRUE(announced(msgs).empty()) << *announced(msgs).begin();
  // The extension field turns the scan off: only what the request writes.
  auto off = exec_request({"echo after > " + quiet + "/after.txt"});
  off.artifacts_dirs = {quiet};
  off.announce_existing_artifacts = false;
  msgs = run_answering(off);
  more = answer_until([&](const p::message&) { return false; }, 800ms);
  msgs.insert(msgs.end(), more.begin(), more.end());
  EXPECT_EQ(announced(msgs), (std::set<std::string>{quiet + "/after.txt"}));
}

TEST_F(Artifacts, TheDeprecatedArtifactsDirIsLoggedAsRuntimeuseDoes) {
  const std::string frame = R"({"message_type":"command_execution_message","secrets_to_redact":[],)"
                            R"("commands":[{"command":"true"}],"artifacts_dir":")" +
                            root_ + R"(/legacy"})";
  c_->send_text(frame);
  auto msgs = run_answering_received();
  ASSERT_FALSE(msgs.empty());
  EXPECT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr);
  EXPECT_NE(rt_->log().find("artifacts_dir is deprecated; use artifacts_dirs (string[]) instead."),
            std::string::npos)
      << rt_->log();
}

TEST_F(Artifacts, ForeignFilepathIsRefusedAndNothingIsUploaded) {
  const std::string dir = root_ + "/out";
  auto req = exec_request({"true"});
  req.artifacts_dirs = {dir};
  req.client_capabilities = {"upload_results"};
  c_->send(req);
  c_->receive_until_terminal();
  p::artifact_upload_response_message evil;
  evil.filename = "passwd";
  evil.filepath = "/etc/passwd";
  evil.presigned_url = http_.url("/put?f=/etc/passwd");
  evil.content_type = "text/plain";
  c_->send(evil);
  auto m = c_->receive(5s);
  ASSERT_TRUE(m);
  auto* r = as<p::artifact_upload_result_message>(*m);
  ASSERT_NE(r, nullptr) << p::encode(*m);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->filepath, "/etc/passwd");
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(http_.puts().empty());
  EXPECT_NE(rt_->log().find("refused upload of \"/etc/passwd\""), std::string::npos);
}

TEST_F(Artifacts, UploadFailureIsReportedWithoutAnErrorMessage) {
  http_.route("/put", http_response::with_status(500));
  const std::string dir = root_ + "/out";
  auto req = exec_request({"echo data > " + dir + "/f.txt"});
  req.artifacts_dirs = {dir};
  req.client_capabilities = {"upload_results"};
  auto msgs = run_answering(req);
  ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr)
      << p::encode(msgs.back());
  auto more = answer_until(
      [](const p::message& m) { return as<p::artifact_upload_result_message>(m) != nullptr; }, 5s);
  ASSERT_FALSE(more.empty());
  auto* r = as<p::artifact_upload_result_message>(more.back());
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->http_status.value_or(0), 500);
  EXPECT_EQ(count_of<p::error_message>(msgs) + count_of<p::error_message>(more), 0u);
}

TEST_F(Artifacts, LateFileIsDrainedBeforeEndSessionConfirm) {
  const std::string dir = root_ + "/out";
  auto req = exec_request({"true"});
  req.artifacts_dirs = {dir};
  c_->send(req);
  c_->receive_until_terminal();
  // Written by someone else right before the client ends the session.
  std::ofstream(dir + "/late.txt") << "late-bytes";
  c_->send(p::end_session_message{});
  auto msgs = answer_until(
      [](const p::message& m) { return as<p::end_session_confirm_message>(m) != nullptr; }, 10s);
  ASSERT_FALSE(msgs.empty());
  ASSERT_NE(as<p::end_session_confirm_message>(msgs.back()), nullptr);
  EXPECT_EQ(announced(msgs), (std::set<std::string>{dir + "/late.txt"}));
  // The confirm came after the upload finished.
  ASSERT_EQ(http_.puts().size(), 1u);
  EXPECT_EQ(http_.puts()[0].body_head, "late-bytes");
  EXPECT_TRUE(c_->wait_closed(5s));
}

TEST_F(Artifacts, OneGiBUploadArrivesExactWithFlatRuntimeMemory) {
  const std::string dir = root_ + "/big";
  const std::uint64_t size = 1ULL << 30;
  auto req = exec_request({"mkdir -p " + dir});
  req.artifacts_dirs = {dir};
  req.client_capabilities = {"upload_results"};
  c_->send(req);
  c_->receive_until_terminal();
  // The file is generated with the test server's pattern so its checksum is known.
  {
    const std::string tmp = root_ + "/big.tmp";
    std::ofstream out(tmp, std::ios::binary);
    std::vector<char> buf(1 << 20);
    for (std::uint64_t off = 0; off < size; off += buf.size()) {
      fill_generated(off, buf.data(), buf.size());
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    }
    out.close();
    ASSERT_EQ(::rename(tmp.c_str(), (dir + "/big.bin").c_str()), 0); // a move-in
  }
  const long rss_before = rss_kib(rt_->pid());
  long rss_peak = rss_before;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<p::message> msgs;
  std::thread sampler([&] {
    while (std::chrono::steady_clock::now() - t0 < 60s) {
      rss_peak = std::max(rss_peak, rss_kib(rt_->pid()));
      if (!http_.puts().empty() && http_.puts()[0].complete)
        break;
      std::this_thread::sleep_for(10ms);
    }
  });
  msgs = answer_until(
      [](const p::message& m) { return as<p::artifact_upload_result_message>(m) != nullptr; }, 60s);
  sampler.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(msgs.empty());
  auto* r = as<p::artifact_upload_result_message>(msgs.back());
  ASSERT_NE(r, nullptr) << p::encode(msgs.back());
  EXPECT_TRUE(r->ok) << r->error.value_or("");
  ASSERT_EQ(http_.puts().size(), 1u);
  const auto put = http_.puts()[0];
  EXPECT_EQ(put.body_bytes, size);
  EXPECT_EQ(put.content_length.value_or(0), size);
  EXPECT_EQ(put.body_fnv1a64, generated_checksum(size));
  std::printf(
      "[ figures  ] 1 GiB artifact upload: %.1f MB/s, runtime RSS %ld KiB before, peak %ld KiB\n",
      size / secs / 1e6, rss_before, rss_peak);
#ifndef AGENTRT_SANITIZED
  EXPECT_LT(rss_peak - rss_before, 32 * 1024);
#endif
}

TEST_F(Artifacts, SymlinkSwappedInAfterTheAnnouncementIsNotFollowed) {
  const std::string secret = root_ + "/shadow";
  std::ofstream(secret) << "root:SECRET-HASH";
  const std::string dir = root_ + "/out";
  const auto r = upload_after_swap(dir, "report.txt", [&](const std::string& path) {
    ::unlink(path.c_str());
    ASSERT_EQ(::symlink(secret.c_str(), path.c_str()), 0);
  });
  expect_refused_and_nothing_sent(r, "refused: " + dir + "/report.txt is a symbolic link");
  EXPECT_NE(rt_->log().find("is a symbolic link"), std::string::npos) << rt_->log();
}

TEST_F(Artifacts, DirectoryReplacedBySymlinkIsNotFollowed) {
  const std::string outside = root_ + "/outside";
  ASSERT_EQ(std::system(("mkdir -p " + outside).c_str()), 0);
  std::ofstream(outside + "/report.txt") << "OUTSIDE-SECRET";
  const std::string dir = root_ + "/out";
  const auto r = upload_after_swap(dir, "sub/report.txt", [&](const std::string&) {
    // Moved out of the watched tree, so that nothing else is announced.
    ASSERT_EQ(::rename((dir + "/sub").c_str(), (root_ + "/sub.moved").c_str()), 0);
    ASSERT_EQ(::symlink(outside.c_str(), (dir + "/sub").c_str()), 0);
  });
  expect_refused_and_nothing_sent(r, "refused: " + dir + "/sub is a symbolic link");
}

TEST_F(Artifacts, FifoSwappedInIsRefusedAtOnceAndTheSessionGoesOn) {
  const std::string dir = root_ + "/out";
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = upload_after_swap(dir, "f.txt", [](const std::string& path) {
    ::unlink(path.c_str());
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  expect_refused_and_nothing_sent(r, dir + "/f.txt is a FIFO, not a regular file");
  if (!r)
    return;
  std::printf(
      "[ figures  ] FIFO swapped in for an artifact: refused, request and result in %.2f s\n",
      secs);
  // The next artifact of the same session uploads as usual.
  const auto next = upload_after_swap(dir, "g.txt", [](const std::string&) {});
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->ok) << next->error.value_or("");
  ASSERT_EQ(http_.puts().size(), 1u);
  EXPECT_EQ(http_.puts()[0].body_head, "artifact");
}

} // namespace
} // namespace agentrt::test

// Remote servers and disks that fail mid-transfer: an upload server answering 500, hanging
// after the body or resetting mid-body; a download server resetting or stalling mid-body; a
// full disk (a real size-limited tmpfs, ENOSPC from the kernel) during a download and during
// extraction; a file size limit (RLIMIT_FSIZE) on the runtime; artifacts swapped for FIFOs
// before their upload. Each ends in a clear error for the user — never a crash, a hang or a
// partial file — and the runtime is left as it was (descriptors and threads printed).
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "agentrt/client/client.hpp"
#include "agentrt/protocol/codec.hpp"
#include "support/http_test_server.hpp"
#include "support/protocol_helpers.hpp"
#include "support/runtime_fault_fixture.hpp"
#include "support/scoped_tmpfs.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;
namespace ac = agentrt::client;

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::uint64_t file_checksum(const std::string& path, std::uint64_t& size) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> buf(1 << 16);
  std::uint64_t hash = fnv1a64_offset_basis;
  size = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    hash = fnv1a64(hash, buf.data(), n);
    size += n;
  }
  return hash;
}

class TransferFaults : public runtime_fault_fixture {
protected:
  void SetUp() override {
    dir_ = make_temp_dir("agentrt-xfer-");
    // One retry with short timeouts keeps each fault a few seconds; ratio 0 lets a highly
    // compressible archive reach the full disk (the zip-bomb guard would refuse it first).
    start_runtime({"--transfer-retries", "1", "--low-speed-time", "1", "--connect-timeout", "2",
                   "--kill-grace", "1", "--drain-timeout", "10", "--extract-max-ratio", "0"});
    http_.route("/small.txt", http_response::with_status(200, "small-payload"));
    http_.route("/put", http_response::with_status(200));
    // Warm-up: one download and one upload, so that libcurl and the artifact watcher have set
    // up whatever they keep before the baseline is taken.
    ASSERT_EQ(download_outcome(http_.url("/small.txt"), dir_ + "/warm").error, "");
    ASSERT_TRUE(upload_through("/put").ok);
    ASSERT_TRUE(wait_until([&] { return http_.open_connections() == 0; }, 5s));
    take_baseline();
  }
  void TearDown() override {
    runtime_fault_fixture::TearDown();
    std::system(("rm -rf " + dir_).c_str());
  }

  struct download_answer {
    std::string error;         // the error_message's text, "" on success
    std::string metadata_json; // its metadata
    std::string stdout_text;   // the command's output on success
  };

  // Runs a command_execution with one downloadable into working_dir on a fresh connection.
  download_answer download_outcome(const std::string& url, const std::string& working_dir,
                                   const std::string& command = "true", bool extract = true) {
    auto c = connect();
    if (!c)
      return {"no connection", "{}", ""};
    auto m = exec_request({command});
    p::downloadable d;
    d.download_url = url;
    d.working_dir = working_dir;
    if (!extract)
      d.extract = false;
    m.pre_execution_downloadables.push_back(d);
    c->send(m);
    const auto msgs = c->receive_until_terminal(30s);
    if (msgs.empty())
      return {"no terminal", "{}", ""};
    if (const auto* e = as<p::error_message>(msgs.back()))
      return {e->error, e->metadata.json, ""};
    if (!as<p::command_execution_result_message>(msgs.back()))
      return {"unexpected terminal", "{}", ""};
    return {"", "{}", joined_output(msgs, "stdout")};
  }

  struct upload_answer {
    bool command_ok = false;
    bool ok = false;
    std::string error;
    int http_status = 0;
    std::string end_error; // from session::end(), "" when the session ended cleanly
    double end_seconds = 0;
  };

  // Through the client library, as a user would: a command writes a 1 MiB artifact, the upload
  // callback sends it to path on the test server, and the result callback reports the outcome.
  upload_answer upload_through(const std::string& path) {
    upload_answer out;
    auto [s, err] = ac::session::connect({rt().url()});
    if (err) {
      out.error = err.message;
      return out;
    }
    const std::string dir = dir_ + "/art" + std::to_string(++uploads_);
    std::mutex mutex;
    bool got_result = false;
    ac::execute_options o;
    o.artifacts_dirs = {dir};
    o.on_artifact_upload_request = [this, path](const p::artifact_upload_request_message&,
                                                ac::upload_reply reply) {
      reply(ac::upload_target{http_.url(path), "application/octet-stream"});
    };
    o.on_artifact_upload_result = [&](const p::artifact_upload_result_message& r) {
      std::lock_guard lock(mutex);
      got_result = true;
      out.ok = r.ok;
      out.error = r.error.value_or("");
      out.http_status = r.http_status.value_or(0);
    };
    p::command write;
    write.command = "head -c 1048576 /dev/zero | tr '\\0' a > " + dir + "/artifact.bin";
    auto [res, e] = s->execute_commands({write}, o);
    out.command_ok = !e && res.failed_exit_code() == 0;
    if (e)
      out.error = e.message;
    // end() drains: it returns once the upload finished (however it failed) or --drain-timeout.
    const auto t0 = std::chrono::steady_clock::now();
    const auto end_err = s->end();
    out.end_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (end_err)
      out.end_error = end_err.message;
    std::lock_guard lock(mutex);
    if (!got_result && out.error.empty())
      out.error = "no upload result";
    return out;
  }

  // An upload fault: the command still succeeds, the upload fails with a message containing
  // expected (and no error_message ends the request), the session ends without waiting for
  // --drain-timeout, the server saw 1 + retries attempts and every connection was closed.
  void expect_upload_fault(const std::string& path, const std::string& expected,
                           int expected_status) {
    const auto t0 = std::chrono::steady_clock::now();
    const upload_answer a = upload_through(path);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_TRUE(a.command_ok) << a.error;
    EXPECT_FALSE(a.ok);
    EXPECT_NE(a.error.find(expected), std::string::npos) << a.error;
    EXPECT_NE(a.error.find(http_.url(path)), std::string::npos)
        << "the error names the URL: " << a.error;
    EXPECT_NE(a.error.find("after 2 attempts"), std::string::npos) << a.error;
    EXPECT_EQ(a.http_status, expected_status);
    EXPECT_EQ(a.end_error, "");
    // The drain ends with the upload's outcome, not by giving up after --drain-timeout.
    EXPECT_EQ(rt().log().find("end of session: gave up waiting"), std::string::npos) << rt().log();
    EXPECT_EQ(http_.request_count(path), 2u);
    EXPECT_TRUE(wait_until([&] { return http_.open_connections() == 0; }, 5s));
    std::printf("[ figures  ] %s: failed after %.1f s (session end took %.2f s): %s\n",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(), secs,
                a.end_seconds, a.error.c_str());
    recovered_with_figures();
  }

  // A download fault: the request ends with an error_message containing expected, naming the
  // URL, with download_failed metadata; no partial file is left and the command never ran.
  void expect_download_fault(const std::string& path, const std::string& expected,
                             std::size_t expected_requests) {
    const std::string work = dir_ + "/work";
    const std::string marker = dir_ + "/ran";
    const auto t0 = std::chrono::steady_clock::now();
    const auto a = download_outcome(http_.url(path), work, "touch " + marker);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NE(a.error.find(expected), std::string::npos) << a.error;
    EXPECT_NE(a.error.find("download of " + http_.url(path) + " failed"), std::string::npos)
        << a.error;
    EXPECT_NE(a.metadata_json.find("\"code\":\"download_failed\""), std::string::npos)
        << a.metadata_json;
    EXPECT_EQ(http_.request_count(path), expected_requests);
    EXPECT_FALSE(exists(marker)) << "the command ran after a failed download";
    const std::string name = path.substr(path.rfind('/') + 1);
    EXPECT_FALSE(exists(work + "/" + name));
    EXPECT_FALSE(exists(work + "/." + name + ".part")) << "partial file left behind";
    EXPECT_TRUE(wait_until([&] { return http_.open_connections() == 0; }, 5s));
    std::printf("[ figures  ] %s: failed after %.1f s: %s\n",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(), secs,
                a.error.c_str());
    recovered_with_figures();
  }

  // expect_recovered(), then the runtime's descriptors and threads before the fault (the
  // baseline) and after it, as a figure.
  void recovered_with_figures() {
    expect_recovered();
    // Sampled once the check's own connection has closed too.
    process_resources after;
    wait_resources_at_most(rt().pid(), baseline_, 2s, after);
    std::printf("[ figures  ] %s: fds %d -> %d, threads %d -> %d\n",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(), baseline_.fds,
                after.fds, baseline_.threads, after.threads);
  }

  std::string dir_;
  http_test_server http_;
  int uploads_ = 0;
};

TEST_F(TransferFaults, UploadServerAnswers500) {
  http_.route("/put500", http_response::with_status(500, "internal error"));
  expect_upload_fault("/put500", "HTTP 500", 500);
}

TEST_F(TransferFaults, UploadServerHangsAfterTheBody) {
  http_response hang = http_response::with_status(200);
  hang.hang = true; // reads the whole body, never answers
  http_.route("/hang", hang);
  expect_upload_fault("/hang", "Operation too slow", 0);
  for (const auto& put : http_.puts())
    EXPECT_TRUE(put.complete);
}

TEST_F(TransferFaults, UploadServerResetsMidBody) {
  http_response reset = http_response::with_status(200);
  reset.reset_after = 256 * 1024;
  http_.route("/reset", reset);
  expect_upload_fault("/reset", "curl error", 0);
  for (const auto& put : http_.puts()) {
    if (put.path == "/reset") {
      EXPECT_FALSE(put.complete);
    }
  }
}

TEST_F(TransferFaults, DownloadServerResetsMidBody) {
  http_response reset = http_response::generated(4 << 20);
  reset.reset_after = 1 << 20;
  http_.route("/reset.bin", reset);
  expect_download_fault("/reset.bin", "curl error", 2);
}

TEST_F(TransferFaults, DownloadServerStallsMidBody) {
  http_response stall = http_response::generated(4 << 20);
  stall.stall_after = 1 << 20;
  http_.route("/stall.bin", stall);
  expect_download_fault("/stall.bin", "Operation too slow", 2);
}

TEST_F(TransferFaults, DownloadResetOnceThenRetriedByteExact) {
  const std::uint64_t size = 4 << 20;
  http_response reset = http_response::generated(size);
  reset.reset_after = 1 << 20;
  http_.route("/flaky.bin", {reset, http_response::generated(size)});
  const std::string work = dir_ + "/work";
  const auto a = download_outcome(http_.url("/flaky.bin"), work, "true", /*extract=*/false);
  ASSERT_EQ(a.error, "");
  EXPECT_EQ(http_.request_count("/flaky.bin"), 2u);
  std::uint64_t got = 0;
  EXPECT_EQ(file_checksum(work + "/flaky.bin", got), generated_checksum(size));
  EXPECT_EQ(got, size);
  EXPECT_FALSE(exists(work + "/.flaky.bin.part"));
  recovered_with_figures();
}

TEST_F(TransferFaults, DiskFullWhileDownloading) {
  std::string why;
  auto fs = scoped_tmpfs::mount(2 << 20, why);
  if (!fs)
    GTEST_SKIP() << why;
  http_.route("/big.bin", http_response::generated(8 << 20));
  const std::string work = fs->path() + "/work";
  const std::string marker = dir_ + "/ran";
  const auto a = download_outcome(http_.url("/big.bin"), work, "touch " + marker);
  EXPECT_NE(a.error.find("No space left on device"), std::string::npos) << a.error;
  EXPECT_NE(a.error.find("writing " + work + "/big.bin"), std::string::npos) << a.error;
  EXPECT_NE(a.metadata_json.find("\"io_error\":\"No space left on device\""), std::string::npos)
      << a.metadata_json;
  EXPECT_EQ(http_.request_count("/big.bin"), 1u) << "a full disk is not worth a retry";
  EXPECT_FALSE(exists(marker));
  EXPECT_FALSE(exists(work + "/.big.bin.part"));
  // The space came back (only the empty directory remains)...
  EXPECT_LT(fs->used_bytes(), 64u * 1024) << fs->used_bytes();
  std::printf("[ figures  ] disk full while downloading: %s\n", a.error.c_str());
  // ... so the next download to the same disk works.
  const auto next = download_outcome(http_.url("/small.txt"), work, "cat " + work + "/small.txt");
  EXPECT_EQ(next.error, "");
  EXPECT_EQ(next.stdout_text, "small-payload");
  recovered_with_figures();
}

TEST_F(TransferFaults, DiskFullWhileExtracting) {
  std::string why;
  auto fs = scoped_tmpfs::mount(2 << 20, why);
  if (!fs)
    GTEST_SKIP() << why;
  // A small zip whose one entry unpacks to 6 MiB: the download fits, the extraction does not.
  const std::string zip = dir_ + "/fill.zip";
  ASSERT_EQ(std::system(("python3 -c \"import zipfile,sys; z=zipfile.ZipFile(sys.argv[1],'w',"
                         "zipfile.ZIP_DEFLATED); z.writestr('fill/data.txt', 'agentrt-' * "
                         "786432); z.close()\" " +
                         zip)
                            .c_str()),
            0);
  http_.route("/fill.zip", http_response::file(zip));
  const std::string work = fs->path() + "/work";
  const auto a = download_outcome(http_.url("/fill.zip"), work);
  EXPECT_NE(a.error.find("No space left on device"), std::string::npos) << a.error;
  EXPECT_NE(a.error.find("entry \"fill/data.txt\""), std::string::npos) << a.error;
  EXPECT_NE(a.metadata_json.find("\"code\":\"extract_failed\""), std::string::npos)
      << a.metadata_json;
  EXPECT_FALSE(exists(work + "/fill/data.txt")) << "the partial entry is removed";
  EXPECT_FALSE(exists(work + "/fill.zip")) << "the archive is removed";
  EXPECT_LT(fs->used_bytes(), 64u * 1024) << fs->used_bytes();
  std::printf("[ figures  ] disk full while extracting: %s\n", a.error.c_str());
  recovered_with_figures();
}

TEST_F(TransferFaults, FileSizeLimitWhileDownloading) {
  // A sandbox may cap file sizes (ulimit -f): writes past the cap must fail with EFBIG and
  // not kill the runtime with SIGXFSZ.
  // Only the soft limit: lowering it needs no privilege, and the test can restore it.
  rlimit original{};
  ASSERT_EQ(::prlimit(rt().pid(), RLIMIT_FSIZE, nullptr, &original), 0) << std::strerror(errno);
  rlimit lim = original;
  lim.rlim_cur = 2 << 20;
  ASSERT_EQ(::prlimit(rt().pid(), RLIMIT_FSIZE, &lim, nullptr), 0) << std::strerror(errno);
  http_.route("/big.bin", http_response::generated(8 << 20));
  const std::string work = dir_ + "/work";
  const auto a = download_outcome(http_.url("/big.bin"), work);
  ASSERT_TRUE(rt().running()) << "the runtime was killed; log:\n" << rt().log();
  EXPECT_NE(a.error.find("File too large"), std::string::npos) << a.error;
  EXPECT_EQ(http_.request_count("/big.bin"), 1u);
  EXPECT_FALSE(exists(work + "/.big.bin.part"));
  EXPECT_FALSE(exists(work + "/big.bin"));
  std::printf("[ figures  ] file size limit while downloading: %s\n", a.error.c_str());
  ASSERT_EQ(::prlimit(rt().pid(), RLIMIT_FSIZE, &original, nullptr), 0) << std::strerror(errno);
  recovered_with_figures();
}

// Four artifacts, each swapped for a FIFO between its announcement and the client's answer. A
// blocking open() waited for a writer forever, once per transfer thread: every other session's
// downloads stalled and SIGTERM could not stop the runtime. Each must be refused at once.
TEST_F(TransferFaults, ArtifactsSwappedForFifos) {
  constexpr int files = 4;
  const std::string dir = dir_ + "/fifo-art";
  auto c = connect();
  ASSERT_TRUE(c);
  std::string command = "mkdir -p " + dir;
  for (int i = 0; i < files; ++i)
    command += " && printf data > " + dir + "/f" + std::to_string(i);
  auto m = exec_request({command});
  m.artifacts_dirs = {dir};
  m.client_capabilities = {"upload_results"};
  c->send(m);
  std::vector<p::artifact_upload_result_message> results;
  const auto t0 = std::chrono::steady_clock::now();
  while (results.size() < files && std::chrono::steady_clock::now() - t0 < 15s) {
    auto msg = c->receive(1s);
    if (!msg)
      continue;
    if (auto* up = as<p::artifact_upload_request_message>(*msg)) {
      ::unlink(up->filepath.c_str());
      ASSERT_EQ(::mkfifo(up->filepath.c_str(), 0600), 0) << std::strerror(errno);
      p::artifact_upload_response_message resp;
      resp.filename = up->filename;
      resp.filepath = up->filepath;
      resp.presigned_url = http_.url("/put");
      c->send(resp);
    } else if (auto* r = as<p::artifact_upload_result_message>(*msg)) {
      results.push_back(*r);
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Not an ASSERT: what a blocked open does to the rest of the runtime is the point below.
  EXPECT_EQ(results.size(), static_cast<std::size_t>(files)) << "uploads of FIFOs never ended";
  for (const auto& r : results) {
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.value_or("").find("is a FIFO, not a regular file"), std::string::npos)
        << r.error.value_or("");
  }
  if (results.size() == static_cast<std::size_t>(files))
    std::printf("[ figures  ] %d artifacts swapped for FIFOs: all refused, %.2f s from request to "
                "the last result\n",
                files, secs);
  // Another session's download is served meanwhile; this one stays open with its FIFOs.
  const auto d0 = std::chrono::steady_clock::now();
  const auto other = download_outcome(http_.url("/small.txt"), dir_ + "/other",
                                      "cat " + dir_ + "/other/small.txt");
  EXPECT_EQ(other.error, "");
  EXPECT_EQ(other.stdout_text, "small-payload");
  std::printf(
      "[ figures  ] another session's download meanwhile: %.0f ms\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - d0).count());
  c->close();
  c.reset();
  recovered_with_figures();

  // And SIGTERM still stops the runtime.
  const auto s0 = std::chrono::steady_clock::now();
  const int status = rt().stop(SIGTERM, 10s);
  const double stop_secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
  ASSERT_NE(status, -1) << "the runtime did not exit after SIGTERM; log:\n" << rt().log();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::printf("[ figures  ] SIGTERM after the FIFO uploads: exited in %.2f s\n", stop_secs);
  // TearDown checks a live runtime.
  start_runtime({"--transfer-retries", "1"});
}

} // namespace
} // namespace agentrt::test

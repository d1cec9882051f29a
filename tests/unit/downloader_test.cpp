// The downloader against a real loopback HTTP server and a real io_context: byte-exact bodies,
// status handling, retries, redirects, file:// URLs, timeouts, cancel, hostile file names,
// unreachable hosts, resets and local write errors; the low-speed rule against a dripping
// server, the size cap, userinfo kept out of every text, a FIFO behind a file:// URL, and slow
// downloads that must not hold up a small one.
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <curl/curl.h>
#include <gtest/gtest.h>

#include "support/http_test_server.hpp"
#include "transfer/downloader.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace tr = agentrt::runtime::transfer;
using steady = std::chrono::steady_clock;

struct temp_dir {
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "agentrt-download-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    out.push_back(e.path().filename().string());
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string generated(std::uint64_t size) {
  std::string s(size, '\0');
  fill_generated(0, s.data(), s.size());
  return s;
}

long vm_hwm_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0)
      return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

// A port nothing listens on: bound, never listened on, closed.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct run_outcome {
  tr::download_result result;
  std::chrono::milliseconds elapsed{0};
  // From the cancel to the result, when the run cancelled.
  std::optional<std::chrono::milliseconds> after_cancel;
  bool on_io_thread = false;
};

class Downloader : public ::testing::Test {
protected:
  // Production limits, except the backoff that would make every retry test take seconds.
  static tr::transfer_options fast_options() {
    tr::transfer_options o;
    o.initial_backoff = 10ms;
    return o;
  }

  run_outcome run(const std::string& url, const std::string& dir,
                  const tr::transfer_options& options = fast_options(),
                  std::optional<std::chrono::milliseconds> cancel_after = std::nullopt) {
    asio::io_context io;
    tr::transfer_engine engine;
    tr::thread_pool pool(1);
    tr::downloader d(io, engine, pool);
    runtime::util::cancel_token cancel;
    run_outcome out;
    bool done = false;
    steady::time_point cancelled_at{};
    asio::steady_timer timer(io);
    const auto start = steady::now();
    const auto io_thread = std::this_thread::get_id();
    d.download(url, dir, options, cancel, [&](tr::download_result r) {
      out.result = std::move(r);
      out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
      if (cancelled_at != steady::time_point{}) {
        out.after_cancel =
            std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - cancelled_at);
      }
      out.on_io_thread = std::this_thread::get_id() == io_thread;
      done = true;
      timer.cancel();
    });
    if (cancel_after) {
      timer.expires_after(*cancel_after);
      timer.async_wait([&](const std::error_code& ec) {
        if (ec)
          return;
        cancelled_at = steady::now();
        cancel.cancel();
      });
    }
    io.run();
    EXPECT_TRUE(done) << "on_done never ran";
    return out;
  }

  http_test_server server_;
  temp_dir tmp_;
};

TEST_F(Downloader, StreamsBodyByteExact) {
  const std::uint64_t size = 3 * 1024 * 1024 + 17;
  server_.route("/data/blob.bin", http_response::generated(size));
  const auto out = run(server_.url("/data/blob.bin"), tmp_.path);
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  EXPECT_TRUE(out.on_io_thread);
  EXPECT_EQ(out.result.path, tmp_.path + "/blob.bin");
  EXPECT_EQ(out.result.bytes, size);
  EXPECT_EQ(out.result.http_status, 200);
  EXPECT_EQ(out.result.attempts, 1);
  EXPECT_TRUE(out.result.error.empty());
  EXPECT_TRUE(read_file(out.result.path) == generated(size)) << "content differs";
  EXPECT_EQ(entries(tmp_.path), std::vector<std::string>{"blob.bin"});
}

TEST_F(Downloader, ReplacesExistingFile) {
  server_.route("/f.txt", http_response::with_status(200, "new"));
  std::ofstream(tmp_.path + "/f.txt") << "old contents";
  const auto out = run(server_.url("/f.txt"), tmp_.path);
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  EXPECT_EQ(read_file(tmp_.path + "/f.txt"), "new");
}

TEST_F(Downloader, CreatesMissingWorkingDir) {
  server_.route("/x.txt", http_response::with_status(200, "hello"));
  const std::string dir = tmp_.path + "/a/b/c";
  const auto out = run(server_.url("/x.txt"), dir);
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  EXPECT_EQ(read_file(dir + "/x.txt"), "hello");
}

TEST_F(Downloader, NotFoundNamesUrlAndStatus) {
  server_.route("/missing.zip", http_response::with_status(404, "no such object"));
  const std::string url = server_.url("/missing.zip");
  const auto out = run(url, tmp_.path);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::http_status);
  EXPECT_EQ(out.result.error, "download of " + url + " failed: HTTP 404");
  EXPECT_EQ(out.result.http_status, 404);
  EXPECT_EQ(out.result.attempts, 1);
  EXPECT_EQ(server_.request_count("/missing.zip"), 1u);
  EXPECT_TRUE(entries(tmp_.path).empty());
}

TEST_F(Downloader, RetriesAfterServerError) {
  server_.route("/r.bin",
                {http_response::with_status(500, "oops"), http_response::generated(4096)});
  const auto out = run(server_.url("/r.bin"), tmp_.path);
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  EXPECT_EQ(server_.request_count("/r.bin"), 2u);
  EXPECT_EQ(out.result.attempts, 2);
  EXPECT_TRUE(read_file(out.result.path) == generated(4096));
}

TEST_F(Downloader, GivesUpAfterRetryLimitOnServerErrors) {
  server_.route("/down.bin", http_response::with_status(503));
  auto options = fast_options();
  options.initial_backoff = 40ms;
  const std::string url = server_.url("/down.bin");
  const auto out = run(url, tmp_.path, options);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::http_status);
  EXPECT_EQ(out.result.http_status, 503);
  EXPECT_EQ(out.result.attempts, 4);
  EXPECT_EQ(server_.request_count("/down.bin"), 4u);
  EXPECT_EQ(out.result.error, "download of " + url + " failed: HTTP 503, after 4 attempts");
  // 40 + 80 + 160 ms of backoff.
  EXPECT_GE(out.elapsed, 280ms);
  EXPECT_TRUE(entries(tmp_.path).empty());
}

TEST_F(Downloader, ClientErrorsAreNotRetried) {
  server_.route("/forbidden", http_response::with_status(403));
  const auto out = run(server_.url("/forbidden"), tmp_.path);
  EXPECT_EQ(out.result.http_status, 403);
  EXPECT_EQ(server_.request_count("/forbidden"), 1u);
}

TEST_F(Downloader, FollowsRedirectAndKeepsOriginalName) {
  server_.route("/old/name.tar", http_response::redirect(server_.url("/new/other.tar")));
  server_.route("/new/other.tar", http_response::generated(100000));
  const auto out = run(server_.url("/old/name.tar"), tmp_.path);
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  EXPECT_EQ(out.result.path, tmp_.path + "/name.tar");
  EXPECT_TRUE(read_file(out.result.path) == generated(100000));
  EXPECT_EQ(server_.request_count("/new/other.tar"), 1u);
}

TEST_F(Downloader, RedirectLoopStopsAtLimit) {
  server_.route("/loop", http_response::redirect("/loop"));
  const auto out = run(server_.url("/loop"), tmp_.path);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::transport);
  EXPECT_EQ(out.result.curl_code, CURLE_TOO_MANY_REDIRECTS);
  EXPECT_EQ(server_.request_count("/loop"), 11u); // the request and 10 redirects, no retry
  EXPECT_TRUE(entries(tmp_.path).empty());
}

TEST_F(Downloader, RedirectToFileUrlIsRefused) {
  temp_dir src;
  std::ofstream(src.path + "/secret") << "do not leak";
  server_.route("/sneaky", http_response::redirect("file://" + src.path + "/secret"));
  const auto out = run(server_.url("/sneaky"), tmp_.path);
  EXPECT_FALSE(out.result.ok());
  EXPECT_TRUE(entries(tmp_.path).empty());
}

TEST_F(Downloader, FileUrl) {
  temp_dir src;
  const std::string content = generated(200000);
  std::ofstream(src.path + "/in put.dat", std::ios::binary) << content;
  const auto out = run("file://" + src.path + "/in%20put.dat", tmp_.path);
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  EXPECT_EQ(out.result.path, tmp_.path + "/in put.dat");
  EXPECT_EQ(out.result.http_status, 0);
  EXPECT_TRUE(read_file(out.result.path) == content);
}

TEST_F(Downloader, MissingFileUrlFailsWithoutRetry) {
  const std::string url = "file://" + tmp_.path + "/nope.txt";
  const auto out = run(url, tmp_.path + "/out");
  EXPECT_EQ(out.result.failure, tr::transfer_failure::transport);
  EXPECT_EQ(out.result.curl_code, CURLE_FILE_COULDNT_READ_FILE);
  EXPECT_EQ(out.result.attempts, 1);
  EXPECT_NE(out.result.error.find(url), std::string::npos) << out.result.error;
  EXPECT_TRUE(entries(tmp_.path + "/out").empty());
}

TEST_F(Downloader, StalledBodyHitsLowSpeedTimeout) {
  server_.route("/slow.bin", [] {
    auto r = http_response::generated(1000000);
    r.stall_after = 1000;
    return r;
  }());
  auto options = fast_options();
  options.low_speed_time = 1s;
  options.max_retries = 0;
  const auto out = run(server_.url("/slow.bin"), tmp_.path, options);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::transport);
  EXPECT_EQ(out.result.curl_code, CURLE_OPERATION_TIMEDOUT) << out.result.error;
  EXPECT_LT(out.elapsed, 3s);
  EXPECT_TRUE(entries(tmp_.path).empty());
}

TEST_F(Downloader, SilentServerHitsLowSpeedTimeout) {
  server_.route("/silent", [] {
    auto r = http_response::generated(10);
    r.hang = true;
    return r;
  }());
  auto options = fast_options();
  options.low_speed_time = 1s;
  options.max_retries = 1;
  const auto out = run(server_.url("/silent"), tmp_.path, options);
  EXPECT_EQ(out.result.curl_code, CURLE_OPERATION_TIMEDOUT) << out.result.error;
  EXPECT_EQ(server_.request_count("/silent"), 2u); // timeouts are retried
  EXPECT_NE(out.result.error.find("after 2 attempts"), std::string::npos) << out.result.error;
  EXPECT_LT(out.elapsed, 4s);
}

TEST_F(Downloader, CancelMidDownloadIsPromptAndCleansUp) {
  server_.route("/big.bin", [] {
    auto r = http_response::generated(50 * 1000 * 1000);
    r.bytes_per_second = 100000;
    return r;
  }());
  const auto out = run(server_.url("/big.bin"), tmp_.path, fast_options(), 200ms);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::cancelled) << out.result.error;
  ASSERT_TRUE(out.after_cancel);
  EXPECT_LT(*out.after_cancel, 1s);
  EXPECT_TRUE(entries(tmp_.path).empty());
}

TEST_F(Downloader, CancelWhileServerIsStalledIsPrompt) {
  server_.route("/stuck.bin", [] {
    auto r = http_response::generated(1000000);
    r.stall_after = 10;
    return r;
  }());
  const auto out = run(server_.url("/stuck.bin"), tmp_.path, fast_options(), 300ms);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::cancelled) << out.result.error;
  ASSERT_TRUE(out.after_cancel);
  EXPECT_LT(*out.after_cancel, 1s);
  EXPECT_TRUE(entries(tmp_.path).empty());
}

TEST_F(Downloader, CancelDuringBackoffIsPrompt) {
  server_.route("/flaky", http_response::with_status(500));
  auto options = fast_options();
  options.initial_backoff = 10s;
  const auto out = run(server_.url("/flaky"), tmp_.path, options, 300ms);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::cancelled) << out.result.error;
  ASSERT_TRUE(out.after_cancel);
  EXPECT_LT(*out.after_cancel, 1s);
  EXPECT_EQ(server_.request_count("/flaky"), 1u);
}

TEST_F(Downloader, HostileFileNamesAreRefusedBeforeAnyIo) {
  const std::string base = "http://127.0.0.1:" + std::to_string(server_.port());
  const std::vector<std::string> urls = {
      base + "/..%2F..%2Fetc%2Fx",
      base + "/%2e%2e",
      base + "/",
      base,
      base + "/a%00b",
      base + "/dir/.",
      base + "/dir/",
      base + "/%2F",
      base + "/x/..?q=1",
      base + "/%2E",
      base + "/?name=ok.txt",
  };
  for (const auto& url : urls) {
    SCOPED_TRACE(url);
    const std::string dir = tmp_.path + "/wd";
    const auto out = run(url, dir);
    EXPECT_EQ(out.result.failure, tr::transfer_failure::refused);
    EXPECT_EQ(out.result.error.rfind("download of " + url + " refused: ", 0), 0u)
        << out.result.error;
    EXPECT_FALSE(fs::exists(dir));
  }
  EXPECT_TRUE(server_.requests().empty());
  EXPECT_TRUE(entries(tmp_.path).empty());
}

TEST_F(Downloader, RefusalTextShowsDecodedName) {
  const std::string url = server_.url("/..%2F..%2Fetc%2Fx");
  const auto out = run(url, tmp_.path);
  EXPECT_NE(out.result.error.find("\"../../etc/x\""), std::string::npos) << out.result.error;
  const auto nul = run(server_.url("/a%00b"), tmp_.path);
  EXPECT_NE(nul.result.error.find("\"a\\0b\""), std::string::npos) << nul.result.error;
}

TEST_F(Downloader, NameIsDecodedLastSegmentWithoutQueryOrFragment) {
  server_.route("/files/my%20report.pdf", http_response::with_status(200, "pdf"));
  const auto out = run(server_.url("/files/my%20report.pdf?X-Sig=a/b#frag"), tmp_.path);
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  EXPECT_EQ(out.result.path, tmp_.path + "/my report.pdf");
  ASSERT_FALSE(server_.requests().empty());
  EXPECT_EQ(server_.requests().back().target, "/files/my%20report.pdf?X-Sig=a/b");
}

TEST_F(Downloader, UnsupportedSchemeIsRefused) {
  const auto out = run("ftp://127.0.0.1/file.txt", tmp_.path + "/wd");
  EXPECT_EQ(out.result.failure, tr::transfer_failure::refused);
  EXPECT_FALSE(fs::exists(tmp_.path + "/wd"));
}

TEST_F(Downloader, PlantedPartSymlinkIsNotFollowed) {
  temp_dir other;
  const std::string victim = other.path + "/victim";
  std::ofstream(victim) << "precious";
  fs::create_symlink(victim, tmp_.path + "/.f.bin.part");
  server_.route("/f.bin", http_response::generated(1000));
  const auto out = run(server_.url("/f.bin"), tmp_.path);
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  EXPECT_EQ(read_file(victim), "precious");
  EXPECT_EQ(entries(tmp_.path), std::vector<std::string>{"f.bin"});
}

TEST_F(Downloader, UnreachableHostGivesClearErrorAfterRetries) {
  const std::string url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/x.zip";
  auto options = fast_options();
  options.max_retries = 2;
  const auto out = run(url, tmp_.path, options);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::transport);
  EXPECT_EQ(out.result.curl_code, CURLE_COULDNT_CONNECT);
  EXPECT_EQ(out.result.http_status, 0);
  EXPECT_EQ(out.result.attempts, 3);
  EXPECT_EQ(out.result.error.rfind("download of " + url + " failed: ", 0), 0u) << out.result.error;
  EXPECT_NE(out.result.error.find("(curl error 7), after 3 attempts"), std::string::npos)
      << out.result.error;
  EXPECT_TRUE(entries(tmp_.path).empty());
}

TEST_F(Downloader, ResetMidBodyIsRetried) {
  const std::uint64_t size = 2 * 1024 * 1024;
  auto broken = http_response::generated(size);
  broken.reset_after = 300000;
  server_.route("/reset.bin", {broken, http_response::generated(size)});
  const auto out = run(server_.url("/reset.bin"), tmp_.path);
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  EXPECT_EQ(server_.request_count("/reset.bin"), 2u);
  EXPECT_TRUE(read_file(out.result.path) == generated(size));
}

TEST_F(Downloader, ResetMidBodyEveryTimeFails) {
  auto broken = http_response::generated(2 * 1024 * 1024);
  broken.reset_after = 300000;
  server_.route("/reset.bin", broken);
  auto options = fast_options();
  options.max_retries = 1;
  const auto out = run(server_.url("/reset.bin"), tmp_.path, options);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::transport) << out.result.error;
  EXPECT_EQ(server_.request_count("/reset.bin"), 2u);
  EXPECT_NE(out.result.error.find("after 2 attempts"), std::string::npos) << out.result.error;
  EXPECT_TRUE(entries(tmp_.path).empty());
}

// Disk full is simulated with RLIMIT_FSIZE: write() then fails with EFBIG, through the same
// short-write path as ENOSPC.
TEST_F(Downloader, WriteErrorIsReportedAndPartialRemoved) {
  server_.route("/huge.bin", http_response::generated(4 * 1024 * 1024));
  struct fsize_limit {
    rlimit saved{};
    void (*old_handler)(int) = nullptr;
    fsize_limit() {
      ::getrlimit(RLIMIT_FSIZE, &saved);
      old_handler = ::signal(SIGXFSZ, SIG_IGN);
      rlimit tight = saved;
      tight.rlim_cur = 256 * 1024;
      ::setrlimit(RLIMIT_FSIZE, &tight);
    }
    ~fsize_limit() {
      ::setrlimit(RLIMIT_FSIZE, &saved);
      ::signal(SIGXFSZ, old_handler);
    }
  };
  run_outcome out;
  {
    fsize_limit limit;
    out = run(server_.url("/huge.bin"), tmp_.path);
  }
  EXPECT_EQ(out.result.failure, tr::transfer_failure::local_io);
  EXPECT_EQ(out.result.io_error, std::make_error_code(std::errc::file_too_large));
  EXPECT_NE(out.result.error.find("writing " + tmp_.path + "/huge.bin: File too large"),
            std::string::npos)
      << out.result.error;
  EXPECT_EQ(out.result.attempts, 1);
  EXPECT_TRUE(entries(tmp_.path).empty());
}

TEST_F(Downloader, Large1GiBDownload) {
  const std::uint64_t size = 1ull << 30;
  server_.route("/large.bin", http_response::generated(size));
  const auto out = run(server_.url("/large.bin"), tmp_.path);
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  EXPECT_EQ(fs::file_size(out.result.path), size);
  const double seconds = std::chrono::duration<double>(out.elapsed).count();
  std::printf("[ figures  ] download 1 GiB: %.2f s, %.0f MB/s, peak RSS (VmHWM) %ld KiB\n", seconds,
              static_cast<double>(size) / 1e6 / seconds, vm_hwm_kib());
  // Spot checks instead of a full compare keep the test about throughput and memory.
  std::ifstream in(out.result.path, std::ios::binary);
  for (std::uint64_t off : {std::uint64_t{0}, size / 3, size - 4096}) {
    std::string got(4096, '\0'), want(4096, '\0');
    in.seekg(static_cast<std::streamoff>(off));
    in.read(got.data(), 4096);
    fill_generated(off, want.data(), want.size());
    EXPECT_TRUE(got == want) << "at offset " << off;
  }
}

// One byte every 0.9 s is never a silent second, so only an average over a window catches it.
TEST_F(Downloader, LowSpeedLimitTripsADrippingServer) {
  server_.route("/drip.bin", [] {
    auto r = http_response::generated(1000);
    r.byte_interval = 900ms;
    return r;
  }());
  auto options = fast_options();
  options.low_speed_limit = 100;
  options.low_speed_time = 2s;
  options.max_retries = 0;
  const auto out = run(server_.url("/drip.bin"), tmp_.path, options);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::transport);
  EXPECT_EQ(out.result.curl_code, CURLE_OPERATION_TIMEDOUT) << out.result.error;
  EXPECT_NE(out.result.error.find("Operation too slow: less than 100 bytes/s transferred during "
                                  "the last 2000 ms"),
            std::string::npos)
      << out.result.error;
  EXPECT_TRUE(entries(tmp_.path).empty());
  std::printf("[ figures  ] dripping download abandoned after %lld ms (limit 100 B/s over 2 s)\n",
              static_cast<long long>(out.elapsed.count()));
}

// Refused from the Content-Length before the body when there is one; otherwise once the limit
// is passed (an endless body without Content-Length).
TEST_F(Downloader, BodyOverTheLimitIsRefused) {
  auto endless = http_response::generated(1ull << 50);
  endless.close_delimited = true;
  server_.route("/announced.bin", http_response::generated(10 << 20));
  server_.route("/endless", endless);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/announced.bin", "the server announced 10485760 bytes, more than the limit of 3145728 "
                         "bytes (--download-max-bytes)"},
      {"/endless", "the body is larger than the limit of 3145728 bytes (--download-max-bytes)"}};
  auto options = fast_options();
  options.download_max_bytes = 3 << 20;
  for (const auto& [path, reason] : cases) {
    SCOPED_TRACE(path);
    const std::string url = server_.url(path);
    const auto out = run(url, tmp_.path, options);
    EXPECT_EQ(out.result.failure, tr::transfer_failure::too_large);
    EXPECT_EQ(out.result.error, "download of " + url + " failed: " + reason);
    EXPECT_LE(out.result.bytes, 3u << 20);
    EXPECT_EQ(out.result.attempts, 1);
    EXPECT_EQ(server_.request_count(path), 1u);
    EXPECT_TRUE(entries(tmp_.path).empty()) << "the .part file is removed";
  }
}

TEST_F(Downloader, FileUrlOverTheLimitIsRefused) {
  temp_dir src;
  std::ofstream(src.path + "/big.dat", std::ios::binary) << generated(5000);
  auto options = fast_options();
  options.download_max_bytes = 4096;
  const auto out = run("file://" + src.path + "/big.dat", tmp_.path, options);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::too_large) << out.result.error;
  EXPECT_TRUE(entries(tmp_.path).empty());
}

// curl would open the FIFO and wait for a writer forever, holding a transfer thread.
TEST_F(Downloader, FileUrlNamingAFifoIsRefusedAtOnce) {
  temp_dir src;
  ASSERT_EQ(::mkfifo((src.path + "/pipe").c_str(), 0600), 0);
  const std::string url = "file://" + src.path + "/pipe";
  const auto out = run(url, tmp_.path);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::refused);
  EXPECT_EQ(out.result.error,
            "download of " + url + " refused: " + src.path + "/pipe is a FIFO, not a regular file");
  EXPECT_TRUE(entries(tmp_.path).empty());
  std::printf("[ figures  ] file:// FIFO refused after %lld ms\n",
              static_cast<long long>(out.elapsed.count()));
}

TEST_F(Downloader, UserinfoIsHiddenInEveryText) {
  server_.route("/missing.bin", http_response::with_status(404));
  const std::string port = std::to_string(server_.port());
  const auto out = run("http://alice:hunter2-secret@127.0.0.1:" + port + "/missing.bin", tmp_.path);
  EXPECT_EQ(out.result.error,
            "download of http://***@127.0.0.1:" + port + "/missing.bin failed: HTTP 404");
  auto options = fast_options();
  options.max_retries = 0;
  const std::string closed = std::to_string(closed_port());
  const auto unreachable =
      run("http://alice:hunter2-secret@127.0.0.1:" + closed + "/x.zip", tmp_.path, options);
  EXPECT_EQ(unreachable.result.error.rfind("download of http://***@127.0.0.1:" + closed, 0), 0u)
      << unreachable.result.error;
  const auto refused = run("http://alice:hunter2-secret@127.0.0.1:" + port + "/", tmp_.path);
  EXPECT_EQ(refused.result.failure, tr::transfer_failure::refused);
  for (const auto* r : {&out.result, &unreachable.result, &refused.result}) {
    EXPECT_EQ(r->error.find("hunter2"), std::string::npos) << r->error;
    EXPECT_EQ(r->curl_error.find("hunter2"), std::string::npos) << r->curl_error;
  }
}

// Six downloads dripping a byte every 0.9 s and a small one started after them, on one engine:
// the small one finishes while all six are still running.
TEST_F(Downloader, SlowDownloadsDoNotHoldUpASmallOne) {
  constexpr int slow = 6;
  server_.route("/drip.bin", [] {
    auto r = http_response::generated(1000);
    r.byte_interval = 900ms;
    return r;
  }());
  server_.route("/small.txt", http_response::with_status(200, "small"));
  asio::io_context io;
  tr::transfer_engine engine;
  tr::thread_pool pool(1);
  tr::downloader d(io, engine, pool);
  runtime::util::cancel_token cancel_slow;
  int slow_done = 0;
  std::optional<tr::download_result> small;
  int slow_done_before_small = -1;
  for (int i = 0; i < slow; ++i) {
    d.download(server_.url("/drip.bin"), tmp_.path + "/slow" + std::to_string(i), fast_options(),
               cancel_slow, [&](tr::download_result) { ++slow_done; });
  }
  asio::steady_timer timer(io);
  steady::time_point small_started{};
  std::chrono::milliseconds waited{0};
  // Once every slow download is under way (each has its request in), the small one starts.
  std::function<void()> poll_then_start = [&] {
    if (server_.request_count("/drip.bin") < static_cast<std::size_t>(slow)) {
      timer.expires_after(20ms);
      timer.async_wait([&](const std::error_code&) { poll_then_start(); });
      return;
    }
    small_started = steady::now();
    d.download(server_.url("/small.txt"), tmp_.path + "/fast", fast_options(), {},
               [&](tr::download_result r) {
                 waited = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() -
                                                                                small_started);
                 slow_done_before_small = slow_done;
                 small = std::move(r);
                 cancel_slow.cancel();
               });
  };
  poll_then_start();
  // A limit instead of waiting for the slow ones: 1000 bytes at 0.9 s each would take 15 min.
  asio::steady_timer limit(io);
  limit.expires_after(20s);
  limit.async_wait([&](const std::error_code& ec) {
    if (!ec)
      cancel_slow.cancel();
  });
  while (slow_done < slow && io.run_one()) {
  }
  limit.cancel();
  io.run();
  ASSERT_TRUE(small) << "the small download never finished";
  EXPECT_TRUE(small->ok()) << small->error;
  EXPECT_EQ(slow_done_before_small, 0) << "it finished only after slow ones ended";
  EXPECT_EQ(read_file(tmp_.path + "/fast/small.txt"), "small");
  std::printf("[ figures  ] small download behind %d dripping ones: finished after %lld ms\n", slow,
              static_cast<long long>(waited.count()));
}

} // namespace
} // namespace agentrt::test

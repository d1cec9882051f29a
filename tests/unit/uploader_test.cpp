// The uploader against a real loopback HTTP server and a real io_context: bytes and headers as
// received, retries, status failures, missing files, hangs, resets, redirects and cancel; and
// files swapped under it — a symlink at the file or at a directory, a FIFO, a base directory
// turned into a symlink — refused before a byte is read, with userinfo kept out of the text.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <curl/curl.h>
#include <gtest/gtest.h>

#include "support/http_test_server.hpp"
#include "transfer/uploader.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace tr = agentrt::runtime::transfer;
using steady = std::chrono::steady_clock;

struct temp_dir {
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "agentrt-upload-XXXXXX").string();
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

// Writes size bytes of the generated pattern, in chunks.
void write_generated(const std::string& path, std::uint64_t size) {
  std::ofstream out(path, std::ios::binary);
  std::vector<char> buf(1 << 20);
  for (std::uint64_t off = 0; off < size;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - off));
    fill_generated(off, buf.data(), n);
    out.write(buf.data(), static_cast<std::streamsize>(n));
    off += n;
  }
}

std::uint64_t file_checksum(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> buf(1 << 20);
  std::uint64_t hash = fnv1a64_offset_basis;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    hash = fnv1a64(hash, buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  return hash;
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

struct run_outcome {
  tr::upload_result result;
  std::chrono::milliseconds elapsed{0};
  std::optional<std::chrono::milliseconds> after_cancel;
  bool on_io_thread = false;
};

class Uploader : public ::testing::Test {
protected:
  static tr::transfer_options fast_options() {
    tr::transfer_options o;
    o.initial_backoff = 10ms;
    return o;
  }

  run_outcome run(const std::string& file, const std::string& url,
                  const std::string& content_type = "application/octet-stream",
                  const tr::transfer_options& options = fast_options(),
                  std::optional<std::chrono::milliseconds> cancel_after = std::nullopt) {
    return run_source(tr::upload_source::file(file), url, content_type, options, cancel_after);
  }

  run_outcome run_source(const tr::upload_source& source, const std::string& url,
                         const std::string& content_type = "application/octet-stream",
                         const tr::transfer_options& options = fast_options(),
                         std::optional<std::chrono::milliseconds> cancel_after = std::nullopt) {
    asio::io_context io;
    tr::transfer_engine engine;
    tr::uploader u(io, engine);
    runtime::util::cancel_token cancel;
    run_outcome out;
    bool done = false;
    steady::time_point cancelled_at{};
    asio::steady_timer timer(io);
    const auto start = steady::now();
    const auto io_thread = std::this_thread::get_id();
    u.upload(source, url, content_type, options, cancel, [&](tr::upload_result r) {
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

  std::string make_file(const std::string& name, std::uint64_t size) {
    const std::string path = tmp_.path + "/" + name;
    write_generated(path, size);
    return path;
  }

  http_test_server server_;
  temp_dir tmp_;
};

TEST_F(Uploader, SendsBytesExactlyWithHeaders) {
  const std::uint64_t size = 64ull * 1024 * 1024;
  const std::string file = make_file("artifact.bin", size);
  server_.route("/bucket/artifact.bin", http_response::with_status(200));
  const std::string url = server_.url("/bucket/artifact.bin?X-Amz-Signature=abc%2Fdef&x=1");
  const auto out = run(file, url, "application/x-custom");
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  EXPECT_TRUE(out.on_io_thread);
  EXPECT_EQ(out.result.http_status, 200);
  EXPECT_EQ(out.result.bytes, size);
  EXPECT_EQ(out.result.attempts, 1);

  const auto puts = server_.puts();
  ASSERT_EQ(puts.size(), 1u);
  const auto& put = puts[0];
  EXPECT_TRUE(put.complete);
  EXPECT_EQ(put.target, "/bucket/artifact.bin?X-Amz-Signature=abc%2Fdef&x=1");
  EXPECT_EQ(put.content_type, "application/x-custom");
  ASSERT_TRUE(put.content_length);
  EXPECT_EQ(*put.content_length, size);
  EXPECT_EQ(put.body_bytes, size);
  EXPECT_EQ(put.body_fnv1a64, generated_checksum(size));
  std::string head(64 * 1024, '\0');
  fill_generated(0, head.data(), head.size());
  EXPECT_TRUE(put.body_head == head);
  EXPECT_EQ(put.headers.count("expect"), 0u);
  EXPECT_EQ(put.headers.count("transfer-encoding"), 0u);
}

TEST_F(Uploader, EmptyFile) {
  const std::string file = make_file("empty.txt", 0);
  server_.route("/empty.txt", http_response::with_status(200));
  const auto out = run(file, server_.url("/empty.txt"), "text/plain");
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  const auto puts = server_.puts();
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].content_length, 0u);
  EXPECT_EQ(puts[0].content_type, "text/plain");
}

TEST_F(Uploader, RetriesAfterServerError) {
  const std::string file = make_file("r.bin", 300000);
  server_.route("/r.bin", {http_response::with_status(500), http_response::with_status(200)});
  const auto out = run(file, server_.url("/r.bin"));
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  EXPECT_EQ(out.result.attempts, 2);
  EXPECT_EQ(server_.request_count("/r.bin"), 2u);
  const auto puts = server_.puts();
  ASSERT_EQ(puts.size(), 2u);
  for (const auto& p : puts) {
    EXPECT_TRUE(p.complete);
    EXPECT_EQ(p.body_fnv1a64, generated_checksum(300000));
  }
}

TEST_F(Uploader, GivesUpOnServerErrorsWithStatus) {
  const std::string file = make_file("s.bin", 1000);
  server_.route("/s.bin", http_response::with_status(503, "<Error>SlowDown</Error>"));
  auto options = fast_options();
  options.max_retries = 2;
  const std::string url = server_.url("/s.bin?sig=secret");
  const auto out = run(file, url, "application/octet-stream", options);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::http_status);
  EXPECT_EQ(out.result.http_status, 503);
  EXPECT_EQ(out.result.attempts, 3);
  EXPECT_EQ(server_.request_count("/s.bin"), 3u);
  EXPECT_EQ(out.result.error,
            "upload of " + file + " to " + url + " failed: HTTP 503, after 3 attempts");
  EXPECT_EQ(out.result.response_excerpt, "<Error>SlowDown</Error>");
}

TEST_F(Uploader, ClientErrorIsNotRetried) {
  const std::string file = make_file("f.bin", 1000);
  server_.route("/f.bin", http_response::with_status(403, "<Error>AccessDenied</Error>"));
  const auto out = run(file, server_.url("/f.bin"));
  EXPECT_EQ(out.result.failure, tr::transfer_failure::http_status);
  EXPECT_EQ(out.result.http_status, 403);
  EXPECT_EQ(server_.request_count("/f.bin"), 1u);
  EXPECT_EQ(out.result.response_excerpt, "<Error>AccessDenied</Error>");
}

TEST_F(Uploader, MissingFileIsClearError) {
  const std::string file = tmp_.path + "/does-not-exist.txt";
  const std::string url = server_.url("/x");
  const auto out = run(file, url);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::local_io);
  EXPECT_EQ(out.result.io_error, std::make_error_code(std::errc::no_such_file_or_directory));
  EXPECT_EQ(out.result.error, "upload of " + file + " to " + url + " failed: opening " + file +
                                  ": No such file or directory");
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(Uploader, DirectoryIsRefused) {
  const auto out = run(tmp_.path, server_.url("/x"));
  EXPECT_EQ(out.result.failure, tr::transfer_failure::refused);
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(Uploader, HeaderInjectionInContentTypeIsRefused) {
  const std::string file = make_file("f.txt", 10);
  const auto out = run(file, server_.url("/x"), "text/plain\r\nX-Evil: 1");
  EXPECT_EQ(out.result.failure, tr::transfer_failure::refused);
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(Uploader, HangingServerTimesOut) {
  const std::string file = make_file("h.bin", 100000);
  auto hang = http_response::with_status(200);
  hang.hang = true;
  server_.route("/h.bin", hang);
  auto options = fast_options();
  options.low_speed_time = 1s;
  options.max_retries = 0;
  const auto out = run(file, server_.url("/h.bin"), "application/octet-stream", options);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::transport);
  EXPECT_EQ(out.result.curl_code, CURLE_OPERATION_TIMEDOUT) << out.result.error;
  EXPECT_NE(out.result.error.find("(curl error 28)"), std::string::npos) << out.result.error;
  EXPECT_LT(out.elapsed, 3s);
}

TEST_F(Uploader, ServerThatStopsReadingTimesOut) {
  const std::string file = make_file("stall.bin", 48ull * 1024 * 1024);
  auto stall = http_response::with_status(200);
  stall.stall_after = 64 * 1024;
  server_.route("/stall.bin", stall);
  auto options = fast_options();
  options.low_speed_time = 1s;
  options.max_retries = 0;
  const auto out = run(file, server_.url("/stall.bin"), "application/octet-stream", options);
  EXPECT_EQ(out.result.curl_code, CURLE_OPERATION_TIMEDOUT) << out.result.error;
  EXPECT_LT(out.elapsed, 4s);
}

TEST_F(Uploader, ResetMidBodyIsRetried) {
  const std::uint64_t size = 4 * 1024 * 1024;
  const std::string file = make_file("reset.bin", size);
  auto reset = http_response::with_status(200);
  reset.reset_after = 1024 * 1024;
  server_.route("/reset.bin", {reset, http_response::with_status(201)});
  const auto out = run(file, server_.url("/reset.bin"));
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  EXPECT_EQ(out.result.http_status, 201);
  EXPECT_EQ(out.result.attempts, 2);
  const auto puts = server_.puts();
  ASSERT_EQ(puts.size(), 2u);
  EXPECT_FALSE(puts[0].complete);
  EXPECT_TRUE(puts[1].complete);
  EXPECT_EQ(puts[1].body_fnv1a64, generated_checksum(size));
}

TEST_F(Uploader, FollowsTemporaryRedirectResendingBody) {
  const std::uint64_t size = 500000;
  const std::string file = make_file("moved.bin", size);
  server_.route("/a", http_response::redirect(server_.url("/b"), 307));
  server_.route("/b", http_response::with_status(200));
  const auto out = run(file, server_.url("/a"));
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  const auto puts = server_.puts();
  ASSERT_EQ(puts.size(), 2u);
  EXPECT_EQ(puts[1].path, "/b");
  EXPECT_TRUE(puts[1].complete);
  EXPECT_EQ(puts[1].body_fnv1a64, generated_checksum(size));
}

TEST_F(Uploader, CancelMidUploadIsPrompt) {
  const std::string file = make_file("c.bin", 32ull * 1024 * 1024);
  auto slow = http_response::with_status(200);
  slow.bytes_per_second = 200000;
  server_.route("/c.bin", slow);
  const auto out =
      run(file, server_.url("/c.bin"), "application/octet-stream", fast_options(), 200ms);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::cancelled) << out.result.error;
  ASSERT_TRUE(out.after_cancel);
  EXPECT_LT(*out.after_cancel, 1s);
}

TEST_F(Uploader, Large1GiBUpload) {
  const std::uint64_t size = 1ull << 30;
  // Sparse with a few written blocks: cheap to create, yet a misplaced chunk changes the sum.
  const std::string file = tmp_.path + "/large.bin";
  {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
    std::string block(1 << 20, '\0');
    for (std::uint64_t off : {std::uint64_t{0}, size / 3, size / 2 + 12345, size - block.size()}) {
      fill_generated(off, block.data(), block.size());
      ASSERT_EQ(::pwrite(fd, block.data(), block.size(), static_cast<off_t>(off)),
                static_cast<ssize_t>(block.size()));
    }
    ::close(fd);
  }
  const std::uint64_t expected = file_checksum(file);
  server_.route("/large.bin", http_response::with_status(200));
  const auto out = run(file, server_.url("/large.bin"));
  ASSERT_TRUE(out.result.ok()) << out.result.error;
  const auto puts = server_.puts();
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].body_bytes, size);
  EXPECT_EQ(puts[0].body_fnv1a64, expected);
  const double seconds = std::chrono::duration<double>(out.elapsed).count();
  std::printf("[ figures  ] upload 1 GiB: %.2f s, %.0f MB/s (server checksums as it reads), "
              "peak RSS (VmHWM) %ld KiB\n",
              seconds, static_cast<double>(size) / 1e6 / seconds, vm_hwm_kib());
}

TEST_F(Uploader, SymlinkSwappedInIsRefused) {
  temp_dir outside;
  std::ofstream(outside.path + "/shadow") << "root:secret-hash";
  fs::create_symlink(outside.path + "/shadow", tmp_.path + "/report.txt");
  const std::string url = server_.url("/x");
  const auto out = run(tmp_.path + "/report.txt", url);
  EXPECT_EQ(out.result.failure, tr::transfer_failure::refused);
  EXPECT_EQ(out.result.error, "upload of " + tmp_.path + "/report.txt to " + url +
                                  " refused: " + tmp_.path + "/report.txt is a symbolic link");
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(Uploader, DirectoryReplacedBySymlinkIsRefused) {
  temp_dir outside;
  std::ofstream(outside.path + "/report.txt") << "outside";
  fs::create_symlink(outside.path, tmp_.path + "/sub");
  const auto out = run_source({tmp_.path, "sub/report.txt", false}, server_.url("/x"));
  EXPECT_EQ(out.result.failure, tr::transfer_failure::refused);
  EXPECT_NE(out.result.error.find("refused: " + tmp_.path + "/sub is a symbolic link"),
            std::string::npos)
      << out.result.error;
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(Uploader, BaseDirectoryTurnedSymlinkIsRefusedUnlessItWasOne) {
  temp_dir outside;
  std::ofstream(outside.path + "/f.txt") << "outside";
  const std::string base = tmp_.path + "/watched";
  fs::create_symlink(outside.path, base);
  const auto out = run_source({base, "f.txt", false}, server_.url("/x"));
  EXPECT_EQ(out.result.failure, tr::transfer_failure::refused);
  EXPECT_NE(out.result.error.find("refused: " + base + " is a symbolic link"), std::string::npos)
      << out.result.error;
  EXPECT_TRUE(server_.requests().empty());
  // Registered as a symlink in the first place: the client chose it.
  server_.route("/ok", http_response::with_status(200));
  const auto followed = run_source({base, "f.txt", true}, server_.url("/ok"));
  EXPECT_TRUE(followed.result.ok()) << followed.result.error;
}

// Opening a FIFO for reading waits for a writer; the upload must refuse it at once instead.
TEST_F(Uploader, FifoIsRefusedAtOnce) {
  ASSERT_EQ(::mkfifo((tmp_.path + "/pipe").c_str(), 0600), 0);
  const auto out = run(tmp_.path + "/pipe", server_.url("/x"));
  EXPECT_EQ(out.result.failure, tr::transfer_failure::refused);
  EXPECT_NE(out.result.error.find(tmp_.path + "/pipe is a FIFO, not a regular file"),
            std::string::npos)
      << out.result.error;
  EXPECT_TRUE(server_.requests().empty());
  std::printf("[ figures  ] upload of a FIFO refused after %lld ms\n",
              static_cast<long long>(out.elapsed.count()));
}

TEST_F(Uploader, UserinfoIsHiddenInErrors) {
  const std::string file = make_file("u.bin", 100);
  server_.route("/denied", http_response::with_status(403));
  const std::string port = std::to_string(server_.port());
  const auto out = run(file, "http://bob:pa55-secret-word@127.0.0.1:" + port + "/denied");
  EXPECT_EQ(out.result.error,
            "upload of " + file + " to http://***@127.0.0.1:" + port + "/denied failed: HTTP 403");
  EXPECT_EQ(out.result.error.find("pa55"), std::string::npos);
}

} // namespace
} // namespace agentrt::test

// Downloadables through the real runtime: fetched before the commands run, archives extracted
// safely, failures and hostile input ending the request with a clear error_message, cancel;
// dripping downloads of other sessions that must not hold up a small one, the low-speed and
// size limits, and a URL's userinfo kept out of every text and the log.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
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

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Builds an archive with python3's zipfile/tarfile: entries are (name, content) and a name
// ending in "@symlink:TARGET" makes a symlink.
void make_archive(const std::string& path, const std::string& kind,
                  const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string script = "import sys, zipfile, tarfile, io\n";
  script += "entries = [";
  for (const auto& [name, content] : entries) {
    script += "(" + std::string("'''") + name + "''', '''" + content + "'''),";
  }
  script += "]\n";
  if (kind == "zip") {
    script += "z = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED)\n"
              "for n, c in entries: z.writestr(n, c)\n"
              "z.close()\n";
  } else {
    script += "t = tarfile.open(sys.argv[1], 'w:" + kind +
              "')\n"
              "for n, c in entries:\n"
              "  if '@symlink:' in n:\n"
              "    n, target = n.split('@symlink:')\n"
              "    i = tarfile.TarInfo(n); i.type = tarfile.SYMTYPE; i.linkname = target\n"
              "    t.addfile(i)\n"
              "  else:\n"
              "    b = c.encode(); i = tarfile.TarInfo(n); i.size = len(b)\n"
              "    t.addfile(i, io.BytesIO(b))\n"
              "t.close()\n";
  }
  const std::string script_path = path + ".py";
  std::ofstream(script_path) << script;
  ASSERT_EQ(std::system(("python3 " + script_path + " " + path).c_str()), 0);
  ::unlink(script_path.c_str());
}

class Downloads : public ::testing::Test {
protected:
  void SetUp() override {
    root_ = make_temp_dir("agentrt-dl-");
    rt_ = std::make_unique<runtime_process>(std::vector<std::string>{
        "--transfer-retries", "1", "--low-speed-time", "1", "--kill-grace", "1"});
    auto r = ws_test_client::connect(rt_->url());
    ASSERT_TRUE(r.client) << r.error;
    c_ = std::move(r.client);
  }
  void TearDown() override { std::system(("rm -rf " + root_).c_str()); }

  p::command_execution_message request(const std::string& url, const std::string& dir,
                                       const std::vector<std::string>& commands) {
    auto m = exec_request(commands);
    p::downloadable d;
    d.download_url = url;
    d.working_dir = dir;
    m.pre_execution_downloadables.push_back(d);
    return m;
  }

  // Runs one downloadable on a new connection to rt; returns everything up to the terminal.
  std::vector<p::message> download_on(runtime_process& rt, const std::string& url,
                                      const std::string& dir,
                                      const std::vector<std::string>& commands,
                                      std::chrono::milliseconds timeout = 30s) {
    auto r = ws_test_client::connect(rt.url());
    EXPECT_TRUE(r.client) << r.error;
    if (!r.client)
      return {};
    r.client->send(request(url, dir, commands));
    return r.client->receive_until_terminal(timeout);
  }

  // A body of 1000 bytes, one every 0.9 s: never a silent second, so only an average catches it.
  void route_drip(const std::string& path) {
    http_response drip = http_response::generated(1000);
    drip.byte_interval = 900ms;
    http_.route(path, drip);
  }

  std::string root_;
  http_test_server http_;
  std::unique_ptr<runtime_process> rt_;
  std::unique_ptr<ws_test_client> c_;
};

TEST_F(Downloads, FileIsFetchedBeforeTheCommandsRun) {
  http_.route("/files/data.txt", http_response::with_status(200, "payload-123\n"));
  const std::string dir = root_ + "/work/sub";
  c_->send(request(http_.url("/files/data.txt"), dir, {"cat " + dir + "/data.txt"}));
  auto msgs = c_->receive_until_terminal();
  ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr)
      << p::encode(msgs.back());
  EXPECT_EQ(joined_output(msgs, "stdout"), "payload-123\n");
}

TEST_F(Downloads, HttpErrorFailsTheRequestNamingUrlAndStatusAndRunsNoCommand) {
  const std::string dir = root_ + "/work";
  auto req = request(http_.url("/missing/tok-SECRET/x.bin"), dir, {"touch " + root_ + "/ran"});
  req.secrets_to_redact = {"tok-SECRET"};
  c_->send(req);
  auto msgs = c_->receive_until_terminal();
  auto* e = as<p::error_message>(msgs.back());
  ASSERT_NE(e, nullptr) << p::encode(msgs.back());
  EXPECT_NE(e->error.find("HTTP 404"), std::string::npos) << e->error;
  // runtimeuse conformance: the published client's e2e suite matches "Download failed".
  EXPECT_EQ(e->error.rfind("Download failed: ", 0), 0u) << e->error;
  EXPECT_NE(e->error.find("/missing/[REDACTED]/x.bin"), std::string::npos) << e->error;
  EXPECT_EQ(e->error.find("tok-SECRET"), std::string::npos);
  EXPECT_EQ(p::encode(msgs.back()).find("tok-SECRET"), std::string::npos);
  EXPECT_FALSE(exists(root_ + "/ran"));
  EXPECT_FALSE(exists(dir + "/x.bin"));
}

TEST_F(Downloads, ServerErrorThenSuccessIsRetried) {
  http_.route("/flaky/f.txt",
              {http_response::with_status(500), http_response::with_status(200, "ok")});
  const std::string dir = root_ + "/w";
  c_->send(request(http_.url("/flaky/f.txt"), dir, {"cat " + dir + "/f.txt"}));
  auto msgs = c_->receive_until_terminal();
  ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr)
      << p::encode(msgs.back());
  EXPECT_EQ(joined_output(msgs, "stdout"), "ok");
  EXPECT_EQ(http_.request_count("/flaky/f.txt"), 2u);
}

TEST_F(Downloads, ZipAndTarGzAreExtractedAndTheArchiveRemoved) {
  make_archive(root_ + "/src.zip", "zip", {{"proj/a.txt", "alpha"}, {"proj/deep/b.txt", "beta"}});
  make_archive(root_ + "/more.tar.gz", "gz", {{"more/c.txt", "gamma"}});
  http_.route("/src.zip", http_response::file(root_ + "/src.zip"));
  http_.route("/more.tar.gz", http_response::file(root_ + "/more.tar.gz"));
  const std::string dir = root_ + "/work";
  auto req = request(http_.url("/src.zip"), dir, {"cat proj/a.txt proj/deep/b.txt more/c.txt"});
  p::downloadable second;
  second.download_url = http_.url("/more.tar.gz");
  second.working_dir = dir;
  req.pre_execution_downloadables.push_back(second);
  req.commands[0].cwd = dir;
  c_->send(req);
  auto msgs = c_->receive_until_terminal();
  ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr)
      << p::encode(msgs.back());
  EXPECT_EQ(joined_output(msgs, "stdout"), "alphabetagamma");
  EXPECT_FALSE(exists(dir + "/src.zip"));
  EXPECT_FALSE(exists(dir + "/more.tar.gz"));
}

TEST_F(Downloads, ExtractFalseKeepsTheArchive) {
  make_archive(root_ + "/keep.zip", "zip", {{"x.txt", "x"}});
  http_.route("/keep.zip", http_response::file(root_ + "/keep.zip"));
  const std::string dir = root_ + "/work";
  auto req = request(http_.url("/keep.zip"), dir, {"ls " + dir});
  req.pre_execution_downloadables[0].extract = false;
  c_->send(req);
  auto msgs = c_->receive_until_terminal();
  ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr);
  EXPECT_EQ(joined_output(msgs, "stdout"), "keep.zip\n");
}

TEST_F(Downloads, HostileArchiveFailsNamingTheEntryAndNothingEscapes) {
  make_archive(root_ + "/evil.tar", "", {{"ok.txt", "fine"}, {"../escaped.txt", "bad"}});
  make_archive(root_ + "/link.tar", "",
               {{"l@symlink:" + root_, ""}, {"l/through-link.txt", "bad"}});
  http_.route("/evil.tar", http_response::file(root_ + "/evil.tar"));
  http_.route("/link.tar", http_response::file(root_ + "/link.tar"));
  const std::string dir = root_ + "/jail/work";
  for (const char* name : {"/evil.tar", "/link.tar"}) {
    c_->send(request(http_.url(name), dir, {"touch " + root_ + "/ran"}));
    auto msgs = c_->receive_until_terminal();
    auto* e = as<p::error_message>(msgs.back());
    ASSERT_NE(e, nullptr) << p::encode(msgs.back());
    EXPECT_NE(e->error.find("entry"), std::string::npos) << e->error;
  }
  EXPECT_FALSE(exists(root_ + "/jail/escaped.txt"));
  EXPECT_FALSE(exists(root_ + "/escaped.txt"));
  EXPECT_FALSE(exists(root_ + "/through-link.txt"));
  EXPECT_FALSE(exists(root_ + "/ran"));
}

TEST_F(Downloads, TraversalInTheUrlFileNameIsRefused) {
  const std::string dir = root_ + "/work";
  c_->send(request(http_.url("/a/..%2F..%2Fescape.txt"), dir, {"true"}));
  auto msgs = c_->receive_until_terminal();
  auto* e = as<p::error_message>(msgs.back());
  ASSERT_NE(e, nullptr) << p::encode(msgs.back());
  EXPECT_NE(e->error.find("not a plain file name"), std::string::npos) << e->error;
  EXPECT_FALSE(exists(root_ + "/escape.txt"));
  EXPECT_EQ(http_.request_count("/a/..%2F..%2Fescape.txt"), 0u);
}

TEST_F(Downloads, CancelStopsADownloadPromptlyAndRemovesThePartialFile) {
  http_response slow = http_response::generated(100 * 1024 * 1024);
  slow.bytes_per_second = 64 * 1024;
  http_.route("/slow.bin", slow);
  const std::string dir = root_ + "/work";
  c_->send(request(http_.url("/slow.bin"), dir, {"true"}));
  std::this_thread::sleep_for(500ms);
  const auto t0 = std::chrono::steady_clock::now();
  c_->send(p::cancel_message{});
  auto msgs = c_->receive_until_terminal(10s);
  auto* e = as<p::error_message>(msgs.back());
  ASSERT_NE(e, nullptr) << p::encode(msgs.back());
  EXPECT_EQ(e->error, "Request cancelled");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(std::system(("test -z \"$(ls -A " + dir + ")\"").c_str()), 0) << "partial file left";
}

TEST_F(Downloads, LargeTarIsDownloadedAndExtractedByteExact) {
  // 256 MiB of incompressible data in 4 files, so the figure measures transfer and extraction,
  // not a compressor.
  const std::string src = root_ + "/src";
  ASSERT_EQ(std::system(("mkdir -p " + src +
                         "/big && for i in 1 2 3 4; do head -c 67108864 "
                         "/dev/urandom > " +
                         src + "/big/part$i; done && cd " + src +
                         " && tar cf ../big.tar big && md5sum big/* > ../sums")
                            .c_str()),
            0);
  http_.route("/big.tar", http_response::file(root_ + "/big.tar"));
  const std::string dir = root_ + "/work";
  auto req =
      request(http_.url("/big.tar"), dir, {"echo extracted; md5sum -c --quiet " + root_ + "/sums"});
  req.commands[0].cwd = dir;
  const auto t0 = std::chrono::steady_clock::now();
  c_->send(req);
  // The command starts only once download and extraction are done: its first line times them.
  auto first = c_->receive(120s);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(first);
  ASSERT_NE(as<p::command_output_message>(*first), nullptr) << p::encode(*first);
  auto msgs = c_->receive_until_terminal(120s);
  auto* res = as<p::command_execution_result_message>(msgs.back());
  ASSERT_NE(res, nullptr) << p::encode(msgs.back());
  EXPECT_EQ(res->results.at(0).exit_code, 0) << joined_output(msgs, "stdout");
  EXPECT_FALSE(exists(dir + "/big.tar"));
  std::printf("[ figures  ] download + extract of a 256 MiB tar: %.1f MB/s\n",
              (256.0 * 1024 * 1024) / secs / 1e6);
}

// Six sessions each download from a server dripping a byte every 0.9 s (the low-speed window is
// left at 60 s, as by default, so none of them is abandoned); a seventh session's 30-byte
// download must still finish while all six are running.
TEST_F(Downloads, SlowDownloadsOfOtherSessionsDoNotHoldUpASmallOne) {
  constexpr std::size_t slow = 6;
  runtime_process rt({"--low-speed-time", "60", "--kill-grace", "1"});
  route_drip("/drip.bin");
  http_.route("/small.txt", http_response::with_status(200, "thirty-bytes-of-small-payload\n"));
  std::vector<std::unique_ptr<ws_test_client>> slow_clients;
  for (std::size_t i = 0; i < slow; ++i) {
    auto r = ws_test_client::connect(rt.url());
    ASSERT_TRUE(r.client) << r.error;
    r.client->send(request(http_.url("/drip.bin"), root_ + "/slow" + std::to_string(i), {"true"}));
    slow_clients.push_back(std::move(r.client));
  }
  // Every slow download has its request in (a pool of four threads got no further than four).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (http_.request_count("/drip.bin") < slow && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(http_.request_count("/drip.bin"), slow);

  const std::string dir = root_ + "/fast";
  const auto t0 = std::chrono::steady_clock::now();
  auto msgs = download_on(rt, http_.url("/small.txt"), dir, {"cat " + dir + "/small.txt"}, 20s);
  const auto waited =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  ASSERT_FALSE(msgs.empty()) << "the small download's request never ended";
  ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr)
      << p::encode(msgs.back());
  EXPECT_EQ(joined_output(msgs, "stdout"), "thirty-bytes-of-small-payload\n");
  // ... while every slow one is still dripping.
  EXPECT_GE(http_.open_connections(), slow);
  for (auto& c : slow_clients) {
    const auto m = c->receive(std::chrono::milliseconds(0));
    EXPECT_TRUE(!m || !as<p::error_message>(*m)) << p::encode(*m);
  }
  std::printf(
      "[ figures  ] a 30-byte download behind %zu dripping ones (other sessions): %lld ms\n", slow,
      static_cast<long long>(waited.count()));
  // Closing the slow sessions cancels their downloads.
  slow_clients.clear();
  const auto closed = std::chrono::steady_clock::now() + 10s;
  while (http_.open_connections() > 0 && std::chrono::steady_clock::now() < closed) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(http_.open_connections(), 0u);
}

TEST_F(Downloads, LowSpeedLimitAbandonsADrippingDownload) {
  runtime_process rt(
      {"--low-speed-limit", "100", "--low-speed-time", "2", "--transfer-retries", "0"});
  route_drip("/drip.bin");
  const std::string dir = root_ + "/work";
  const auto t0 = std::chrono::steady_clock::now();
  auto msgs = download_on(rt, http_.url("/drip.bin"), dir, {"touch " + root_ + "/ran"});
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(msgs.empty());
  auto* e = as<p::error_message>(msgs.back());
  ASSERT_NE(e, nullptr) << p::encode(msgs.back());
  const std::string start = "Download failed: download of " + http_.url("/drip.bin") + " failed: ";
  EXPECT_EQ(e->error.rfind(start, 0), 0u) << e->error;
  EXPECT_NE(e->error.find("Operation too slow: less than 100 bytes/s transferred during the last "
                          "2000 ms"),
            std::string::npos)
      << e->error;
  EXPECT_NE(e->metadata.json.find("\"code\":\"download_failed\""), std::string::npos);
  EXPECT_FALSE(exists(dir + "/.drip.bin.part"));
  EXPECT_FALSE(exists(root_ + "/ran"));
  std::printf("[ figures  ] dripping download abandoned after %.1f s\n", secs);
}

TEST_F(Downloads, DownloadMaxBytesStopsAnEndlessBodyAndAnAnnouncedOne) {
  runtime_process rt({"--download-max-bytes", "1048576", "--transfer-retries", "0"});
  http_response endless = http_response::generated(1ull << 50);
  endless.close_delimited = true;
  http_.route("/endless.bin", endless);
  http_.route("/announced.bin", http_response::generated(64ull << 20));
  const std::string dir = root_ + "/work";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"endless.bin", "failed: the body is larger than the limit of 1048576 bytes"},
      {"announced.bin", "failed: the server announced 67108864 bytes, more than the limit of "
                        "1048576 bytes"}};
  for (const auto& [name, reason] : cases) {
    SCOPED_TRACE(name);
    auto msgs = download_on(rt, http_.url("/" + name), dir, {"touch " + root_ + "/ran"});
    ASSERT_FALSE(msgs.empty());
    auto* e = as<p::error_message>(msgs.back());
    ASSERT_NE(e, nullptr) << p::encode(msgs.back());
    EXPECT_EQ(e->error.rfind("Download failed: ", 0), 0u) << e->error;
    EXPECT_NE(e->error.find(reason + " (--download-max-bytes)"), std::string::npos) << e->error;
    EXPECT_FALSE(exists(dir + "/" + name));
    EXPECT_FALSE(exists(dir + "/." + name + ".part")) << "partial file left";
  }
  EXPECT_FALSE(exists(root_ + "/ran"));
}

TEST_F(Downloads, UserinfoNeverAppearsInErrorsMetadataOrTheLog) {
  http_.route("/ok.txt", http_response::with_status(200, "fine"));
  const std::string base = "http://carol:hunter2-pass@127.0.0.1:" + std::to_string(http_.port());
  const std::string dir = root_ + "/work";
  auto ok = download_on(*rt_, base + "/ok.txt", dir, {"cat " + dir + "/ok.txt"});
  ASSERT_FALSE(ok.empty());
  ASSERT_NE(as<p::command_execution_result_message>(ok.back()), nullptr) << p::encode(ok.back());
  // The password did reach the server, as Basic authentication.
  ASSERT_FALSE(http_.requests().empty());
  EXPECT_EQ(http_.requests().back().headers["authorization"], "Basic Y2Fyb2w6aHVudGVyMi1wYXNz");

  auto missing = download_on(*rt_, base + "/missing.bin", dir, {"true"});
  ASSERT_FALSE(missing.empty());
  auto* e = as<p::error_message>(missing.back());
  ASSERT_NE(e, nullptr) << p::encode(missing.back());
  EXPECT_NE(e->error.find("http://***@127.0.0.1:"), std::string::npos) << e->error;
  EXPECT_NE(e->metadata.json.find("\"url\":\"http://***@127.0.0.1:"), std::string::npos)
      << e->metadata.json;
  for (const auto& m : missing)
    EXPECT_EQ(p::encode(m).find("hunter2"), std::string::npos);
  for (const auto& m : ok)
    EXPECT_EQ(p::encode(m).find("hunter2"), std::string::npos);
  const std::string log = rt_->log();
  EXPECT_NE(log.find("downloaded http://***@127.0.0.1:"), std::string::npos) << log;
  EXPECT_EQ(log.find("hunter2"), std::string::npos) << log;
  EXPECT_EQ(log.find("carol"), std::string::npos) << log;
}

} // namespace
} // namespace agentrt::test

// The files API (docs/protocol.md, "Files API") against the real agentrt binary over real
// sockets and real files: 1 GiB up and down byte-exact with the runtime's RSS flat, a read
// interrupted and resumed with Range, every hostile archive of the extractor's tests refused
// through the tar upload, symlink tricks on writes and reads, --files-root, the token, disk
// full on a real tmpfs, and clear errors for bad paths. On the code before the files API every
// request here got websocketpp's 404.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "archive_fixtures.hpp"
#include "support/files_http.hpp"
#include "support/runtime_process.hpp"
#include "support/scoped_tmpfs.hpp"

namespace agentrt::test {
namespace {

namespace fs = std::filesystem;
namespace af = archive_fixtures;

constexpr const char* token = "files-test-token";

// Byte i of a deterministic stream that does not compress: regenerated for any offset, so a
// 1 GiB transfer is checked without holding it.
std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
void fill_pattern(std::uint64_t offset, char* buf, std::size_t n) {
  for (std::size_t i = 0; i < n;) {
    const std::uint64_t pos = offset + i;
    const std::uint64_t word = splitmix(pos / 8);
    const std::size_t in_word = static_cast<std::size_t>(pos % 8);
    const std::size_t take = std::min<std::size_t>(8 - in_word, n - i);
    std::memcpy(buf + i, reinterpret_cast<const char*>(&word) + in_word, take);
    i += take;
  }
}

void spit(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary);
  out << data;
}

long status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0)
      return std::atol(line.c_str() + field.size() + 1);
  }
  return -1;
}

class FilesApi : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = make_temp_dir("agentrt-files-test-");
    rt_ = std::make_unique<runtime_process>(std::vector<std::string>{"--token", token});
  }

  files_reply call(const std::string& method, const std::string& endpoint, const std::string& query,
                   std::optional<std::string> body = std::nullopt,
                   std::vector<std::string> headers = {}) {
    files_call c;
    c.method = method;
    c.target = endpoint + "?" + query;
    c.headers = std::move(headers);
    c.headers.push_back(std::string("Authorization: Bearer ") + token);
    c.body = std::move(body);
    return files_request(rt_->port(), c);
  }
  std::string p(const std::string& rel) const { return url_encode(dir_ + "/" + rel); }

  std::string dir_;
  std::unique_ptr<runtime_process> rt_;
};

TEST_F(FilesApi, WriteCreatesParentsAtomicallyWithModeAndReadsBack) {
  const auto put = call("PUT", "/files", "path=" + p("a/b/c.txt") + "&mode=0600", "hello\n");
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_NE(put.body.find("\"size\":6"), std::string::npos) << put.body;
  EXPECT_EQ(read_whole_file(dir_ + "/a/b/c.txt"), "hello\n");
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/a/b/c.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Replacing keeps the mode and answers 200; no temporary file is left beside it.
  const auto again = call("PUT", "/files", "path=" + p("a/b/c.txt"), "bye\n");
  EXPECT_EQ(again.status, 200) << again.body;
  ASSERT_EQ(::stat((dir_ + "/a/b/c.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir_ + "/a/b")) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
  const auto get = call("GET", "/files", "path=" + p("a/b/c.txt"));
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "bye\n");
  EXPECT_EQ(get.header("accept-ranges"), "bytes");
  const auto head = call("HEAD", "/files", "path=" + p("a/b/c.txt"));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), "4");
}

// A file name need not be UTF-8, but the JSON answers naming it must be (a JSON text is
// Unicode): the invalid byte comes back as U+FFFD. Before the one JSON builder, the files
// API's answers carried the raw byte and did not parse as UTF-8.
TEST_F(FilesApi, AnswersNamingANonUtf8FileAreValidJson) {
  const std::string name = "bad\xFFname.txt";
  const auto put = call("PUT", "/files", "path=" + p(name), "abc");
  ASSERT_EQ(put.status, 201) << put.body;
  ASSERT_TRUE(fs::exists(fs::path(dir_) / name));
  const auto stat = call("GET", "/files/stat", "path=" + p(name));
  ASSERT_EQ(stat.status, 200) << stat.body;
  const auto list = call("GET", "/files/list", "path=" + url_encode(dir_));
  ASSERT_EQ(list.status, 200) << list.body;
  for (const auto* body : {&put.body, &stat.body, &list.body}) {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(body->data(), body->size());
    EXPECT_FALSE(doc.HasParseError()) << "not UTF-8 JSON: " << *body;
    EXPECT_NE(body->find("bad\xEF\xBF\xBDname.txt"), std::string::npos) << *body;
  }
}

TEST_F(FilesApi, ChunkedUploadIsWrittenWhole) {
  files_call c;
  c.method = "PUT";
  c.target = "/files?path=" + p("chunked.bin") + "&token=" + token;
  std::uint64_t offset = 0;
  const std::uint64_t size = 3 * 1024 * 1024 + 17;
  c.chunked_body = true;
  c.source = [&](char* buf, std::size_t n) {
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, size - offset));
    fill_pattern(offset, buf, take);
    offset += take;
    return take;
  };
  const auto r = files_request(rt_->port(), c);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string data = read_whole_file(dir_ + "/chunked.bin");
  ASSERT_EQ(data.size(), size);
  std::string expected(size, '\0');
  fill_pattern(0, expected.data(), size);
  EXPECT_TRUE(data == expected);
}

TEST_F(FilesApi, StatListMkdirMoveRemove) {
  ASSERT_EQ(call("POST", "/files/mkdir", "path=" + p("d/e") + "&mode=0750").status, 201);
  EXPECT_EQ(call("POST", "/files/mkdir", "path=" + p("d/e")).status, 200); // exists: fine
  ASSERT_EQ(call("PUT", "/files", "path=" + p("d/e/f.txt"), "12345").status, 201);
  ASSERT_EQ(::symlink("e/f.txt", (dir_ + "/d/link").c_str()), 0);

  const auto st = call("GET", "/files/stat", "path=" + p("d/e/f.txt"));
  ASSERT_EQ(st.status, 200);
  EXPECT_NE(st.body.find("\"type\":\"file\""), std::string::npos) << st.body;
  EXPECT_NE(st.body.find("\"size\":5"), std::string::npos) << st.body;
  const auto lst = call("GET", "/files/stat", "path=" + p("d/link"));
  EXPECT_NE(lst.body.find("\"type\":\"symlink\""), std::string::npos) << lst.body;
  EXPECT_NE(lst.body.find("\"target\":\"e/f.txt\""), std::string::npos) << lst.body;

  const auto shallow = call("GET", "/files/list", "path=" + p("d"));
  ASSERT_EQ(shallow.status, 200) << shallow.body;
  EXPECT_NE(shallow.body.find("\"path\":\"e\""), std::string::npos) << shallow.body;
  EXPECT_EQ(shallow.body.find("\"path\":\"e/f.txt\""), std::string::npos)
      << "depth 1 listed deeper";
  const auto deep = call("GET", "/files/list", "path=" + p("d") + "&depth=5");
  EXPECT_NE(deep.body.find("\"path\":\"e/f.txt\""), std::string::npos) << deep.body;

  EXPECT_EQ(call("POST", "/files/move", "from=" + p("d/e/f.txt") + "&to=" + p("g/h.txt")).status,
            200);
  EXPECT_EQ(read_whole_file(dir_ + "/g/h.txt"), "12345");
  ASSERT_EQ(call("PUT", "/files", "path=" + p("g/other"), "x").status, 201);
  const auto no_overwrite =
      call("POST", "/files/move", "from=" + p("g/other") + "&to=" + p("g/h.txt"));
  EXPECT_EQ(no_overwrite.status, 409) << no_overwrite.body;
  EXPECT_NE(no_overwrite.body.find("\"error\":\"exists\""), std::string::npos);
  EXPECT_EQ(
      call("POST", "/files/move", "from=" + p("g/other") + "&to=" + p("g/h.txt") + "&overwrite=1")
          .status,
      200);
  EXPECT_EQ(read_whole_file(dir_ + "/g/h.txt"), "x");

  const auto not_empty = call("DELETE", "/files", "path=" + p("d"));
  EXPECT_EQ(not_empty.status, 409);
  EXPECT_NE(not_empty.body.find("not_empty"), std::string::npos);
  EXPECT_EQ(call("DELETE", "/files", "path=" + p("d") + "&recursive=1").status, 200);
  EXPECT_FALSE(fs::exists(dir_ + "/d"));
  EXPECT_EQ(call("DELETE", "/files", "path=" + p("d")).status, 404);
}

TEST_F(FilesApi, OneGibUpAndDownByteExactWithFlatRss) {
#ifdef AGENTRT_SANITIZED
  const std::uint64_t size = 64ULL << 20; // the sanitizers make the pattern check slow
#else
  const std::uint64_t size = 1ULL << 30;
#endif
  const long rss_before = status_kib(rt_->pid(), "VmRSS");
  files_call up;
  up.method = "PUT";
  up.target = "/files?path=" + p("big.bin");
  up.headers = {std::string("Authorization: Bearer ") + token};
  up.body_length = size;
  std::uint64_t sent = 0;
  up.source = [&](char* buf, std::size_t n) {
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, size - sent));
    fill_pattern(sent, buf, take);
    sent += take;
    return take;
  };
  const auto t0 = std::chrono::steady_clock::now();
  const auto put = files_request(rt_->port(), up);
  const auto t1 = std::chrono::steady_clock::now();
  ASSERT_EQ(put.status, 201) << put.body;
  ASSERT_EQ(fs::file_size(dir_ + "/big.bin"), size);

  files_call down;
  down.target = up.target;
  down.headers = up.headers;
  std::uint64_t got = 0;
  bool same = true;
  std::vector<char> expected;
  down.sink = [&](const char* data, std::size_t n) {
    expected.resize(n);
    fill_pattern(got, expected.data(), n);
    same = same && std::memcmp(data, expected.data(), n) == 0;
    got += n;
    return true;
  };
  const auto get = files_request(rt_->port(), down);
  const auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(get.status, 200);
  EXPECT_TRUE(get.complete);
  EXPECT_EQ(got, size);
  EXPECT_TRUE(same) << "downloaded bytes differ from what was uploaded";

  const long hwm = status_kib(rt_->pid(), "VmHWM");
  const long rss = status_kib(rt_->pid(), "VmRSS");
  const double mib = static_cast<double>(size) / (1 << 20);
  const auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  std::cout << "[ figures  ] files API " << mib << " MiB: up " << mib / secs(t1 - t0)
            << " MiB/s, down " << mib / secs(t2 - t1) << " MiB/s; runtime VmRSS before "
            << rss_before / 1024 << " MiB, after " << rss / 1024 << " MiB, VmHWM " << hwm / 1024
            << " MiB\n";
  EXPECT_LT(hwm, 200 * 1024) << "the runtime's peak RSS grew with the transfer";
}

TEST_F(FilesApi, InterruptedReadResumesWithRange) {
  const std::uint64_t size = 8ULL << 20;
  std::string data(size, '\0');
  fill_pattern(0, data.data(), size);
  spit(dir_ + "/r.bin", data);

  // The first download stops after about 3 MiB: the client cuts the connection.
  files_call first;
  first.target = "/files?path=" + p("r.bin") + "&token=" + token;
  std::string part;
  first.sink = [&](const char* d, std::size_t n) {
    part.append(d, n);
    return part.size() < (3u << 20);
  };
  const auto r1 = files_request(rt_->port(), first);
  EXPECT_EQ(r1.status, 200);
  EXPECT_FALSE(r1.complete);
  ASSERT_GE(part.size(), 3u << 20);
  ASSERT_LT(part.size(), size);

  files_call rest = first;
  rest.sink = nullptr;
  rest.headers = {"Range: bytes=" + std::to_string(part.size()) + "-"};
  const auto r2 = files_request(rt_->port(), rest);
  ASSERT_EQ(r2.status, 206) << r2.body.substr(0, 200);
  EXPECT_EQ(r2.header("content-range"), "bytes " + std::to_string(part.size()) + "-" +
                                            std::to_string(size - 1) + "/" + std::to_string(size));
  EXPECT_TRUE(r2.complete);
  EXPECT_TRUE(part + r2.body == data) << "resumed download differs";

  // The last bytes, and a range past the end.
  rest.headers = {"Range: bytes=-10"};
  EXPECT_EQ(files_request(rt_->port(), rest).body, data.substr(size - 10));
  rest.headers = {"Range: bytes=" + std::to_string(size) + "-"};
  const auto r416 = files_request(rt_->port(), rest);
  EXPECT_EQ(r416.status, 416);
  EXPECT_EQ(r416.header("content-range"), "bytes */" + std::to_string(size));
}

TEST_F(FilesApi, ClientGoneMidUploadLeavesTheOldFileAndNoTemporary) {
  spit(dir_ + "/keep.txt", "old contents");
  files_call c;
  c.method = "PUT";
  c.target = "/files?path=" + p("keep.txt") + "&token=" + token;
  c.half_close = true;
  c.body_length = 10 << 20; // promised, but only 1 MiB comes before the connection closes
  std::uint64_t sent = 0;
  c.source = [&](char* buf, std::size_t n) {
    if (sent >= (1u << 20))
      return std::size_t{0};
    fill_pattern(sent, buf, n);
    sent += n;
    return n;
  };
  // The request ends short: the runtime sees EOF before Content-Length and must not rename.
  const auto r = files_request(rt_->port(), c);
  (void)r;
  // Give the runtime's worker a moment to see the EOF and clean up.
  for (int i = 0; i < 100; ++i) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir_)) {
      (void)e;
      ++n;
    }
    if (n == 1)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(read_whole_file(dir_ + "/keep.txt"), "old contents");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_))
    names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"keep.txt"});
}

TEST_F(FilesApi, TokenIsRequired) {
  files_call c;
  c.target = "/files/stat?path=" + p("");
  EXPECT_EQ(files_request(rt_->port(), c).status, 401);
  c.headers = {"Authorization: Bearer wrong"};
  const auto wrong = files_request(rt_->port(), c);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.body.find("\"error\":\"unauthorized\""), std::string::npos);
  c.headers = {std::string("Authorization: Bearer ") + token};
  EXPECT_EQ(files_request(rt_->port(), c).status, 200);
  c.headers.clear();
  c.target += std::string("&token=") + token;
  EXPECT_EQ(files_request(rt_->port(), c).status, 200);
  // A write without the token changes nothing.
  files_call w;
  w.method = "PUT";
  w.target = "/files?path=" + p("x.txt");
  w.body = "x";
  EXPECT_EQ(files_request(rt_->port(), w).status, 401);
  EXPECT_FALSE(fs::exists(dir_ + "/x.txt"));
}

TEST_F(FilesApi, BadPathsAndRequestsGiveClearErrors) {
  const auto expect_error = [&](const files_reply& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_NE(r.body.find("\"error\":\"" + code + "\""), std::string::npos) << r.body;
    EXPECT_EQ(r.header("content-type"), "application/json");
  };
  expect_error(call("GET", "/files", "path=relative/x"), 403, "path_refused");
  expect_error(call("GET", "/files", "path=" + p("a/../b")), 403, "path_refused");
  expect_error(call("GET", "/files", ""), 400, "bad_request");
  expect_error(call("GET", "/files", "path=" + p("missing")), 404, "not_found");
  expect_error(call("GET", "/files", "path=" + p("")), 409, "is_a_directory");
  expect_error(call("PUT", "/files", "path=" + p(""), "x"), 409, "is_a_directory");
  expect_error(call("PUT", "/files", "path=" + p("m") + "&mode=9", "x"), 400, "bad_request");
  expect_error(call("GET", "/files", "path=/dev/null"), 403, "path_refused");
  expect_error(call("GET", "/files/nope", "path=/"), 404, "unknown_endpoint");
  expect_error(call("POST", "/files", "path=/"), 405, "method_not_allowed");
  spit(dir_ + "/plain", "x");
  expect_error(call("GET", "/files/list", "path=" + p("plain")), 409, "not_a_directory");
  expect_error(call("PUT", "/files", "path=" + p("plain/sub"), "x"), 403, "path_refused");
  // The WebSocket side and /health are untouched by the routing.
  EXPECT_EQ(http_get(rt_->port(), "/health").first, 200);
  EXPECT_EQ(http_get(rt_->port(), "/filesystem").first, 404);
}

// Raw request text: what the test client would never send.
std::string raw_exchange(int port, const std::string& request) {
  const int fd = connect_loopback(port);
  if (fd < 0)
    return {};
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

TEST_F(FilesApi, MalformedRequestsAreRefusedOrCut) {
  const std::string huge_head =
      "GET /files?path=/ HTTP/1.1\r\nX-Pad: " + std::string(20000, 'a') + "\r\n\r\n";
  const std::string big = raw_exchange(rt_->port(), huge_head);
  EXPECT_EQ(big.rfind("HTTP/1.1 431", 0), 0u) << big.substr(0, 200);
  EXPECT_NE(big.find("head_too_large"), std::string::npos);
  EXPECT_EQ(raw_exchange(rt_->port(), "GET /files?path=/ SPDY/3\r\n\r\n").rfind("HTTP/1.1 400", 0),
            0u);
  // Broken chunk framing: no answer is owed, and nothing is written.
  const std::string cut = raw_exchange(
      rt_->port(), "PUT /files?path=" + p("chunky") + "&token=" + token +
                       " HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n");
  EXPECT_EQ(cut.find("HTTP/1.1 20"), std::string::npos) << cut;
  for (int i = 0; i < 50 && !fs::is_empty(dir_); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(fs::is_empty(dir_)) << "a temporary file or the target was left";
}

TEST_F(FilesApi, DiskFullIs507AndLeavesNothing) {
  std::string why;
  auto tmpfs = scoped_tmpfs::mount(1 << 20, why);
  if (!tmpfs)
    GTEST_SKIP() << "no tmpfs: " << why;
  const std::string target = url_encode(tmpfs->path() + "/big");
  const std::uint64_t used = tmpfs->used_bytes();
  // Known length: refused before a byte is written.
  const auto known = call("PUT", "/files", "path=" + target, std::string(2 << 20, 'x'));
  EXPECT_EQ(known.status, 507) << known.body;
  EXPECT_NE(known.body.find("\"error\":\"disk_full\""), std::string::npos);
  // Chunked (length unknown): ENOSPC from the kernel half-way.
  files_call c;
  c.method = "PUT";
  c.target = "/files?path=" + target + "&token=" + token;
  c.chunked_body = true;
  std::uint64_t sent = 0;
  c.source = [&](char* buf, std::size_t n) {
    if (sent >= (2u << 20))
      return std::size_t{0};
    std::memset(buf, 'y', n);
    sent += n;
    return n;
  };
  const auto chunked = files_request(rt_->port(), c);
  EXPECT_EQ(chunked.status, 507) << chunked.body;
  EXPECT_FALSE(fs::exists(tmpfs->path() + "/big"));
  EXPECT_TRUE(fs::is_empty(tmpfs->path()));
  EXPECT_LE(tmpfs->used_bytes(), used + 4096);
}

TEST_F(FilesApi, DirectoryDownloadsAsTarAndUploadsBack) {
  fs::create_directories(dir_ + "/src/sub");
  spit(dir_ + "/src/top.txt", "top");
  std::string big(300 * 1024, '\0');
  fill_pattern(5, big.data(), big.size());
  spit(dir_ + "/src/sub/big.bin", big);
  ASSERT_EQ(::symlink("/etc/passwd", (dir_ + "/src/abs-link").c_str()), 0);
  const auto tar = call("GET", "/files", "path=" + p("src") + "&format=tar");
  ASSERT_EQ(tar.status, 200);
  EXPECT_TRUE(tar.complete);
  EXPECT_EQ(tar.header("content-type"), "application/x-tar");
  // The symlink travels as a symlink: /etc/passwd's contents are not in the stream.
  const std::string passwd = read_whole_file("/etc/passwd");
  EXPECT_EQ(tar.body.find(passwd.substr(0, std::min<std::size_t>(passwd.size(), 64))),
            std::string::npos);
  // Uploading it elsewhere: the absolute symlink is refused by the extractor's rules, so
  // upload a copy without it first.
  const auto refused = call("PUT", "/files", "path=" + p("copy") + "&format=tar", tar.body);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_NE(refused.body.find("abs-link"), std::string::npos) << refused.body;
  fs::remove(dir_ + "/src/abs-link");
  const auto tar2 = call("GET", "/files", "path=" + p("src") + "&format=tar");
  const auto up = call("PUT", "/files", "path=" + p("copy2") + "&format=tar", tar2.body);
  ASSERT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(read_whole_file(dir_ + "/copy2/top.txt"), "top");
  EXPECT_TRUE(read_whole_file(dir_ + "/copy2/sub/big.bin") == big);
}

// Every hostile archive of archive_extractor_test.cpp, through PUT /files?format=tar: refused
// with the extractor's own message, and nothing outside the destination.
class FilesApiHostile : public FilesApi, public ::testing::WithParamInterface<af::hostile_case> {};

TEST_P(FilesApiHostile, RefusedThroughTarUpload) {
  const af::hostile_case& c = GetParam();
  const std::string outside = dir_ + "/outside";
  std::vector<af::spec> entries = c.entries;
  for (af::spec& s : entries) {
    for (std::string* field : {&s.path, &s.data}) {
      const std::size_t at = field->find("{OUT}");
      if (at != std::string::npos)
        field->replace(at, 5, outside);
    }
  }
  const fs::path archive = dir_ + "/archive.bin";
  const std::string err = af::write_archive(archive, c.format, entries);
  if (err.rfind("skip:", 0) == 0)
    GTEST_SKIP() << err;
  ASSERT_EQ(err, "");
  const std::string body = read_whole_file(archive);
  fs::remove(archive);
  const auto r = call("PUT", "/files", "path=" + p("root/work") + "&format=tar", body);
  EXPECT_GE(r.status, 400) << r.body;
  EXPECT_NE(r.status, 500) << r.body;
  for (const std::string& part : c.message_parts) {
    // The body is JSON: quotes in the extractor's message are escaped.
    std::string escaped;
    for (char ch : part)
      escaped += ch == '"' ? std::string("\\\"") : std::string(1, ch);
    EXPECT_NE(r.body.find(escaped), std::string::npos) << part << " not in " << r.body;
  }
  for (const std::string& rel : c.must_not_exist)
    EXPECT_FALSE(fs::exists(fs::symlink_status(dir_ + "/root/work/" + rel))) << rel;
  EXPECT_FALSE(fs::exists(fs::symlink_status(outside)));
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename(), "root") << "escaped into " << e.path();
  for (const auto& e : fs::directory_iterator(dir_ + "/root"))
    EXPECT_EQ(e.path().filename(), "work") << "escaped into " << e.path();
}

INSTANTIATE_TEST_SUITE_P(Files, FilesApiHostile, ::testing::ValuesIn(af::hostile_cases),
                         [](const auto& info) { return std::string(info.param.label); });

TEST_F(FilesApi, TarUploadOverTheLimitIs413) {
  rt_.reset();
  rt_ = std::make_unique<runtime_process>(
      std::vector<std::string>{"--token", token, "--extract-max-bytes", "100000"});
  const fs::path archive = dir_ + "/big.tar";
  ASSERT_EQ(af::write_archive(archive, af::archive_format::tar,
                              {{"big.bin", af::kind::file, af::noise(200000, 3)}}),
            "");
  const std::string body = read_whole_file(archive);
  fs::remove(archive);
  const auto r = call("PUT", "/files", "path=" + p("out") + "&format=tar", body);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_NE(r.body.find("\"error\":\"too_large\""), std::string::npos);
}

// Writes never follow a symlink, wherever it is in the path; reads without --files-root do.
TEST_F(FilesApi, WritesNeverFollowSymlinks) {
  const std::string victim = dir_ + "/victim";
  fs::create_directories(victim);
  spit(victim + "/file", "precious");
  ASSERT_EQ(::symlink(victim.c_str(), (dir_ + "/dirlink").c_str()), 0);
  ASSERT_EQ(::symlink((victim + "/file").c_str(), (dir_ + "/filelink").c_str()), 0);

  // A symlinked directory in the path: refused, nothing written through it.
  for (const auto& [method, endpoint, query] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"PUT", "/files", "path=" + p("dirlink/new")},
           {"PUT", "/files", "path=" + p("dirlink/file")},
           {"PUT", "/files", "path=" + p("dirlink/t") + "&format=tar"},
           {"POST", "/files/mkdir", "path=" + p("dirlink/d")},
           {"DELETE", "/files", "path=" + p("dirlink/file")},
           {"POST", "/files/move", "from=" + p("dirlink/file") + "&to=" + p("stolen")},
           {"POST", "/files/move", "from=" + p("filelink") + "&to=" + p("dirlink/file")},
       }) {
    const auto r = call(method, endpoint, query, std::string("x"));
    EXPECT_EQ(r.status, 403) << method << " " << query << ": " << r.body;
    EXPECT_NE(r.body.find("path_refused"), std::string::npos) << r.body;
  }
  EXPECT_EQ(read_whole_file(victim + "/file"), "precious");
  EXPECT_FALSE(fs::exists(victim + "/new"));
  EXPECT_FALSE(fs::exists(victim + "/d"));

  // A symlink as the last component is replaced, not written through.
  ASSERT_EQ(call("PUT", "/files", "path=" + p("filelink"), "new").status, 200);
  EXPECT_EQ(read_whole_file(victim + "/file"), "precious");
  EXPECT_FALSE(fs::is_symlink(dir_ + "/filelink"));
  EXPECT_EQ(read_whole_file(dir_ + "/filelink"), "new");
  // Removing a symlink removes the link only.
  ASSERT_EQ(::symlink((victim + "/file").c_str(), (dir_ + "/filelink2").c_str()), 0);
  ASSERT_EQ(call("DELETE", "/files", "path=" + p("filelink2")).status, 200);
  EXPECT_EQ(read_whole_file(victim + "/file"), "precious");
  // A recursive remove does not descend through a symlink inside the tree.
  fs::create_directories(dir_ + "/tree");
  ASSERT_EQ(::symlink(victim.c_str(), (dir_ + "/tree/inner").c_str()), 0);
  ASSERT_EQ(call("DELETE", "/files", "path=" + p("tree") + "&recursive=1").status, 200);
  EXPECT_EQ(read_whole_file(victim + "/file"), "precious");
  // Reads without --files-root follow symlinks (the client could name the target itself).
  EXPECT_EQ(call("GET", "/files", "path=" + p("dirlink/file")).body, "precious");
}

TEST(FilesApiRoot, ConfinedBeneathFilesRoot) {
  const std::string base = make_temp_dir("agentrt-files-root-");
  const std::string root = base + "/root";
  fs::create_directories(root + "/in");
  spit(root + "/in/a.txt", "inside");
  spit(base + "/secret", "outside");
  ASSERT_EQ(::symlink("../secret", (root + "/escape").c_str()), 0);
  ASSERT_EQ(::symlink((base + "/secret").c_str(), (root + "/abs-escape").c_str()), 0);
  ASSERT_EQ(::symlink("in/a.txt", (root + "/ok-link").c_str()), 0);
  ASSERT_EQ(::symlink(base.c_str(), (root + "/dir-escape").c_str()), 0);
  runtime_process rt({"--token", token, "--files-root", root});
  const auto get = [&](const std::string& path, const std::string& endpoint = "/files") {
    files_call c;
    c.target = endpoint + "?path=" + url_encode(path) + "&token=" + token;
    return files_request(rt.port(), c);
  };
  // "/" is the root; paths are beneath it.
  EXPECT_EQ(get("/in/a.txt").body, "inside");
  EXPECT_EQ(get("/ok-link").body, "inside"); // a symlink resolved beneath the root
  for (const std::string path : {"/escape", "/abs-escape", "/dir-escape/secret", "/../secret"}) {
    const auto r = get(path);
    EXPECT_EQ(r.status, 403) << path << ": " << r.body;
    EXPECT_NE(r.body.find("path_refused"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("outside\n"), std::string::npos);
  }
  EXPECT_EQ(get("/dir-escape", "/files/list").status, 403);
  const auto listing = get("/", "/files/list");
  EXPECT_EQ(listing.status, 200);
  EXPECT_NE(listing.body.find("\"path\":\"in\""), std::string::npos) << listing.body;
  // A write lands beneath the root, never through the escaping link.
  files_call w;
  w.method = "PUT";
  w.target = "/files?path=/new/file.txt&token=" + std::string(token);
  w.body = "w";
  EXPECT_EQ(files_request(rt.port(), w).status, 201);
  EXPECT_EQ(read_whole_file(root + "/new/file.txt"), "w");
  w.target = "/files?path=/dir-escape/planted&token=" + std::string(token);
  EXPECT_EQ(files_request(rt.port(), w).status, 403);
  EXPECT_FALSE(fs::exists(base + "/planted"));
  w.method = "DELETE";
  w.body.reset();
  w.target = "/files?path=/&recursive=1&token=" + std::string(token);
  EXPECT_EQ(files_request(rt.port(), w).status, 403); // the root itself is not removable
  EXPECT_TRUE(fs::exists(root + "/in/a.txt"));
}

TEST(FilesApiRoot, MissingFilesRootIsAStartupError) {
  const std::string base = make_temp_dir("agentrt-files-root-");
  // runtime_process waits for the port; a runtime that exits at once is seen by its log.
  const std::string binary = AGENTRT_BINARY;
  const std::string cmd = binary + " --host 127.0.0.1 --port 0 --files-root " + base +
                          "/does-not-exist > " + base + "/log 2>&1";
  const int rc = std::system(cmd.c_str());
  EXPECT_NE(rc, 0);
  EXPECT_NE(read_whole_file(base + "/log").find("--files-root"), std::string::npos)
      << read_whole_file(base + "/log");
}

} // namespace
} // namespace agentrt::test

// files_client (agentrt/client/files.hpp) against the real runtime: files and directories up
// and down, a partial download resumed from its .part file, the small operations, and the
// runtime's errors surfacing with their status and code.
#include "agentrt/client/files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/runtime_process.hpp"

namespace agentrt::test {
namespace {

namespace fs = std::filesystem;
using client::files_client;
using client::files_options;

constexpr const char* token = "files-client-token";

void spit(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary);
  out << data;
}

std::string noise(std::size_t n, std::uint32_t seed) {
  std::string out(n, '\0');
  for (char& c : out) {
    seed = seed * 1664525u + 1013904223u;
    c = static_cast<char>(seed >> 24);
  }
  return out;
}

class FilesClient : public ::testing::Test {
protected:
  void SetUp() override {
    remote_ = make_temp_dir("agentrt-files-remote-");
    local_ = make_temp_dir("agentrt-files-local-");
    rt_ = std::make_unique<runtime_process>(std::vector<std::string>{"--token", token});
  }
  files_options options() const {
    files_options o;
    o.url = rt_->url();
    o.token = token;
    o.idle_timeout = std::chrono::seconds(20);
    return o;
  }
  std::string remote_, local_;
  std::unique_ptr<runtime_process> rt_;
};

TEST_F(FilesClient, FileUpAndDownWithProgress) {
  const std::string data = noise(5 << 20, 1);
  spit(local_ + "/in.bin", data);
  ::chmod((local_ + "/in.bin").c_str(), 0640);
  files_options o = options();
  std::uint64_t last = 0;
  o.progress = [&](std::uint64_t done, std::optional<std::uint64_t> total) {
    EXPECT_GE(done, last);
    last = done;
    if (total) {
      EXPECT_EQ(*total, data.size());
    }
  };
  files_client c(o);
  const auto up = c.write_from_file(local_ + "/in.bin", remote_ + "/sub/out.bin");
  ASSERT_TRUE(up.ok()) << up.error.message;
  EXPECT_EQ(up.status, 201);
  EXPECT_EQ(last, data.size());
  EXPECT_TRUE(read_whole_file(remote_ + "/sub/out.bin") == data);
  struct stat st {};
  ASSERT_EQ(::stat((remote_ + "/sub/out.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u) << "the local file's mode travels";

  last = 0; // the download counts from 0 again
  const auto down = c.read_to_file(remote_ + "/sub/out.bin", local_ + "/back.bin");
  ASSERT_TRUE(down.ok()) << down.error.message;
  EXPECT_TRUE(read_whole_file(local_ + "/back.bin") == data);
  EXPECT_EQ(last, data.size());
  EXPECT_FALSE(fs::exists(local_ + "/back.bin.part"));

  last = 100;
  std::string via_sink;
  ASSERT_TRUE(c.read(
                   remote_ + "/sub/out.bin",
                   [&](const char* d, std::size_t n) {
                     via_sink.append(d, n);
                     return true;
                   },
                   100)
                  .ok());
  EXPECT_TRUE(via_sink == data.substr(100));
}

TEST_F(FilesClient, PartialDownloadResumesFromItsPartFile) {
  const std::string data = noise(3 << 20, 2);
  spit(remote_ + "/r.bin", data);
  // What an interrupted earlier download left.
  spit(local_ + "/r.bin.part", data.substr(0, 1234567));
  files_options o = options();
  std::uint64_t first_progress = 0;
  o.progress = [&](std::uint64_t done, std::optional<std::uint64_t>) {
    if (first_progress == 0)
      first_progress = done;
  };
  files_client c(o);
  ASSERT_TRUE(c.read_to_file(remote_ + "/r.bin", local_ + "/r.bin").ok());
  EXPECT_TRUE(read_whole_file(local_ + "/r.bin") == data);
  EXPECT_GT(first_progress, 1234567u) << "the download started over instead of resuming";
  // A source streamed chunked (no length).
  std::size_t sent = 0;
  ASSERT_TRUE(c.write(remote_ + "/chunked.bin", [&](char* buf, std::size_t n) {
                 const std::size_t take = std::min(n, data.size() - sent);
                 std::memcpy(buf, data.data() + sent, take);
                 sent += take;
                 return take;
               }).ok());
  EXPECT_TRUE(read_whole_file(remote_ + "/chunked.bin") == data);
}

TEST_F(FilesClient, SmallOperationsAndErrors) {
  files_client c(options());
  ASSERT_TRUE(c.mkdir(remote_ + "/a/b", 0750).ok());
  spit(remote_ + "/a/b/f.txt", "12345");
  client::file_info info;
  ASSERT_TRUE(c.stat(remote_ + "/a/b/f.txt", info).ok());
  EXPECT_EQ(info.type, "file");
  EXPECT_EQ(info.size, 5u);
  std::vector<client::file_info> entries;
  ASSERT_TRUE(c.list(remote_ + "/a", entries, 3).ok());
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_TRUE(c.move(remote_ + "/a/b/f.txt", remote_ + "/g.txt").ok());
  EXPECT_EQ(read_whole_file(remote_ + "/g.txt"), "12345");

  const auto missing = c.stat(remote_ + "/nope", info);
  EXPECT_FALSE(missing.ok());
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.code, "not_found");
  EXPECT_EQ(missing.error.code, client::make_error_code(client::errc::runtime_error));
  EXPECT_NE(missing.error.message.find("/nope"), std::string::npos);
  const auto not_empty = c.remove(remote_ + "/a");
  EXPECT_EQ(not_empty.code, "not_empty");
  EXPECT_TRUE(c.remove(remote_ + "/a", true).ok());
  EXPECT_FALSE(fs::exists(remote_ + "/a"));

  files_options wrong = options();
  wrong.token = "wrong";
  const auto denied = files_client(wrong).stat(remote_, info);
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(denied.code, "unauthorized");
  files_options bad_url = options();
  bad_url.url = "ftp://x";
  EXPECT_EQ(files_client(bad_url).stat(remote_, info).error.code,
            client::make_error_code(client::errc::invalid_options));
  files_options nobody = options();
  nobody.url = "ws://127.0.0.1:" + std::to_string(free_port()) + "/";
  EXPECT_EQ(files_client(nobody).stat(remote_, info).error.code,
            client::make_error_code(client::errc::connection_failed));
}

TEST_F(FilesClient, DirectoryUpAndDown) {
  fs::create_directories(local_ + "/tree/deep/er");
  spit(local_ + "/tree/a.txt", "a");
  const std::string big = noise(700 * 1024, 3);
  spit(local_ + "/tree/deep/er/big.bin", big);
  const std::string long_name(150, 'n');
  spit(local_ + "/tree/deep/" + long_name, "long");
  ASSERT_EQ(::symlink("a.txt", (local_ + "/tree/link").c_str()), 0);
  ::chmod((local_ + "/tree/a.txt").c_str(), 0600);
  files_client c(options());
  const auto up = c.upload_directory(local_ + "/tree", remote_ + "/up");
  ASSERT_TRUE(up.ok()) << up.error.message;
  EXPECT_EQ(read_whole_file(remote_ + "/up/a.txt"), "a");
  EXPECT_TRUE(read_whole_file(remote_ + "/up/deep/er/big.bin") == big);
  EXPECT_EQ(read_whole_file(remote_ + "/up/deep/" + long_name), "long");
  EXPECT_EQ(fs::read_symlink(remote_ + "/up/link"), "a.txt");
  struct stat st {};
  ASSERT_EQ(::stat((remote_ + "/up/a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const auto down = c.download_directory(remote_ + "/up", local_ + "/down");
  ASSERT_TRUE(down.ok()) << down.error.message;
  EXPECT_EQ(read_whole_file(local_ + "/down/a.txt"), "a");
  EXPECT_TRUE(read_whole_file(local_ + "/down/deep/er/big.bin") == big);
  EXPECT_EQ(read_whole_file(local_ + "/down/deep/" + long_name), "long");
  EXPECT_EQ(fs::read_symlink(local_ + "/down/link"), "a.txt");

  // A symlink pointing outside is refused on the way down (the tree is hostile input).
  ASSERT_EQ(::symlink("/etc", (remote_ + "/up/etc-link").c_str()), 0);
  const auto refused = c.download_directory(remote_ + "/up", local_ + "/down2");
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.error.message.find("etc-link"), std::string::npos) << refused.error.message;
  EXPECT_FALSE(fs::exists(fs::symlink_status(local_ + "/down2/etc-link")));
}

} // namespace
} // namespace agentrt::test

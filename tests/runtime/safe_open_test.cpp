// util::open_regular_beneath and open_regular_file against a real directory tree that has been
// tampered with: symlinks at the file and at a directory, "..", a FIFO (which must not block the
// open), a directory, a missing file; with openat2 and with the per-component fallback alike.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "support/runtime_process.hpp"
#include "util/safe_open.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace util = agentrt::runtime::util;
using steady = std::chrono::steady_clock;

using open_fn = std::function<util::opened_file(int, std::string_view)>;

struct variant {
  const char* name;
  open_fn open;
};

class SafeOpen : public ::testing::TestWithParam<variant> {
protected:
  void SetUp() override {
    root_ = make_temp_dir("agentrt-safeopen-");
    fs::create_directories(root_ + "/watched/sub");
    fs::create_directories(root_ + "/outside");
    std::ofstream(root_ + "/watched/sub/report.txt") << "report";
    std::ofstream(root_ + "/outside/secret") << "do not leak";
    dir_fd_ = ::open((root_ + "/watched").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(dir_fd_, 0);
  }
  void TearDown() override {
    ::close(dir_fd_);
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  util::opened_file open(const std::string& relative) { return GetParam().open(dir_fd_, relative); }

  static std::string contents(const util::opened_file& f) {
    std::string out(4096, '\0');
    const ssize_t n = ::pread(f.fd.get(), out.data(), out.size(), 0);
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return out;
  }

  std::string root_;
  int dir_fd_ = -1;
};

TEST_P(SafeOpen, OpensARegularFileBeneath) {
  const auto f = open("sub/report.txt");
  ASSERT_TRUE(f.ok()) << f.where << " " << f.reason;
  EXPECT_EQ(contents(f), "report");
  EXPECT_EQ(f.st.st_size, 6);
  // "." and doubled slashes are harmless spellings.
  EXPECT_TRUE(open("./sub//report.txt").ok());
}

TEST_P(SafeOpen, FileReplacedBySymlinkIsRefused) {
  fs::remove(root_ + "/watched/sub/report.txt");
  fs::create_symlink(root_ + "/outside/secret", root_ + "/watched/sub/report.txt");
  const auto f = open("sub/report.txt");
  EXPECT_FALSE(f.ok());
  EXPECT_TRUE(f.refused);
  EXPECT_EQ(f.where, "sub/report.txt");
  EXPECT_EQ(f.reason, "is a symbolic link");
}

TEST_P(SafeOpen, DirectoryReplacedBySymlinkIsRefused) {
  fs::rename(root_ + "/watched/sub", root_ + "/watched/sub.old");
  fs::create_symlink(root_ + "/outside", root_ + "/watched/sub");
  std::ofstream(root_ + "/outside/report.txt") << "outside";
  const auto f = open("sub/report.txt");
  EXPECT_FALSE(f.ok());
  EXPECT_TRUE(f.refused);
  EXPECT_EQ(f.where, "sub");
  EXPECT_EQ(f.reason, "is a symbolic link");
  // A relative symlink that stays inside is refused all the same: no symlink is followed.
  fs::remove(root_ + "/watched/sub");
  fs::create_symlink("sub.old", root_ + "/watched/sub");
  EXPECT_TRUE(open("sub/report.txt").refused);
}

TEST_P(SafeOpen, FifoIsRefusedWithoutBlocking) {
  fs::remove(root_ + "/watched/sub/report.txt");
  ASSERT_EQ(::mkfifo((root_ + "/watched/sub/report.txt").c_str(), 0600), 0);
  const auto t0 = steady::now();
  const auto f = open("sub/report.txt");
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - t0);
  EXPECT_FALSE(f.ok());
  EXPECT_TRUE(f.refused);
  EXPECT_EQ(f.reason, "is a FIFO, not a regular file");
  std::printf("[ figures  ] %s: FIFO refused after %lld us\n", GetParam().name,
              static_cast<long long>(took.count()));
}

TEST_P(SafeOpen, DirectoryIsRefused) {
  const auto f = open("sub");
  EXPECT_TRUE(f.refused);
  EXPECT_EQ(f.reason, "is a directory, not a regular file");
}

TEST_P(SafeOpen, EscapesAreRefused) {
  for (const char* path :
       {"../outside/secret", "sub/../../outside/secret", "/etc/passwd", "", "."}) {
    SCOPED_TRACE(path);
    const auto f = open(path);
    EXPECT_FALSE(f.ok());
    EXPECT_TRUE(f.refused);
  }
}

TEST_P(SafeOpen, MissingFileIsAnIoError) {
  const auto f = open("sub/nope.txt");
  EXPECT_FALSE(f.ok());
  EXPECT_FALSE(f.refused);
  EXPECT_EQ(f.ec, std::make_error_code(std::errc::no_such_file_or_directory));
  EXPECT_EQ(f.where, "sub/nope.txt");
  const auto g = open("nodir/x.txt");
  EXPECT_EQ(g.ec, std::make_error_code(std::errc::no_such_file_or_directory));
  EXPECT_EQ(g.where, "nodir");
}

INSTANTIATE_TEST_SUITE_P(Both, SafeOpen,
                         ::testing::Values(variant{"openat2", &util::open_regular_beneath},
                                           variant{"per-component",
                                                   &util::open_regular_beneath_by_components}),
                         [](const ::testing::TestParamInfo<variant>& info) {
                           return std::string(info.param.name) == "openat2" ? "Openat2"
                                                                            : "PerComponent";
                         });

TEST(SafeOpenFile, FollowsSymlinksButRefusesFifos) {
  const std::string dir = make_temp_dir("agentrt-safeopen-");
  std::ofstream(dir + "/real") << "data";
  fs::create_symlink(dir + "/real", dir + "/link");
  ASSERT_EQ(::mkfifo((dir + "/fifo").c_str(), 0600), 0);
  EXPECT_TRUE(util::open_regular_file(dir + "/link").ok());
  const auto fifo = util::open_regular_file(dir + "/fifo");
  EXPECT_TRUE(fifo.refused);
  EXPECT_EQ(fifo.reason, "is a FIFO, not a regular file");
  const auto missing = util::open_regular_file(dir + "/missing");
  EXPECT_FALSE(missing.refused);
  EXPECT_EQ(missing.ec, std::make_error_code(std::errc::no_such_file_or_directory));
  fs::remove_all(dir);
}

} // namespace
} // namespace agentrt::test

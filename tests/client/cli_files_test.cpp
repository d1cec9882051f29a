// agentrt-client put/get/ls/rm/mkdir against the real runtime: files and directories both ways,
// the URL from AGENTRT_URL, an interrupted get resumed from its .part file, and the exit codes
// (64 usage, 69 connection, 70 refused by the runtime, 73 local file, 77 token).
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/program_run.hpp"
#include "support/runtime_process.hpp"

namespace {

namespace fs = std::filesystem;
using agentrt::test::read_whole_file;
using agentrt::test::runtime_process;

constexpr const char* token = "cli-files-token";

agentrt::test::program_result run_cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv{AGENTRT_CLIENT_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return agentrt::test::run_program(argv);
}

void spit(const std::string& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary);
  out << data;
}

class CliFiles : public ::testing::Test {
protected:
  void SetUp() override {
    remote_ = agentrt::test::make_temp_dir("agentrt-cli-remote-");
    local_ = agentrt::test::make_temp_dir("agentrt-cli-local-");
    rt_ = std::make_unique<runtime_process>(std::vector<std::string>{"--token", token});
    ::setenv("AGENTRT_TOKEN", token, 1);
  }
  void TearDown() override { ::unsetenv("AGENTRT_TOKEN"); }
  std::string remote_, local_;
  std::unique_ptr<runtime_process> rt_;
};

TEST_F(CliFiles, PutGetFilesAndDirectories) {
  std::string data(3 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>((i * 2654435761u) >> 13);
  spit(local_ + "/f.bin", data);
  auto put = run_cli({"put", rt_->url(), local_ + "/f.bin", remote_ + "/in/f.bin"});
  ASSERT_EQ(put.code, 0) << put.err;
  EXPECT_TRUE(read_whole_file(remote_ + "/in/f.bin") == data);
  // The progress line is for terminals only: the test's stderr is a file.
  EXPECT_EQ(put.err, "");

  auto get = run_cli({"get", rt_->url(), remote_ + "/in/f.bin", local_ + "/g.bin"});
  ASSERT_EQ(get.code, 0) << get.err;
  EXPECT_TRUE(read_whole_file(local_ + "/g.bin") == data);
  // Into a directory: under the remote name.
  ASSERT_EQ(run_cli({"get", rt_->url(), remote_ + "/in/f.bin", local_}).code, 0);
  EXPECT_TRUE(read_whole_file(local_ + "/f.bin") == data);
  // To stdout.
  spit(remote_ + "/small.txt", "small\n");
  EXPECT_EQ(run_cli({"get", rt_->url(), remote_ + "/small.txt", "-"}).out, "small\n");

  fs::create_directories(local_ + "/tree/sub");
  spit(local_ + "/tree/sub/a.txt", "a");
  ASSERT_EQ(::symlink("sub/a.txt", (local_ + "/tree/link").c_str()), 0);
  EXPECT_EQ(run_cli({"put", rt_->url(), local_ + "/tree", remote_ + "/tree"}).code, 64)
      << "a directory without -r";
  auto put_r = run_cli({"put", "-r", rt_->url(), local_ + "/tree", remote_ + "/tree"});
  ASSERT_EQ(put_r.code, 0) << put_r.err;
  EXPECT_EQ(read_whole_file(remote_ + "/tree/sub/a.txt"), "a");
  EXPECT_EQ(fs::read_symlink(remote_ + "/tree/link"), "sub/a.txt");
  auto get_r = run_cli({"get", "-r", rt_->url(), remote_ + "/tree", local_ + "/back"});
  ASSERT_EQ(get_r.code, 0) << get_r.err;
  EXPECT_EQ(read_whole_file(local_ + "/back/sub/a.txt"), "a");
  EXPECT_EQ(fs::read_symlink(local_ + "/back/link"), "sub/a.txt");
}

// On a terminal (script(1) gives the CLI one), a transfer over 1 MiB draws a progress line.
TEST_F(CliFiles, ProgressLineOnATerminal) {
  if (::access("/usr/bin/script", X_OK) != 0)
    GTEST_SKIP() << "no script(1) to provide a terminal";
  spit(local_ + "/p.bin", std::string(3 << 20, 'p'));
  const std::string cmd = std::string(AGENTRT_CLIENT_BINARY) + " put " + rt_->url() + " " + local_ +
                          "/p.bin " + remote_ + "/p.bin";
  auto r = agentrt::test::run_program({"/usr/bin/script", "-qec", cmd, "/dev/null"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("of 3.0 MiB (100%)"), std::string::npos) << r.out;
  EXPECT_EQ(read_whole_file(remote_ + "/p.bin").size(), 3u << 20);
}

TEST_F(CliFiles, LsRmMkdirWithTheUrlFromTheEnvironment) {
  ::setenv("AGENTRT_URL", rt_->url().c_str(), 1);
  auto mk = run_cli({"mkdir", "--mode", "0700", remote_ + "/a/b"});
  ASSERT_EQ(mk.code, 0) << mk.err;
  struct stat st {};
  ASSERT_EQ(::stat((remote_ + "/a/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  spit(remote_ + "/a/b/f.txt", "12345");
  auto ls = run_cli({"ls", "-r", remote_ + "/a"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  EXPECT_NE(ls.out.find("directory"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find(" b/f.txt"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find(" 5 "), std::string::npos) << ls.out;
  auto json = run_cli({"ls", "--json", remote_ + "/a/b/f.txt"});
  EXPECT_NE(json.out.find("\"size\":5"), std::string::npos) << json.out;
  EXPECT_EQ(run_cli({"rm", remote_ + "/a"}).code, 70); // not empty
  EXPECT_EQ(run_cli({"rm", "-r", remote_ + "/a"}).code, 0);
  EXPECT_FALSE(fs::exists(remote_ + "/a"));
  ::unsetenv("AGENTRT_URL");
  EXPECT_EQ(run_cli({"ls", remote_}).code, 64) << "no URL anywhere";
}

TEST_F(CliFiles, InterruptedGetResumes) {
  std::string data(2 << 20, 'x');
  for (std::size_t i = 0; i < data.size(); i += 7)
    data[i] = static_cast<char>(i);
  spit(remote_ + "/r.bin", data);
  spit(local_ + "/r.bin.part", data.substr(0, 777777));
  auto get = run_cli({"get", rt_->url(), remote_ + "/r.bin", local_ + "/r.bin"});
  ASSERT_EQ(get.code, 0) << get.err;
  EXPECT_TRUE(read_whole_file(local_ + "/r.bin") == data);
  EXPECT_FALSE(fs::exists(local_ + "/r.bin.part"));
  // A stale .part from another file is discarded with --no-resume.
  spit(local_ + "/r.bin.part", std::string(100, 'z'));
  ASSERT_EQ(run_cli({"get", "--no-resume", rt_->url(), remote_ + "/r.bin", local_ + "/r.bin"}).code,
            0);
  EXPECT_TRUE(read_whole_file(local_ + "/r.bin") == data);
}

TEST_F(CliFiles, ExitCodes) {
  auto missing = run_cli({"get", rt_->url(), remote_ + "/nope", local_ + "/x"});
  EXPECT_EQ(missing.code, 70);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
  EXPECT_EQ(run_cli({"put", rt_->url(), local_ + "/absent", remote_ + "/x"}).code, 73);
  EXPECT_EQ(run_cli({"mkdir", "ws://127.0.0.1:1/", remote_ + "/x"}).code, 69);
  EXPECT_EQ(run_cli({"mkdir", "--token", "wrong", rt_->url(), remote_ + "/x"}).code, 77);
  EXPECT_EQ(run_cli({"put", rt_->url(), local_ + "/only-one"}).code, 64);
  EXPECT_EQ(run_cli({"mkdir", "--mode", "999", rt_->url(), remote_ + "/x"}).code, 64);
  auto refused = run_cli({"put", rt_->url(), "-", "relative/path"});
  EXPECT_EQ(refused.code, 70);
  EXPECT_NE(refused.err.find("path refused"), std::string::npos) << refused.err;
  EXPECT_EQ(run_cli({"put", "--help"}).code, 0);
}

} // namespace

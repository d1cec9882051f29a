// The runtime's one inotify instance: watchers of one io_context share it (more watchers than
// fs.inotify.max_user_instances all work), share watch descriptors for the same directory
// without stepping on each other, a newcomer does not receive what was queued before it
// joined, and exhausted limits are named.
#include "artifacts/inotify_hub.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include "artifacts/artifact_watcher.hpp"
#include "artifacts/inotify_errors.hpp"

namespace agentrt::runtime::artifacts {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// inotify descriptors this process holds.
int inotify_fds() {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (fs::read_symlink(e.path(), ec).string() == "anon_inode:inotify")
      ++n;
  }
  return n;
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

class InotifyHub : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = fs::temp_directory_path().string() + "/inotify_hub_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
  }
  void TearDown() override {
    watchers_.clear();
    io_.restart();
    io_.poll();
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  // A watcher whose announcements land in announced_[index].
  std::size_t add_watcher() {
    const std::size_t index = watchers_.size();
    announced_.emplace_back();
    watchers_.push_back(std::make_unique<artifact_watcher>(
        io_, [this, index](std::string path) { announced_[index].push_back(std::move(path)); },
        [this](std::string_view what, const std::string& path, std::error_code ec) {
          problems_.push_back(std::string(what) + " " + path + ": " + ec.message());
        }));
    return index;
  }

  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline)
        return false;
      io_.restart();
      io_.run_one_until(std::min(deadline, std::chrono::steady_clock::now() + 10ms));
    }
    return true;
  }

  bool announced(std::size_t watcher, const std::string& path) const {
    const auto& a = announced_[watcher];
    return std::find(a.begin(), a.end(), path) != a.end();
  }

  asio::io_context io_;
  std::string base_;
  std::vector<std::unique_ptr<artifact_watcher>> watchers_;
  std::vector<std::vector<std::string>> announced_;
  std::vector<std::string> problems_;
};

TEST_F(InotifyHub, MoreWatchersThanInstancesShareOneDescriptor) {
  long max_instances = 128;
  std::ifstream("/proc/sys/fs/inotify/max_user_instances") >> max_instances;
  const int before = inotify_fds();
  const int count = static_cast<int>(std::min(max_instances, 1000L)) + 20;
  for (int i = 0; i < count; ++i) {
    const std::size_t w = add_watcher();
    ASSERT_FALSE(watchers_[w]->add_directory(base_ + "/w" + std::to_string(i), std::nullopt))
        << "watcher " << i;
  }
  EXPECT_EQ(inotify_fds(), before + 1);
  for (int i = 0; i < count; ++i)
    write_file(base_ + "/w" + std::to_string(i) + "/f.txt", "x");
  ASSERT_TRUE(run_until([&] {
    for (int i = 0; i < count; ++i) {
      if (!announced(static_cast<std::size_t>(i), base_ + "/w" + std::to_string(i) + "/f.txt"))
        return false;
    }
    return true;
  }));
  for (int i = 0; i < count; ++i)
    EXPECT_EQ(announced_[static_cast<std::size_t>(i)].size(), 1u) << i;
  EXPECT_TRUE(problems_.empty()) << problems_.front();
  watchers_.clear();
  EXPECT_EQ(inotify_fds(), before); // closed with its last user
  std::printf("[ figures  ] %d watchers (max_user_instances %ld) on %d inotify descriptor(s)\n",
              count, max_instances, 1);
}

TEST_F(InotifyHub, TwoWatchersOfOneDirectoryAreIndependent) {
  const std::string dir = base_ + "/shared";
  const std::size_t a = add_watcher();
  const std::size_t b = add_watcher();
  ASSERT_FALSE(watchers_[a]->add_directory(dir, std::nullopt));
  ASSERT_FALSE(watchers_[b]->add_directory(dir, std::nullopt));
  write_file(dir + "/one.txt", "1");
  ASSERT_TRUE(
      run_until([&] { return announced(a, dir + "/one.txt") && announced(b, dir + "/one.txt"); }));

  // Stopping one keeps the shared kernel watch for the other.
  watchers_[a]->stop();
  write_file(dir + "/two.txt", "2");
  ASSERT_TRUE(run_until([&] { return announced(b, dir + "/two.txt"); }));
  EXPECT_FALSE(announced(a, dir + "/two.txt"));
  fs::create_directories(dir + "/sub");
  write_file(dir + "/sub/three.txt", "3");
  ASSERT_TRUE(run_until([&] { return announced(b, dir + "/sub/three.txt"); }));
  EXPECT_EQ(announced_[b].size(), 3u);
}

TEST_F(InotifyHub, NewcomerDoesNotReceiveEventsQueuedBeforeItJoined) {
  // a watches base_/a, hence also base_ (the parent of every registered directory).
  const std::size_t a = add_watcher();
  ASSERT_FALSE(watchers_[a]->add_directory(base_ + "/a", std::nullopt));
  // base_/b appears with a file in it while nobody watches b: an IN_CREATE for b is queued on
  // the parent's watch, which b's watcher is about to share.
  fs::create_directories(base_ + "/b");
  write_file(base_ + "/b/existing.txt", "before registration");
  const std::size_t b = add_watcher();
  ASSERT_FALSE(watchers_[b]->add_directory(base_ + "/b", std::nullopt));
  write_file(base_ + "/b/new.txt", "after");
  ASSERT_TRUE(run_until([&] { return announced(b, base_ + "/b/new.txt"); }));
  bool settled = false;
  watchers_[b]->settle(50ms, [&] { settled = true; });
  ASSERT_TRUE(run_until([&] { return settled; }));
  EXPECT_FALSE(announced(b, base_ + "/b/existing.txt"))
      << "a file present at registration was announced";
  EXPECT_TRUE(announced_[a].empty());
}

TEST_F(InotifyHub, DeletedDirectoryOfOneWatcherDoesNotConfuseTheOther) {
  const std::size_t a = add_watcher();
  const std::size_t b = add_watcher();
  ASSERT_FALSE(watchers_[a]->add_directory(base_ + "/a", std::nullopt));
  ASSERT_FALSE(watchers_[b]->add_directory(base_ + "/b", std::nullopt));
  fs::create_directories(base_ + "/a/sub");
  write_file(base_ + "/a/sub/x.txt", "x");
  ASSERT_TRUE(run_until([&] { return announced(a, base_ + "/a/sub/x.txt"); }));
  fs::remove_all(base_ + "/a/sub"); // the kernel drops that watch (IN_IGNORED)
  write_file(base_ + "/b/y.txt", "y");
  write_file(base_ + "/a/z.txt", "z");
  ASSERT_TRUE(run_until(
      [&] { return announced(b, base_ + "/b/y.txt") && announced(a, base_ + "/a/z.txt"); }));
  EXPECT_EQ(announced_[b].size(), 1u);
  EXPECT_EQ(announced_[a].size(), 2u);
}

TEST_F(InotifyHub, WatcherThatFallsBehindGetsAnOverflowAndRescans) {
  // A 4 KiB buffer per watcher: about a hundred events.
  asio::use_service<inotify_hub>(io_).set_max_buffered_bytes(4096);
  const std::size_t slow = add_watcher();
  const std::size_t other = add_watcher();
  ASSERT_FALSE(watchers_[slow]->add_directory(base_ + "/slow", std::nullopt));
  ASSERT_FALSE(watchers_[other]->add_directory(base_ + "/other", std::nullopt));
  constexpr int files = 500;
  for (int i = 0; i < files; ++i)
    write_file(base_ + "/slow/f" + std::to_string(i), "x");
  // The other watcher's settle reads the whole kernel queue at once, and the slow watcher,
  // which has not run yet, cannot buffer all of its share.
  bool settled = false;
  watchers_[other]->settle(10ms, [&] { settled = true; });
  ASSERT_TRUE(run_until([&] { return settled && announced_[slow].size() >= files; }))
      << announced_[slow].size() << " of " << files;
  bool slow_settled = false;
  watchers_[slow]->settle(50ms, [&] { slow_settled = true; });
  ASSERT_TRUE(run_until([&] { return slow_settled; }));
  EXPECT_EQ(announced_[slow].size(), static_cast<std::size_t>(files)); // each once
  EXPECT_TRUE(std::any_of(problems_.begin(), problems_.end(), [](const std::string& p) {
    return p.find("overflow") != std::string::npos;
  }));
  EXPECT_TRUE(announced_[other].empty());
}

TEST(InotifyErrors, ExhaustedLimitsAreNamed) {
  const std::error_code instances = inotify_init_error(EMFILE);
  EXPECT_EQ(instances, inotify_errc::instance_limit);
  EXPECT_EQ(instances, std::errc::too_many_files_open); // still compares as EMFILE
  EXPECT_NE(instances.message().find("fs.inotify.max_user_instances ("), std::string::npos)
      << instances.message();
  const std::error_code watches = inotify_add_watch_error(ENOSPC);
  EXPECT_EQ(watches, inotify_errc::watch_limit);
  EXPECT_EQ(watches, std::errc::no_space_on_device);
  EXPECT_NE(watches.message().find("fs.inotify.max_user_watches ("), std::string::npos)
      << watches.message();
  // Other errors keep their own meaning.
  EXPECT_EQ(inotify_add_watch_error(EACCES), std::errc::permission_denied);
  EXPECT_EQ(inotify_init_error(ENFILE), std::errc::too_many_files_open_in_system);
  long value = -1;
  if (std::ifstream("/proc/sys/fs/inotify/max_user_watches") >> value) {
    EXPECT_NE(watches.message().find("(" + std::to_string(value) + ")"), std::string::npos)
        << watches.message();
  }
}

TEST(InotifyErrors, EmfileFromTheDescriptorLimitIsNotBlamedOnInotify) {
  // With this process out of descriptors, EMFILE means RLIMIT_NOFILE: reported as is.
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
  std::vector<int> held;
  rlimit tight = original;
  tight.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  for (;;) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      break;
    held.push_back(fd);
  }
  const std::error_code ec = inotify_init_error(EMFILE);
  for (const int fd : held)
    ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &original), 0);
  EXPECT_EQ(ec, std::error_code(EMFILE, std::system_category()));
}

} // namespace
} // namespace agentrt::runtime::artifacts

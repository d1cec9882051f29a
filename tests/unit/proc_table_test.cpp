// proc_table's /proc readers against real processes this test starts with posix_spawn: the
// stat fields (a command name with spaces and parentheses included), zombies and vanished
// pids, environments larger than one read chunk, RLIMIT_RTTIME set with prlimit, and the
// children of the test process and of a shell it started, orphans re-parented to it as well.
#include "process/proc_table.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

extern char** environ;

namespace {

namespace pt = agentrt::runtime::process::detail;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A child started with posix_spawn, killed and reaped when the test ends.
class spawned {
public:
  explicit spawned(std::vector<std::string> argv, char** envp = environ) {
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    if (::posix_spawn(&pid_, args[0], nullptr, nullptr, args.data(), envp) != 0)
      pid_ = -1;
  }
  ~spawned() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  spawned(const spawned&) = delete;
  spawned& operator=(const spawned&) = delete;

  pid_t pid() const { return pid_; }
  int reap() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }

private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// Polls until pred() holds or 10 s passed; the result of the last try.
template <typename Pred> bool eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

bool contains(const std::vector<pid_t>& pids, pid_t pid) {
  return std::find(pids.begin(), pids.end(), pid) != pids.end();
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "proc_table_test.XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

TEST(ProcTable, ReadsTheCallingProcess) {
  const auto before = pt::boot_ticks_now();
  const auto e = pt::read_proc_entry(::getpid());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->pid, ::getpid());
  EXPECT_EQ(e->ppid, ::getppid());
  EXPECT_EQ(e->pgrp, ::getpgrp());
  EXPECT_EQ(e->state, 'R'); // reading its own stat, it is running
  EXPECT_EQ(e->uid, ::geteuid());
  EXPECT_GT(e->start_ticks, 0u);
  EXPECT_LE(e->start_ticks, before); // started before now, on the same clock
}

TEST(ProcTable, ParsesACommandNameWithSpacesAndParentheses) {
  // comm is the executable's file name: ") 7 7 (" would shift every field of a parser that
  // splits at the first ')'.
  temp_dir dir;
  const fs::path odd = dir.path / ") 7 7 (x";
  fs::copy_file("/bin/sleep", odd);
  fs::permissions(odd, fs::perms::owner_all);
  spawned child({odd.string(), "30"});
  ASSERT_GT(child.pid(), 0);
  std::optional<pt::proc_entry> e;
  // 'S' once it sleeps; right after the spawn it may still be running its loader.
  ASSERT_TRUE(eventually([&] {
    e = pt::read_proc_entry(child.pid());
    return e && e->state == 'S';
  }));
  EXPECT_EQ(e->pid, child.pid());
  EXPECT_EQ(e->ppid, ::getpid());
  EXPECT_EQ(e->pgrp, ::getpgrp()); // posix_spawn without flags keeps our group
  EXPECT_GE(e->start_ticks, pt::read_proc_entry(::getpid())->start_ticks);
  std::ifstream comm("/proc/" + std::to_string(child.pid()) + "/comm");
  std::string name;
  std::getline(comm, name);
  EXPECT_EQ(name, ") 7 7 (x"); // the case really is the one described
}

TEST(ProcTable, AnUnreapedChildIsAZombieAndAReapedOneIsGone) {
  spawned child({"/bin/true"});
  ASSERT_GT(child.pid(), 0);
  std::optional<pt::proc_entry> e;
  ASSERT_TRUE(eventually([&] {
    e = pt::read_proc_entry(child.pid());
    return e && e->state == 'Z';
  }));
  EXPECT_EQ(e->ppid, ::getpid());
  EXPECT_TRUE(contains(pt::own_children(), child.pid())); // a zombie is still a child
  EXPECT_EQ(child.reap(), 0);
  EXPECT_FALSE(pt::read_proc_entry(child.pid()).has_value());
  EXPECT_FALSE(contains(pt::own_children(), child.pid()));
}

TEST(ProcTable, ScanFindsTheChildrenOfASpawnedShell) {
  spawned shell({"/bin/sh", "-c", "sleep 30 & sleep 30 & wait"});
  ASSERT_GT(shell.pid(), 0);
  std::vector<pt::proc_entry> children;
  ASSERT_TRUE(eventually([&] {
    children.clear();
    for (const auto& e : pt::scan_proc())
      if (e.ppid == shell.pid())
        children.push_back(e);
    return children.size() == 2;
  }));
  for (const auto& e : children) {
    EXPECT_NE(e.pid, shell.pid());
    EXPECT_EQ(e.pgrp, ::getpgrp());
    EXPECT_EQ(e.uid, ::geteuid());
  }
  // The shell itself is in the scan, and is our child; its children are not ours.
  const auto all = pt::scan_proc();
  EXPECT_TRUE(std::any_of(all.begin(), all.end(),
                          [&](const pt::proc_entry& e) { return e.pid == shell.pid(); }));
  const auto mine = pt::own_children();
  EXPECT_TRUE(contains(mine, shell.pid()));
  for (const auto& e : children)
    EXPECT_FALSE(contains(mine, e.pid));
  for (const auto& e : children)
    ::kill(e.pid, SIGKILL);
}

TEST(ProcTable, OrphansReparentedToASubreaperAreOwnChildren) {
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  temp_dir dir;
  const auto pid_file = (dir.path / "pid").string();
  spawned shell({"/bin/sh", "-c", "sleep 30 & echo $! > '" + pid_file + "'"});
  ASSERT_GT(shell.pid(), 0);
  EXPECT_EQ(shell.reap(), 0);
  pid_t orphan = 0;
  std::ifstream(pid_file) >> orphan;
  ASSERT_GT(orphan, 0);
  // The shell is gone, so the sleep was re-parented to us.
  EXPECT_TRUE(eventually([&] { return contains(pt::own_children(), orphan); }));
  const auto e = pt::read_proc_entry(orphan);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->ppid, ::getpid());
  ::kill(orphan, SIGKILL);
  ::waitpid(orphan, nullptr, 0);
  EXPECT_FALSE(contains(pt::own_children(), orphan));
}

TEST(ProcTable, EnvironEntriesAreMatchedWholeAcrossReadChunks) {
  // The marker starts a few bytes before the 16 KiB chunk boundary of the reader, so it only
  // matches when the carry-over between chunks works.
  std::string pad = "PAD=" + std::string(16380 - 5, 'p');
  std::string marker = "AGENTRT_PROC_TABLE_MARK=abc";
  std::string last = "LAST=1";
  std::vector<char*> envp{pad.data(), marker.data(), last.data(), nullptr};
  ASSERT_EQ(::setenv("AGENTRT_PROC_TABLE_PARENT", "1", 1), 0);
  spawned child({"/bin/sleep", "30"}, envp.data());
  ASSERT_GT(child.pid(), 0);
  // Until exec completes, environ is still the parent's.
  ASSERT_TRUE(eventually([&] { return pt::environ_contains(child.pid(), last); }));
  EXPECT_TRUE(pt::environ_contains(child.pid(), marker));
  EXPECT_TRUE(pt::environ_contains(child.pid(), pad)); // the first entry
  EXPECT_FALSE(pt::environ_contains(child.pid(), "AGENTRT_PROC_TABLE_MARK=ab"));
  EXPECT_FALSE(pt::environ_contains(child.pid(), "ROC_TABLE_MARK=abc"));
  // The parent's environment is not the child's; a child that inherits it has the entry.
  EXPECT_FALSE(pt::environ_contains(child.pid(), "AGENTRT_PROC_TABLE_PARENT=1"));
  spawned inheriting({"/bin/sleep", "30"});
  ASSERT_GT(inheriting.pid(), 0);
  EXPECT_TRUE(eventually(
      [&] { return pt::environ_contains(inheriting.pid(), "AGENTRT_PROC_TABLE_PARENT=1"); }));
  ::kill(child.pid(), SIGKILL);
  child.reap();
  EXPECT_FALSE(pt::environ_contains(child.pid(), marker)); // gone
}

TEST(ProcTable, RttimeSoftLimitIsTheOneSetWithPrlimit) {
  spawned child({"/bin/sleep", "30"});
  ASSERT_GT(child.pid(), 0);
  rlimit own{};
  ASSERT_EQ(::getrlimit(RLIMIT_RTTIME, &own), 0);
  const auto inherited = pt::rttime_soft_limit(child.pid());
  if (own.rlim_cur == RLIM_INFINITY)
    EXPECT_FALSE(inherited.has_value());
  else
    EXPECT_EQ(inherited, std::optional<std::uint64_t>(own.rlim_cur));
  const rlim_t soft = own.rlim_max == RLIM_INFINITY ? 123456789 : own.rlim_max / 2 + 1;
  const rlimit wanted{soft, own.rlim_max};
  ASSERT_EQ(::prlimit(child.pid(), RLIMIT_RTTIME, &wanted, nullptr), 0);
  EXPECT_EQ(pt::rttime_soft_limit(child.pid()), std::optional<std::uint64_t>(soft));
  ::kill(child.pid(), SIGKILL);
  child.reap();
  EXPECT_FALSE(pt::rttime_soft_limit(child.pid()).has_value());
}

} // namespace

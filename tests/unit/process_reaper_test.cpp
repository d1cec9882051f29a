// process_reaper with real children started by plain posix_spawn: exit statuses, exits that
// happen before watch(), coalesced SIGCHLDs, a SIGCHLD that never arrives, and orphans
// re-parented to us (subreaper).
#include "process/process_reaper.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include "support/runtime_process.hpp"

extern char** environ;

namespace {

namespace proc = agentrt::runtime::process;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct stat_line {
  pid_t pid = 0;
  char state = '?';
  pid_t ppid = 0;
};

std::optional<stat_line> read_stat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line))
    return std::nullopt;
  const auto paren = line.rfind(')');
  if (paren == std::string::npos)
    return std::nullopt;
  stat_line s;
  s.pid = pid;
  std::istringstream rest(line.substr(paren + 1));
  rest >> s.state >> s.ppid;
  return s;
}

std::vector<stat_line> all_processes() {
  std::vector<stat_line> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    if (const auto s = read_stat(std::stoi(name)))
      out.push_back(*s);
  }
  return out;
}

std::vector<pid_t> find_by_argv(const std::vector<std::string>& args) {
  std::string want;
  for (const auto& a : args)
    want.append(a).push_back('\0');
  std::vector<pid_t> out;
  for (const auto& p : all_processes()) {
    // Never throws for a process that exits meanwhile (an istreambuf_iterator did).
    const std::string got =
        agentrt::test::read_whole_file("/proc/" + std::to_string(p.pid) + "/cmdline");
    if (got == want && p.state != 'Z')
      out.push_back(p.pid);
  }
  return out;
}

// /bin/sh -c script with stdout and stderr on /dev/null.
pid_t spawn_shell(const std::string& script) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::string arg0 = "/bin/sh";
  std::string arg1 = "-c";
  std::string arg2 = script;
  char* argv[] = {arg0.data(), arg1.data(), arg2.data(), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, "/bin/sh", &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  EXPECT_EQ(rc, 0);
  return pid;
}

bool is_our_unreaped_child(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

class ProcessReaper : public ::testing::Test {
protected:
  template <class Pred> bool run_until(Pred pred, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = clock_type::now() + timeout;
    while (!pred()) {
      if (clock_type::now() >= deadline)
        return false;
      io_.restart();
      io_.run_for(5ms);
    }
    return true;
  }

  void run_for(std::chrono::milliseconds d) {
    io_.restart();
    io_.run_for(d);
  }

  asio::io_context io_;
  proc::process_reaper reaper_{io_};
};

TEST_F(ProcessReaper, ReportsExitCode) {
  std::vector<proc::exit_status> got;
  const pid_t pid = spawn_shell("exit 7");
  reaper_.watch(pid, [&](proc::exit_status s) { got.push_back(s); });
  ASSERT_TRUE(run_until([&] { return !got.empty(); }));
  run_for(50ms);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].exit_code, 7);
  EXPECT_EQ(got[0].term_signal, 0);
  EXPECT_FALSE(is_our_unreaped_child(pid));
}

TEST_F(ProcessReaper, ReportsSignalDeathAs128PlusSignal) {
  for (const int sig : {SIGTERM, SIGKILL}) {
    std::vector<proc::exit_status> got;
    const pid_t pid = spawn_shell("exec sleep 100.901");
    reaper_.watch(pid, [&](proc::exit_status s) { got.push_back(s); });
    ASSERT_EQ(::kill(pid, sig), 0);
    ASSERT_TRUE(run_until([&] { return !got.empty(); }));
    EXPECT_EQ(got[0].exit_code, 128 + sig);
    EXPECT_EQ(got[0].term_signal, sig);
  }
}

TEST_F(ProcessReaper, ExitReapedBeforeWatchIsStillReported) {
  const pid_t pid = spawn_shell("exit 5");
  // The reaper's SIGCHLD handler collects it before anyone watches it.
  ASSERT_TRUE(run_until([&] { return !is_our_unreaped_child(pid); }));

  std::vector<proc::exit_status> got;
  reaper_.watch(pid, [&](proc::exit_status s) { got.push_back(s); });
  EXPECT_TRUE(got.empty()) << "handlers run on the io_context, not inside watch()";
  ASSERT_TRUE(run_until([&] { return !got.empty(); }));
  EXPECT_EQ(got[0].exit_code, 5);
}

TEST_F(ProcessReaper, UnwatchedChildIsReapedSilently) {
  bool called = false;
  const pid_t pid = spawn_shell("exit 0");
  reaper_.watch(pid, [&](proc::exit_status) { called = true; });
  reaper_.unwatch(pid);
  ASSERT_TRUE(run_until([&] { return !is_our_unreaped_child(pid); }));
  run_for(50ms);
  EXPECT_FALSE(called);
}

TEST_F(ProcessReaper, CoalescedSigchldsStillReportEveryExit) {
  std::vector<pid_t> pids;
  std::vector<int> calls(100, 0);
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const pid_t pid = spawn_shell("exit " + std::to_string(i % 50));
    pids.push_back(pid);
    reaper_.watch(pid, [&calls, i](proc::exit_status s) {
      ++calls[i];
      EXPECT_EQ(s.exit_code, static_cast<int>(i % 50));
    });
  }
  ASSERT_TRUE(run_until([&] {
    for (const int c : calls) {
      if (c == 0)
        return false;
    }
    return true;
  }));
  run_for(50ms);
  for (const int c : calls)
    EXPECT_EQ(c, 1);
}

TEST_F(ProcessReaper, AnExitWhoseSigchldNeverArrivesIsFoundByThePoll) {
  // Blocked in the only thread, SIGCHLD stays pending and asio never sees it: the state a
  // signal the sanitizer or some library swallowed leaves behind.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigset_t old;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &chld, &old), 0);
  std::vector<proc::exit_status> got;
  const pid_t pid = spawn_shell("exit 9");
  reaper_.watch(pid, [&](proc::exit_status s) { got.push_back(s); });
  const bool reported = run_until([&] { return !got.empty(); });
  sigset_t pending;
  sigemptyset(&pending);
  ::sigpending(&pending);
  const bool signal_still_pending = sigismember(&pending, SIGCHLD) == 1;
  ASSERT_EQ(::pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);
  run_for(50ms); // the late SIGCHLD finds nothing left to reap

  ASSERT_TRUE(reported);
  EXPECT_TRUE(signal_still_pending) << "the exit was reported through the signal after all";
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].exit_code, 9);
  EXPECT_FALSE(is_our_unreaped_child(pid));
}

TEST_F(ProcessReaper, ReapsReparentedOrphansSoNoZombiesRemain) {
  bool main_exited = false;
  const pid_t pid = spawn_shell("sleep 0.314 & sleep 0.271 & exit 0");
  reaper_.watch(pid, [&](proc::exit_status) { main_exited = true; });
  ASSERT_TRUE(run_until([&] { return main_exited; }));

  // As child subreaper we inherit the shell's orphans, not init.
  const auto first = find_by_argv({"sleep", "0.314"});
  const auto second = find_by_argv({"sleep", "0.271"});
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(read_stat(first[0])->ppid, ::getpid());
  EXPECT_EQ(read_stat(second[0])->ppid, ::getpid());

  ASSERT_TRUE(run_until(
      [&] { return !is_our_unreaped_child(first[0]) && !is_our_unreaped_child(second[0]); }, 3s));
  for (const auto& p : all_processes()) {
    EXPECT_FALSE(p.ppid == ::getpid() && p.state == 'Z') << "zombie child " << p.pid;
  }
}

} // namespace

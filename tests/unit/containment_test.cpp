// The containment mechanisms in-process, with real processes: a scope's children born in its
// cgroup with everything posix_spawn would have given them (the hand-made fork/exec path of
// child_exec, PTY mode included), a setsid + env -i escapee found and killed through the
// cgroup, and the
// subreaper mechanism's attribution of orphans by RLIMIT_RTTIME mark and by start time.
// Where this machine cannot create cgroups, the cgroup tests say so and are skipped (the fault
// tests in tests/fault/containment_fault_test.cpp cover both mechanisms end to end).
#include "process/containment.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include "support/runtime_process.hpp"

#include "process/child_exec.hpp"
#include "process/child_process.hpp"
#include "process/proc_table.hpp"
#include "process/process_reaper.hpp"
#include "process/process_scope.hpp"
#include "process/rttime_tag.hpp"

namespace {

namespace proc = agentrt::runtime::process;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// Never throws (see read_whole_file), also for a /proc file whose process just exited.
std::string read_all(const std::string& path) {
  return agentrt::test::read_whole_file(path);
}

// Live (non-zombie) pids whose argv is exactly args.
std::vector<pid_t> find_by_argv(const std::vector<std::string>& args) {
  std::string want;
  for (const auto& a : args)
    want.append(a).push_back('\0');
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    if (read_all(entry.path() / "cmdline") != want)
      continue;
    const std::string stat = read_all(entry.path() / "stat");
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z')
      continue;
    out.push_back(std::stoi(name));
  }
  return out;
}

int count_own_fds() {
  int n = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr)
    return -1;
  while (const dirent* d = ::readdir(dir)) {
    if (d->d_name[0] != '.')
      ++n;
  }
  ::closedir(dir);
  return n;
}

struct outcome {
  std::string out;
  std::vector<proc::exit_status> exits;
  bool done() const { return !exits.empty(); }
};

// A reaper with a containment of the given mode, and helpers to run children in scopes.
class ContainedProcesses : public ::testing::Test {
protected:
  // False (and the reason printed) when the mode cannot be had here.
  bool contain(proc::containment_mode mode) {
    auto c = proc::containment::create(mode);
    if (!c.ok()) {
      std::printf("[ figures  ] containment unavailable here: %s\n", c.error().message().c_str());
      return false;
    }
    reaper_.set_containment(std::move(c).value());
    return true;
  }

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

  std::pair<std::shared_ptr<proc::child_process>, std::error_code>
  try_start(proc::process_scope& scope, const proc::spawn_options& o, outcome& r) {
    auto spawned = proc::child_process::spawn(
        io_, reaper_, scope, o,
        [&r](proc::output_stream s, std::string_view chunk) {
          if (s != proc::output_stream::stderr_stream) // stdout, or a terminal's output
            r.out.append(chunk);
        },
        [&r](proc::exit_status st) { r.exits.push_back(st); });
    // Taken apart by the tests as (child, error).
    if (!spawned.ok())
      return {nullptr, spawned.error().code};
    return {std::move(spawned).value(), std::error_code()};
  }

  outcome run(proc::process_scope& scope, std::vector<std::string> argv,
              std::optional<std::string> stdin_data = std::nullopt) {
    proc::spawn_options o;
    o.argv = std::move(argv);
    o.stdin_data = std::move(stdin_data);
    o.drain_idle = 50ms;
    outcome r;
    auto [child, ec] = try_start(scope, o, r);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(run_until([&] { return r.done(); })) << "no completion";
    return r;
  }

  void terminate(proc::process_scope& scope) {
    bool done = false;
    scope.terminate(200ms, [&] { done = true; });
    EXPECT_TRUE(run_until([&] { return done; }));
  }

  asio::io_context io_;
  proc::process_reaper reaper_{io_};
};

TEST(RttimeTag, RoundTripsAndIgnoresOrdinaryLimits) {
  const std::uint64_t tag = proc::rttime_tag(42);
  EXPECT_GE(tag, std::uint64_t{1} << 62);
  EXPECT_EQ(proc::rttime_tag_serial(tag), std::optional<std::uint64_t>(42));
  EXPECT_EQ(proc::rttime_tag_serial(200000), std::nullopt); // what rtkit sets
  EXPECT_EQ(proc::rttime_tag_serial(~std::uint64_t{0}), std::nullopt);
}

TEST(ProcTable, StartTicksAreOnTheBootTicksClock) {
  const auto self = proc::detail::read_proc_entry(::getpid());
  ASSERT_TRUE(self);
  const std::uint64_t now = proc::detail::boot_ticks_now();
  EXPECT_GT(self->start_ticks, 0u);
  EXPECT_LE(self->start_ticks, now);
  EXPECT_EQ(self->ppid, ::getppid());
}

using CgroupContainment = ContainedProcesses;

TEST_F(CgroupContainment, ChildrenAreBornInTheScopesCgroupWithPosixSpawnsSetUp) {
  if (!contain(proc::containment_mode::cgroup))
    GTEST_SKIP() << "this machine cannot create cgroups";
  proc::process_scope scope(io_, reaper_);
  ASSERT_STREQ(scope.mechanism(), "cgroup");
  ASSERT_NE(scope.spawn_target(), nullptr);

  // In the request's cgroup from the start.
  outcome r = run(scope, {"/bin/cat", "/proc/self/cgroup"});
  EXPECT_NE(r.out.find("0::/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/agentrt-" + std::to_string(::getpid()) + "/req-"), std::string::npos)
      << r.out;

  // PATH lookup and stdin.
  r = run(scope, {"cat"}, "fed\n");
  EXPECT_EQ(r.out, "fed\n");
  EXPECT_EQ(r.exits.at(0).exit_code, 0);

  // Its own process group.
  r = run(scope, {"/bin/sh", "-c", "cut -d' ' -f5 /proc/$$/stat; echo $$"});
  const auto nl = r.out.find('\n');
  ASSERT_NE(nl, std::string::npos) << r.out;
  EXPECT_EQ(r.out.substr(0, nl + 1), r.out.substr(nl + 1)) << "pgid != pid: " << r.out;

  // Only 0-2 inherited (3 is ls's own directory handle), even a descriptor without O_CLOEXEC.
  const int stray = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(stray, 3);
  r = run(scope, {"/bin/ls", "/proc/self/fd"});
  ::close(stray);
  EXPECT_EQ(r.out, "0\n1\n2\n3\n");

  // Empty mask and default dispositions, whatever the runtime blocks or ignores.
  const auto old_pipe = std::signal(SIGPIPE, SIG_IGN);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigset_t old_mask;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr1, &old_mask), 0);
  r = run(scope, {"/bin/grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"});
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  std::signal(SIGPIPE, old_pipe);
  unsigned long long blocked = ~0ull;
  unsigned long long ignored = ~0ull;
  ASSERT_EQ(std::sscanf(r.out.c_str(), "SigBlk: %llx SigIgn: %llx", &blocked, &ignored), 2)
      << r.out;
  EXPECT_EQ(blocked, 0u);
  EXPECT_EQ(ignored, 0u);

  // The marker variable still comes along.
  r = run(scope, {"/bin/sh", "-c", "echo $AGENTRT_SCOPE"});
  EXPECT_EQ(r.out, scope.id() + "\n");
}

TEST_F(CgroupContainment, PtyChildIsBornInTheCgroupAsASessionLeaderOnItsTerminal) {
  if (!contain(proc::containment_mode::cgroup))
    GTEST_SKIP() << "this machine cannot create cgroups";
  proc::process_scope scope(io_, reaper_);
  ASSERT_NE(scope.spawn_target(), nullptr);
  proc::spawn_options o;
  o.argv = {"/bin/sh", "-c",
            "tty; stty size; test -t 0 && test -t 1 && test -t 2 && echo all-terminal; "
            "[ \"$(cut -d' ' -f5,6 /proc/$$/stat)\" = \"$$ $$\" ] && echo session-leader; "
            "grep -c '/req-' /proc/self/cgroup; trap 'echo got-int; exit 0' INT; "
            "IFS= read -r line; echo \"got:$line\"; while :; do sleep 0.02; done"};
  o.pty = proc::terminal_size{91, 17};
  o.drain_idle = 50ms;
  outcome r;
  auto [child, ec] = try_start(scope, o, r);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(child->write_stdin("typed\n"));
  ASSERT_TRUE(run_until([&] { return r.out.find("got:typed\r\n") != std::string::npos; })) << r.out;
  EXPECT_FALSE(child->signal(SIGINT)); // to the terminal's foreground group
  ASSERT_TRUE(run_until([&] { return r.done(); })) << r.out;
  EXPECT_EQ(r.exits[0].exit_code, 0) << r.out;
  for (const char* want : {"/dev/pts/", "\r\n17 91\r\n", "all-terminal\r\n", "session-leader\r\n",
                           "\r\n1\r\n", "got-int\r\n"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << " missing from " << r.out;
  terminate(scope);
}

TEST_F(CgroupContainment, SpawnErrorsAreReportedLikePosixSpawnsAndLeakNothing) {
  if (!contain(proc::containment_mode::cgroup))
    GTEST_SKIP() << "this machine cannot create cgroups";
  proc::process_scope scope(io_, reaper_);
  const int fds_before = count_own_fds();
  outcome never;
  proc::spawn_options o;
  o.argv = {"/nonexistent/agentrt-no-such-binary"};
  auto [child, ec] = try_start(scope, o, never);
  EXPECT_EQ(child, nullptr);
  EXPECT_TRUE(ec == std::errc::no_such_file_or_directory) << ec.message();

  o.argv = {"agentrt-no-such-binary-on-path"};
  std::tie(child, ec) = try_start(scope, o, never);
  EXPECT_EQ(child, nullptr);
  EXPECT_TRUE(ec == std::errc::no_such_file_or_directory) << ec.message();

  char tmpl[] = "/tmp/agentrt-containment-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::ofstream(std::string(tmpl) + "/file") << "x";
  ::chmod((std::string(tmpl) + "/file").c_str(), 0644);
  o.argv = {std::string(tmpl) + "/file"}; // exists, not executable
  std::tie(child, ec) = try_start(scope, o, never);
  EXPECT_EQ(child, nullptr);
  EXPECT_TRUE(ec == std::errc::permission_denied) << ec.message();

  o.argv = {"/bin/true"};
  o.cwd = std::string(tmpl) + "/file/sub";
  std::tie(child, ec) = try_start(scope, o, never);
  EXPECT_EQ(child, nullptr);
  EXPECT_TRUE(ec == std::errc::not_a_directory) << ec.message();
  std::filesystem::remove_all(tmpl);

  io_.restart();
  io_.run_for(50ms);
  EXPECT_TRUE(never.exits.empty());
  EXPECT_EQ(count_own_fds(), fds_before);
  // The failed children were reaped, and nothing of them is left in the cgroup.
  EXPECT_TRUE(scope.empty());
}

TEST_F(CgroupContainment, EscapeeWithoutMarkerIsAMemberAndDiesWithTheScope) {
  if (!contain(proc::containment_mode::cgroup))
    GTEST_SKIP() << "this machine cannot create cgroups";
  std::string cgroup;
  {
    proc::process_scope scope(io_, reaper_);
    proc::process_scope other(io_, reaper_);
    run(scope, {"/bin/sh", "-c", "setsid -f env -i /bin/sleep 100.601 >/dev/null 2>&1"});
    run(other, {"/bin/sh", "-c", "setsid -f env -i /bin/sleep 100.602 >/dev/null 2>&1"});
    ASSERT_TRUE(run_until([] {
      return find_by_argv({"/bin/sleep", "100.601"}).size() == 1 &&
             find_by_argv({"/bin/sleep", "100.602"}).size() == 1;
    }));
    const pid_t escapee = find_by_argv({"/bin/sleep", "100.601"})[0];
    EXPECT_FALSE(scope.empty());
    EXPECT_EQ(scope.find_members(), std::vector<pid_t>{escapee});
    // The cgroup v2 line ("0::PATH"; a hybrid layout lists the v1 hierarchies first).
    const std::string all = "\n" + read_all("/proc/" + std::to_string(escapee) + "/cgroup");
    const auto v2 = all.find("\n0::");
    ASSERT_NE(v2, std::string::npos) << all;
    cgroup = all.substr(v2 + 4, all.find('\n', v2 + 1) - v2 - 4);

    terminate(scope);
    EXPECT_TRUE(scope.empty());
    EXPECT_EQ(scope.survivors(), 0u);
    EXPECT_TRUE(find_by_argv({"/bin/sleep", "100.601"}).empty());
    // The other scope's escapee is untouched until its scope goes: destroying a scope kills
    // what is left in its cgroup.
    EXPECT_EQ(find_by_argv({"/bin/sleep", "100.602"}).size(), 1u);
  }
  EXPECT_TRUE(run_until([] { return find_by_argv({"/bin/sleep", "100.602"}).empty(); }));
  // And the cgroups are gone (their processes may need a moment to die first).
  EXPECT_NE(cgroup.find("/agentrt-" + std::to_string(::getpid()) + "/req-"), std::string::npos)
      << cgroup;
  // Below the containment's directory of request cgroups.
  const std::string dir =
      reaper_.active_containment()->cgroup_path() + cgroup.substr(cgroup.find("/req-"));
  reaper_.active_containment()->sweep(1s);
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
}

TEST_F(CgroupContainment, WithoutClone3TheForkedChildJoinsBeforeItExecs) {
  if (!contain(proc::containment_mode::cgroup))
    GTEST_SKIP() << "this machine cannot create cgroups";
  proc::process_scope scope(io_, reaper_);
  // No directory descriptor: the path a kernel or seccomp profile without clone3 takes.
  const proc::cgroup_target fallback{-1, scope.spawn_target()->procs_fd};
  char tmpl[] = "/tmp/agentrt-containment-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string out_path = std::string(tmpl) + "/out";
  const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(out, 3);
  std::vector<std::string> argv_strings = {"/bin/cat", "/proc/self/cgroup"};
  std::vector<char*> argv = {argv_strings[0].data(), argv_strings[1].data(), nullptr};
  char* envp[] = {nullptr};
  proc::exec_plan plan;
  plan.paths = proc::exec_candidates("/bin/cat");
  plan.argv = argv.data();
  plan.envp = envp;
  plan.stdout_fd = out;
  plan.stderr_fd = out;
  const auto spawned = proc::spawn_in_cgroup(plan, fallback);
  ::close(out);
  ASSERT_TRUE(spawned.ok()) << spawned.error().message();
  const pid_t pid = spawned.value();
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(read_all(out_path).find("/agentrt-" + std::to_string(::getpid()) + "/req-"),
            std::string::npos)
      << read_all(out_path);

  // And a failure to join is a spawn error, not a process running outside.
  const proc::cgroup_target broken{-1, out}; // closed by now: EBADF in the child
  EXPECT_FALSE(proc::spawn_in_cgroup(plan, broken).ok());
  std::filesystem::remove_all(tmpl);
}

using SubreaperContainment = ContainedProcesses;

TEST_F(SubreaperContainment, OrphansAreClaimedByMarkThenByStartTime) {
  ASSERT_TRUE(contain(proc::containment_mode::subreaper));
  auto first = std::make_unique<proc::process_scope>(io_, reaper_);
  ASSERT_STREQ(first->mechanism(), "subreaper");
  ASSERT_TRUE(first->rttime_tag());
  // Ticks are 10 ms: the second scope must begin visibly later.
  std::this_thread::sleep_for(30ms);
  proc::process_scope second(io_, reaper_);

  // Marked: each scope's escapee is its own, although both were in flight.
  run(*first, {"/bin/sh", "-c", "setsid -f env -i /bin/sleep 100.611 >/dev/null 2>&1"});
  run(second, {"/bin/sh", "-c", "setsid -f env -i /bin/sleep 100.612 >/dev/null 2>&1"});
  // Unmarked (the limit reset), started while both were in flight: nobody's yet.
  run(*first, {"/bin/sh", "-c",
               "setsid -f bash -c 'ulimit -R unlimited; exec -c /bin/sleep 100.613' "
               ">/dev/null 2>&1"});
  ASSERT_TRUE(run_until([] {
    return find_by_argv({"/bin/sleep", "100.611"}).size() == 1 &&
           find_by_argv({"/bin/sleep", "100.612"}).size() == 1 &&
           find_by_argv({"/bin/sleep", "100.613"}).size() == 1;
  }));
  const pid_t marked_first = find_by_argv({"/bin/sleep", "100.611"})[0];
  const pid_t marked_second = find_by_argv({"/bin/sleep", "100.612"})[0];
  const pid_t unmarked = find_by_argv({"/bin/sleep", "100.613"})[0];
  EXPECT_EQ(proc::detail::read_proc_entry(unmarked)->ppid, ::getpid());
  EXPECT_EQ(proc::detail::rttime_soft_limit(marked_first), first->rttime_tag());
  EXPECT_EQ(proc::detail::rttime_soft_limit(unmarked), std::nullopt);
  EXPECT_EQ(first->find_members(), std::vector<pid_t>{marked_first});
  EXPECT_EQ(second.find_members(), std::vector<pid_t>{marked_second});

  // Once the first scope is gone, the second is the only request that was in flight when the
  // unmarked one started: it is the second's now.
  terminate(*first);
  first.reset();
  EXPECT_TRUE(find_by_argv({"/bin/sleep", "100.611"}).empty());
  const auto members = second.find_members();
  EXPECT_EQ(members, (std::vector<pid_t>{std::min(marked_second, unmarked),
                                         std::max(marked_second, unmarked)}));
  terminate(second);
  EXPECT_TRUE(find_by_argv({"/bin/sleep", "100.612"}).empty());
  EXPECT_TRUE(find_by_argv({"/bin/sleep", "100.613"}).empty());
}

TEST_F(SubreaperContainment, SweepKillsEverythingBelowTheRuntime) {
  ASSERT_TRUE(contain(proc::containment_mode::subreaper));
  {
    proc::process_scope scope(io_, reaper_);
    run(scope, {"/bin/sh", "-c",
                "setsid -f bash -c 'ulimit -R unlimited; exec -c /bin/sleep 100.621' "
                ">/dev/null 2>&1"});
    ASSERT_TRUE(run_until([] { return find_by_argv({"/bin/sleep", "100.621"}).size() == 1; }));
    // Destroyed without terminate(): the orphan is nobody's any more.
  }
  EXPECT_EQ(find_by_argv({"/bin/sleep", "100.621"}).size(), 1u);
  EXPECT_EQ(reaper_.active_containment()->sweep(2s), 1u);
  EXPECT_TRUE(find_by_argv({"/bin/sleep", "100.621"}).empty());
  EXPECT_EQ(reaper_.active_containment()->sweep(1s), 0u);
}

} // namespace

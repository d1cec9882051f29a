// process_scope with real process trees: membership by group, by environment marker and by
// parentage, the cheap empty() check, and terminate() with and without SIGKILL escalation.
// Survivors are looked for independently of process_scope, by argv and by environ.
#include "process/process_scope.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include "support/runtime_process.hpp"

#include "process/child_process.hpp"
#include "process/process_reaper.hpp"

namespace {

namespace proc = agentrt::runtime::process;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// Never throws: a /proc file whose process exits while it is read gives what was read (an
// istreambuf_iterator threw "No such process" from the read and failed the test).
std::string read_all(const std::filesystem::path& p) {
  return agentrt::test::read_whole_file(p.string());
}

// Live (non-zombie) processes, with a predicate on their /proc directory.
template <class Pred> std::vector<pid_t> live_processes_where(Pred pred) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const std::string stat = read_all(entry.path() / "stat");
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z')
      continue;
    if (pred(entry.path()))
      out.push_back(std::stoi(name));
  }
  return out;
}

std::vector<pid_t> find_by_argv(const std::vector<std::string>& args) {
  std::string want;
  for (const auto& a : args)
    want.append(a).push_back('\0');
  return live_processes_where(
      [&](const std::filesystem::path& dir) { return read_all(dir / "cmdline") == want; });
}

std::vector<pid_t> carrying_marker(const std::string& scope_id) {
  const std::string entry = std::string(proc::scope_env_var) + "=" + scope_id;
  return live_processes_where([&](const std::filesystem::path& dir) {
    std::istringstream env(read_all(dir / "environ"));
    std::string var;
    while (std::getline(env, var, '\0')) {
      if (var == entry)
        return true;
    }
    return false;
  });
}

bool contains(const std::vector<pid_t>& v, pid_t pid) {
  return std::find(v.begin(), v.end(), pid) != v.end();
}

struct outcome {
  std::vector<proc::exit_status> exits;
  bool done() const { return !exits.empty(); }
};

class ProcessScope : public ::testing::Test {
protected:
  void TearDown() override {
    bool done = false;
    scope_.terminate(0ms, [&] { done = true; });
    EXPECT_TRUE(run_until([&] { return done; }));
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

  std::shared_ptr<proc::child_process> start(proc::process_scope& scope, const std::string& script,
                                             outcome& r,
                                             std::chrono::milliseconds drain_idle = 100ms) {
    proc::spawn_options o;
    o.argv = {"/bin/sh", "-c", script};
    o.drain_idle = drain_idle;
    o.env = env_;
    auto child = proc::child_process::spawn(
        io_, reaper_, scope, o, [](proc::output_stream, std::string_view) {},
        [&r](proc::exit_status s) { r.exits.push_back(s); });
    EXPECT_TRUE(child.ok()) << child.error().message();
    return child.ok() ? std::move(child).value() : nullptr;
  }

  // Waits until every argv is running (as a separate process).
  bool wait_running(const std::vector<std::vector<std::string>>& argvs) {
    return run_until([&] {
      return std::all_of(argvs.begin(), argvs.end(),
                         [](const auto& a) { return find_by_argv(a).size() == 1; });
    });
  }

  asio::io_context io_;
  proc::process_reaper reaper_{io_};
  proc::process_scope scope_{io_};
  std::map<std::string, std::string> env_;
};

TEST_F(ProcessScope, IdsAreUniqueRandomHex) {
  proc::process_scope other(io_);
  EXPECT_EQ(scope_.id().size(), 32u);
  EXPECT_EQ(scope_.id().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(scope_.id(), other.id());
}

TEST_F(ProcessScope, MembersAreGroupMarkedEscapeesAndDescendantsButNotOtherScopes) {
  outcome r;
  outcome other_r;
  proc::process_scope other(io_);
  const auto child =
      start(scope_, "sleep 100.201 & setsid sleep 100.202 & setsid env -i sleep 100.203 & wait", r);
  const auto other_child = start(other, "exec sleep 100.204", other_r);
  ASSERT_TRUE(wait_running(
      {{"sleep", "100.201"}, {"sleep", "100.202"}, {"sleep", "100.203"}, {"sleep", "100.204"}}));

  const auto members = scope_.find_members();
  EXPECT_TRUE(contains(members, child->pid()));
  EXPECT_TRUE(contains(members, find_by_argv({"sleep", "100.201"})[0])); // group
  EXPECT_TRUE(contains(members, find_by_argv({"sleep", "100.202"})[0])); // marker
  EXPECT_TRUE(contains(members, find_by_argv({"sleep", "100.203"})[0])); // parent
  EXPECT_FALSE(contains(members, find_by_argv({"sleep", "100.204"})[0]));
  EXPECT_FALSE(contains(members, ::getpid()));
  EXPECT_EQ(members.size(), 4u);
  EXPECT_FALSE(scope_.empty());

  const auto other_members = other.find_members();
  EXPECT_EQ(other_members, std::vector<pid_t>{other_child->pid()});

  // Before the child_process goes: its destructor SIGKILLs the group, and the marker-less
  // escapee would then be an orphan nothing ties to the scope any more.
  bool done = false;
  bool other_done = false;
  scope_.terminate(2s, [&] { done = true; });
  other.terminate(0ms, [&] { other_done = true; });
  ASSERT_TRUE(run_until([&] { return done && other_done; }));
  for (const char* arg : {"100.201", "100.202", "100.203", "100.204"}) {
    EXPECT_TRUE(find_by_argv({"sleep", arg}).empty()) << arg;
  }
}

TEST_F(ProcessScope, TerminateKillsTheGroupAndWhatEscapedIt) {
  outcome r;
  outcome other_r;
  proc::process_scope other(io_);
  const auto child = start(scope_, "sleep 100.211 & setsid sleep 100.212 & wait", r);
  const auto other_child = start(other, "exec sleep 100.213", other_r);
  ASSERT_TRUE(wait_running({{"sleep", "100.211"}, {"sleep", "100.212"}, {"sleep", "100.213"}}));

  bool done = false;
  const auto t0 = clock_type::now();
  scope_.terminate(5s, [&] { done = true; });
  EXPECT_FALSE(done);
  ASSERT_TRUE(run_until([&] { return done; }, 3s));
  EXPECT_LT(clock_type::now() - t0, 2s); // SIGTERM was enough

  EXPECT_TRUE(find_by_argv({"sleep", "100.211"}).empty());
  EXPECT_TRUE(find_by_argv({"sleep", "100.212"}).empty());
  EXPECT_TRUE(carrying_marker(scope_.id()).empty());
  EXPECT_TRUE(scope_.empty());
  EXPECT_EQ(scope_.survivors(), 0u);
  ASSERT_TRUE(run_until([&] { return r.done(); }));
  EXPECT_EQ(r.exits[0].exit_code, 128 + SIGTERM);

  // Another scope's process is untouched.
  EXPECT_EQ(find_by_argv({"sleep", "100.213"}).size(), 1u);
  EXPECT_FALSE(other_r.done());
  bool other_done = false;
  other.terminate(0ms, [&] { other_done = true; });
  ASSERT_TRUE(run_until([&] { return other_done; }));
}

TEST_F(ProcessScope, TerminateEscalatesToSigkillAfterGrace) {
  outcome r;
  // The ignored SIGTERM is inherited by both sleeps, including the one that left the group.
  const auto child = start(scope_, "trap '' TERM; sleep 100.221 & setsid sleep 100.222 & wait", r);
  ASSERT_TRUE(wait_running({{"sleep", "100.221"}, {"sleep", "100.222"}}));

  bool done = false;
  const auto t0 = clock_type::now();
  scope_.terminate(300ms, [&] { done = true; });
  ASSERT_TRUE(run_until([&] { return done; }, 4s));
  const auto elapsed = clock_type::now() - t0;
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 2s);

  EXPECT_TRUE(find_by_argv({"sleep", "100.221"}).empty());
  EXPECT_TRUE(find_by_argv({"sleep", "100.222"}).empty());
  EXPECT_TRUE(carrying_marker(scope_.id()).empty());
  EXPECT_EQ(scope_.survivors(), 0u);
  ASSERT_TRUE(run_until([&] { return r.done(); }));
  EXPECT_EQ(r.exits[0].exit_code, 128 + SIGKILL);
}

TEST_F(ProcessScope, EmptySeesAnOrphanThatLeftTheGroup) {
  // A big environment puts the marker far past the first read chunk of /proc/PID/environ.
  env_["AGENTRT_TEST_BIG"] = std::string(100000, 'b');
  outcome r;
  const auto child = start(scope_, "setsid sleep 100.231 & exit 0", r);
  ASSERT_TRUE(run_until([&] { return r.done(); })); // after drain_idle: the sleep has stdout
  ASSERT_TRUE(wait_running({{"sleep", "100.231"}}));
  const pid_t orphan = find_by_argv({"sleep", "100.231"})[0];

  // Its group is gone and its parent is us now: only the marker ties it to the scope.
  EXPECT_FALSE(scope_.empty());
  EXPECT_EQ(scope_.find_members(), std::vector<pid_t>{orphan});

  bool done = false;
  scope_.terminate(1s, [&] { done = true; });
  ASSERT_TRUE(run_until([&] { return done; }));
  EXPECT_TRUE(scope_.empty());
  EXPECT_TRUE(find_by_argv({"sleep", "100.231"}).empty());
}

TEST_F(ProcessScope, EmptyOnceEverythingExited) {
  outcome r;
  const auto child = start(scope_, "echo hi; exit 0", r);
  ASSERT_TRUE(run_until([&] { return r.done(); }));
  EXPECT_TRUE(scope_.empty());
  EXPECT_TRUE(scope_.find_members().empty());
}

TEST_F(ProcessScope, TerminateWithNothingAliveCompletesOnTheIoContext) {
  bool done = false;
  scope_.terminate(1s, [&] { done = true; });
  EXPECT_FALSE(done);
  const auto t0 = clock_type::now();
  ASSERT_TRUE(run_until([&] { return done; }, 1s));
  EXPECT_LT(clock_type::now() - t0, 100ms);
}

TEST_F(ProcessScope, RepeatedTerminateCallsOnlyTheLatestOnDone) {
  outcome r;
  const auto child = start(scope_, "exec sleep 100.241", r);
  ASSERT_TRUE(wait_running({{"sleep", "100.241"}}));
  int first = 0;
  int second = 0;
  scope_.terminate(5s, [&] { ++first; });
  scope_.terminate(5s, [&] { ++second; });
  ASSERT_TRUE(run_until([&] { return second > 0; }));
  io_.restart();
  io_.run_for(50ms);
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
  EXPECT_TRUE(find_by_argv({"sleep", "100.241"}).empty())
      << "survivors " << scope_.survivors() << ", child exits " << r.exits.size();
}

} // namespace

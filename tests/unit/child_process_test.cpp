// child_process against real processes: output, exit statuses, spawn options, stdin feeding,
// descriptor hygiene, backpressure and completion with pipes held by background processes;
// streamed stdin with progress, PTY mode (controlling terminal, size, resize, a REPL, EOF) and
// signals.
#include "process/child_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include "support/runtime_process.hpp"

namespace {

namespace proc = agentrt::runtime::process;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// Everything one child reported through its handlers.
struct outcome {
  std::string out;
  std::string err;
  std::string pty;
  std::vector<proc::exit_status> exits;
  bool done() const { return !exits.empty(); }
};

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
  return n; // includes the descriptor of dir itself, as consistently as before and after
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
    // Never throws for a process that exits meanwhile (an istreambuf_iterator did).
    const std::string got = agentrt::test::read_whole_file((entry.path() / "cmdline").string());
    if (got != want)
      continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto paren = line.rfind(')');
    if (paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] == 'Z')
      continue;
    out.push_back(std::stoi(name));
  }
  return out;
}

// wchar from /proc/PID/io: how many bytes a writer has got out so far.
long long written_chars(pid_t pid) {
  std::ifstream io("/proc/" + std::to_string(pid) + "/io");
  std::string key;
  long long value = -1;
  while (io >> key >> value) {
    if (key == "wchar:")
      return value;
  }
  return -1;
}

// The exact text of `seq 1 N`, produced on demand so a 64 MiB stream can be checked byte by
// byte without keeping a copy of it.
class seq_text {
public:
  // Consumes chunk; false at the first byte that differs from what seq prints.
  bool match(std::string_view chunk) {
    while (!chunk.empty()) {
      if (pos_ == line_.size())
        next_line();
      const std::size_t n = std::min(chunk.size(), line_.size() - pos_);
      if (chunk.compare(0, n, line_, pos_, n) != 0)
        return false;
      pos_ += n;
      chunk.remove_prefix(n);
    }
    return true;
  }

private:
  void next_line() {
    // Decimal increment in place: to_string for 8 million lines is slow in a Debug build.
    std::size_t i = digits_.size();
    while (i > 0 && digits_[i - 1] == '9')
      digits_[--i] = '0';
    if (i == 0) {
      digits_.insert(digits_.begin(), '1');
    } else {
      ++digits_[i - 1];
    }
    line_ = digits_;
    line_.push_back('\n');
    pos_ = 0;
  }

  std::string digits_ = "0";
  std::string line_;
  std::size_t pos_ = 0;
};

class ChildProcess : public ::testing::Test {
protected:
  void SetUp() override {
    // As the runtime's main does; children must still get SIGPIPE at its default.
    old_sigpipe_ = std::signal(SIGPIPE, SIG_IGN);
  }

  void TearDown() override {
    // Whatever a test left in the background (sleeps holding pipes) dies with the test.
    bool done = false;
    scope_.terminate(0ms, [&] { done = true; });
    EXPECT_TRUE(run_until([&] { return done; }, 5s));
    std::signal(SIGPIPE, old_sigpipe_);
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

  void run_for(std::chrono::milliseconds d) {
    io_.restart();
    io_.run_for(d);
  }

  static proc::spawn_options shell(const std::string& script) {
    proc::spawn_options o;
    o.argv = {"/bin/sh", "-c", script};
    return o;
  }

  std::pair<std::shared_ptr<proc::child_process>, std::error_code>
  try_start(const proc::spawn_options& o, outcome& r) {
    auto spawned = proc::child_process::spawn(
        io_, reaper_, scope_, o,
        [&r](proc::output_stream s, std::string_view chunk) {
          switch (s) {
          case proc::output_stream::stdout_stream:
            r.out.append(chunk);
            break;
          case proc::output_stream::stderr_stream:
            r.err.append(chunk);
            break;
          case proc::output_stream::pty:
            r.pty.append(chunk);
            break;
          }
        },
        [&r](proc::exit_status st) { r.exits.push_back(st); });
    // Taken apart by the tests as (child, error).
    if (!spawned.ok())
      return {nullptr, spawned.error().code};
    return {std::move(spawned).value(), std::error_code()};
  }

  std::shared_ptr<proc::child_process> start(const proc::spawn_options& o, outcome& r) {
    auto [child, ec] = try_start(o, r);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_NE(child, nullptr);
    return child;
  }

  outcome run(const proc::spawn_options& o) {
    outcome r;
    const auto child = start(o, r);
    EXPECT_TRUE(run_until([&] { return r.done(); })) << "no completion for " << o.argv.back();
    return r;
  }

  asio::io_context io_;
  proc::process_reaper reaper_{io_};
  proc::process_scope scope_{io_};
  void (*old_sigpipe_)(int) = SIG_DFL;
};

TEST_F(ChildProcess, StdoutAndStderrArriveCompleteAndInOrderPerStream) {
  const outcome r =
      run(shell("i=1; while [ $i -le 300 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done"));
  std::string want_out;
  std::string want_err;
  for (int i = 1; i <= 300; ++i) {
    want_out += "out" + std::to_string(i) + "\n";
    want_err += "err" + std::to_string(i) + "\n";
  }
  EXPECT_EQ(r.out, want_out);
  EXPECT_EQ(r.err, want_err);
  ASSERT_EQ(r.exits.size(), 1u);
  EXPECT_EQ(r.exits[0].exit_code, 0);
  EXPECT_EQ(r.exits[0].term_signal, 0);
}

TEST_F(ChildProcess, ExitHandlerRunsExactlyOnce) {
  outcome r;
  const auto child = start(shell("echo hi"), r);
  ASSERT_TRUE(run_until([&] { return r.done(); }));
  run_for(100ms);
  EXPECT_EQ(r.exits.size(), 1u);
  EXPECT_EQ(r.out, "hi\n");
}

TEST_F(ChildProcess, ExitCodesAreReported) {
  EXPECT_EQ(run(shell("true")).exits.at(0).exit_code, 0);
  EXPECT_EQ(run(shell("exit 3")).exits.at(0).exit_code, 3);
  const outcome missing = run(shell("agentrt-no-such-command-xyz"));
  EXPECT_EQ(missing.exits.at(0).exit_code, 127);
  EXPECT_EQ(missing.exits.at(0).term_signal, 0);
  EXPECT_NE(missing.err.find("agentrt-no-such-command-xyz"), std::string::npos) << missing.err;
}

TEST_F(ChildProcess, TerminateReports128PlusSigterm) {
  outcome r;
  const auto child = start(shell("echo ready; exec sleep 100.111"), r);
  ASSERT_TRUE(run_until([&] { return r.out == "ready\n"; }));
  const auto t0 = clock_type::now();
  child->terminate(5s);
  ASSERT_TRUE(run_until([&] { return r.done(); }, 3s));
  EXPECT_LT(clock_type::now() - t0, 2s); // SIGTERM did it, not the SIGKILL after grace
  EXPECT_EQ(r.exits[0].exit_code, 128 + SIGTERM);
  EXPECT_EQ(r.exits[0].term_signal, SIGTERM);
}

TEST_F(ChildProcess, SigkillIsReportedAs137) {
  outcome r;
  const auto child = start(shell("echo ready; exec sleep 100.112"), r);
  ASSERT_TRUE(run_until([&] { return r.out == "ready\n"; }));
  ASSERT_EQ(::kill(child->pid(), SIGKILL), 0);
  ASSERT_TRUE(run_until([&] { return r.done(); }));
  EXPECT_EQ(r.exits[0].exit_code, 128 + SIGKILL);
  EXPECT_EQ(r.exits[0].term_signal, SIGKILL);
}

TEST_F(ChildProcess, TerminateEscalatesToSigkillWhenSigtermIsIgnored) {
  outcome r;
  const auto child = start(shell("trap '' TERM; echo ready; exec sleep 100.113"), r);
  ASSERT_TRUE(run_until([&] { return r.out == "ready\n"; }));
  const auto t0 = clock_type::now();
  child->terminate(300ms);
  ASSERT_TRUE(run_until([&] { return r.done(); }, 3s));
  const auto elapsed = clock_type::now() - t0;
  EXPECT_GE(elapsed, 290ms);
  EXPECT_LT(elapsed, 2s);
  EXPECT_EQ(r.exits[0].exit_code, 128 + SIGKILL);
  EXPECT_EQ(r.exits[0].term_signal, SIGKILL);
}

TEST_F(ChildProcess, PwdNamesTheChildsCwdNotTheRuntimes) {
  // `env` is not a shell, so nothing fixes PWD up for it: what it prints is what was passed.
  char tmpl[] = "/tmp/agentrt-child-process-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string base = tmpl;
  proc::spawn_options o;
  o.argv = {"/usr/bin/env"};
  o.cwd = base + "/work/./sub/..";
  outcome r = run(o);
  EXPECT_NE(r.out.find("\nPWD=" + base + "/work\n"), std::string::npos) << r.out;

  o.env = {{"PWD", "/chosen"}}; // an explicit PWD is the caller's choice
  r = run(o);
  EXPECT_NE(r.out.find("\nPWD=/chosen\n"), std::string::npos) << r.out;

  std::error_code ignored;
  std::filesystem::remove_all(base, ignored);
}

TEST_F(ChildProcess, MissingCwdIsCreatedAndUnusableCwdIsASpawnError) {
  char tmpl[] = "/tmp/agentrt-child-process-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string base = tmpl;

  proc::spawn_options o = shell("pwd");
  o.cwd = base + "/a/b/c";
  const outcome r = run(o);
  EXPECT_EQ(r.out, o.cwd + "\n");
  struct stat st {};
  ASSERT_EQ(::stat(o.cwd.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));

  std::ofstream(base + "/file") << "x";
  outcome never;
  o.cwd = base + "/file/sub";
  const auto [child, ec] = try_start(o, never);
  EXPECT_EQ(child, nullptr);
  EXPECT_TRUE(ec == std::errc::not_a_directory) << ec.message();
  run_for(50ms);
  EXPECT_TRUE(never.out.empty() && never.err.empty() && never.exits.empty());

  std::error_code ignored;
  std::filesystem::remove_all(base, ignored);
}

TEST_F(ChildProcess, EnvironmentIsMergedOverTheRuntimesAndCarriesTheScope) {
  ::setenv("AGENTRT_TEST_INHERITED", "from-runtime", 1);
  ::setenv("AGENTRT_TEST_OVERRIDDEN", "old", 1);
  proc::spawn_options o =
      shell("echo \"$AGENTRT_TEST_INHERITED|$AGENTRT_TEST_OVERRIDDEN|$AGENTRT_TEST_ADDED|"
            "$AGENTRT_SCOPE\"");
  o.env = {{"AGENTRT_TEST_OVERRIDDEN", "new"},
           {"AGENTRT_TEST_ADDED", "added"},
           {"AGENTRT_SCOPE", "forged"}};
  const outcome r = run(o);
  ::unsetenv("AGENTRT_TEST_INHERITED");
  ::unsetenv("AGENTRT_TEST_OVERRIDDEN");
  EXPECT_EQ(r.out, "from-runtime|new|added|" + scope_.id() + "\n");
}

TEST_F(ChildProcess, StdinDataIsFedAndClosed) {
  proc::spawn_options o;
  o.argv = {"/bin/cat"};
  o.stdin_data = "hello\nworld\n";
  const outcome r = run(o);
  EXPECT_EQ(r.out, "hello\nworld\n");
  EXPECT_EQ(r.exits.at(0).exit_code, 0);
}

TEST_F(ChildProcess, LargeStdinIsReadCompletely) {
  std::string data(1024 * 1024, '\0');
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>('a' + (i * 7) % 26);
  proc::spawn_options o;
  o.argv = {"/bin/cat"};
  o.stdin_data = data;
  const outcome r = run(o);
  EXPECT_EQ(r.out.size(), data.size());
  EXPECT_TRUE(r.out == data);
}

TEST_F(ChildProcess, ChildIgnoringStdinBlocksNeitherTheRuntimeNorItsCompletion) {
  // Default SIGPIPE here: a write to the abandoned pipe that raised it would kill the test.
  std::signal(SIGPIPE, SIG_DFL);
  // The child waits for a file the test creates (not for a time), so that "not done yet" holds
  // however slowly a loaded machine runs the loop.
  char tmpl[] = "/tmp/agentrt-child-process-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string go = std::string(tmpl) + "/go";
  proc::spawn_options o = shell("while [ ! -e '" + go + "' ]; do sleep 0.01; done; echo done");
  o.stdin_data = std::string(10 * 1024 * 1024, 'x');
  outcome r;
  const auto child = start(o, r);

  // The loop keeps running while 10 MiB of stdin wait for a reader that never comes.
  bool timer_fired = false;
  asio::steady_timer timer(io_, 50ms);
  timer.async_wait([&](const std::error_code& ec) { timer_fired = !ec; });
  ASSERT_TRUE(run_until([&] { return timer_fired; }, 10s)) << "io_context blocked by stdin";
  EXPECT_FALSE(r.done());

  // And the unread stdin does not hold up the child's completion.
  std::ofstream(go) << "";
  ASSERT_TRUE(run_until([&] { return r.done(); }, 10s));
  EXPECT_EQ(r.out, "done\n");
  EXPECT_EQ(r.exits[0].exit_code, 0);
  std::error_code ignored;
  std::filesystem::remove_all(tmpl, ignored);
}

TEST_F(ChildProcess, MissingBinaryIsASpawnError) {
  outcome never;
  proc::spawn_options o;
  o.argv = {"/nonexistent/agentrt-no-such-binary"};
  auto [child, ec] = try_start(o, never);
  EXPECT_EQ(child, nullptr);
  EXPECT_TRUE(ec == std::errc::no_such_file_or_directory) << ec.message();

  o.argv = {"agentrt-no-such-binary-on-path"};
  std::tie(child, ec) = try_start(o, never);
  EXPECT_EQ(child, nullptr);
  EXPECT_TRUE(ec == std::errc::no_such_file_or_directory) << ec.message();

  o.argv.clear();
  std::tie(child, ec) = try_start(o, never);
  EXPECT_EQ(child, nullptr);
  EXPECT_TRUE(ec == std::errc::invalid_argument) << ec.message();

  run_for(50ms);
  EXPECT_TRUE(never.out.empty() && never.err.empty() && never.exits.empty());
}

TEST_F(ChildProcess, FiftySpawnsLeakNoDescriptors) {
  const int before = count_own_fds();
  std::vector<outcome> results(50);
  std::vector<std::shared_ptr<proc::child_process>> children;
  for (std::size_t i = 0; i < results.size(); ++i) {
    proc::spawn_options o = shell("echo " + std::to_string(i) + "; echo e >&2");
    if (i % 2 == 0)
      o.stdin_data = "in"; // the stdin pipe path too
    children.push_back(start(o, results[i]));
  }
  ASSERT_TRUE(run_until([&] {
    for (const auto& r : results) {
      if (!r.done())
        return false;
    }
    return true;
  }));
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].out, std::to_string(i) + "\n");
  }
  children.clear();
  EXPECT_EQ(count_own_fds(), before);
}

TEST_F(ChildProcess, ChildInheritsOnlyStandardDescriptors) {
  // Deliberately without O_CLOEXEC, like a descriptor some library forgot to protect.
  const int stray = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(stray, 3);
  proc::spawn_options o;
  o.argv = {"/bin/ls", "/proc/self/fd"};
  const outcome r = run(o);
  ::close(stray);
  // 3 is ls's own handle on the directory it lists.
  EXPECT_EQ(r.out, "0\n1\n2\n3\n");
}

TEST_F(ChildProcess, ChildGetsEmptySignalMaskAndDefaultDispositions) {
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigset_t old_mask;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr1, &old_mask), 0);
  proc::spawn_options o;
  o.argv = {"/bin/grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"};
  const outcome r = run(o);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);

  // SIGPIPE is ignored in this process (SetUp) and SIGUSR1 blocked; neither may carry over.
  unsigned long long blocked = ~0ull;
  unsigned long long ignored = ~0ull;
  ASSERT_EQ(std::sscanf(r.out.c_str(), "SigBlk: %llx SigIgn: %llx", &blocked, &ignored), 2)
      << r.out;
  EXPECT_EQ(blocked, 0u);
  // glibc 2.36's posix_spawn leaves its two internal signals (32 and 33, below SIGRTMIN) at
  // SIG_IGN in the child whatever the attributes say; a glibc child re-installs them at
  // startup, and nothing else uses them.
  const unsigned long long glibc_internal = (1ull << (32 - 1)) | (1ull << (33 - 1));
  EXPECT_EQ(ignored & ~glibc_internal, 0u) << r.out;
  EXPECT_EQ(ignored & (1ull << (SIGPIPE - 1)), 0u);
}

TEST_F(ChildProcess, PipelineWriterDiesOfSigpipe) {
  // With SIGPIPE left ignored, `yes` would report a write error and exit 1 instead.
  const outcome r = run(shell("(yes; echo \"yes exited $?\" >&2) | head -c 1 >/dev/null"));
  EXPECT_EQ(r.err, "yes exited 141\n");
}

TEST_F(ChildProcess, LargeOutputArrivesByteExact) {
  constexpr std::size_t total = 64u * 1024 * 1024;
  outcome r;
  seq_text expected;
  std::size_t received = 0;
  std::size_t chunks = 0;
  bool matches = true;
  auto child = proc::child_process::spawn(
      io_, reaper_, scope_, shell("seq 1 10000000 | head -c " + std::to_string(total)),
      [&](proc::output_stream s, std::string_view chunk) {
        if (s == proc::output_stream::stderr_stream) {
          r.err.append(chunk);
          return;
        }
        EXPECT_LE(chunk.size(), 64u * 1024); // the fixed read buffer
        matches = matches && expected.match(chunk);
        received += chunk.size();
        ++chunks;
      },
      [&](proc::exit_status st) { r.exits.push_back(st); });
  ASSERT_TRUE(child.ok()) << child.error().message();
  ASSERT_TRUE(run_until([&] { return r.done(); }, 60s));
  EXPECT_EQ(received, total);
  EXPECT_TRUE(matches) << "stream differs from seq's output";
  EXPECT_GE(chunks, total / (64u * 1024));
  EXPECT_EQ(r.err, ""); // seq died of SIGPIPE quietly
  EXPECT_EQ(r.exits[0].exit_code, 0);
}

TEST_F(ChildProcess, PausedOutputBlocksTheChildUntilResumed) {
  proc::spawn_options o;
  o.argv = {"seq", "1", "1000000"};
  o.read_buffer_bytes = 4096;
  outcome r;
  const auto child = start(o, r);
  child->pause_output();
  EXPECT_TRUE(child->output_paused());

  run_for(300ms);
  const std::size_t seen = r.out.size();
  const long long progress = written_chars(child->pid());
  run_for(200ms);
  // At most the one read that was already in flight, and the writer stuck on a full pipe.
  EXPECT_LE(seen, 4096u);
  EXPECT_EQ(r.out.size(), seen);
  ASSERT_GT(progress, 0);
  EXPECT_EQ(written_chars(child->pid()), progress);
  EXPECT_LT(progress, 1000000);
  EXPECT_FALSE(r.done());

  child->resume_output();
  EXPECT_FALSE(child->output_paused());
  ASSERT_TRUE(run_until([&] { return r.done(); }));
  seq_text expected;
  EXPECT_TRUE(expected.match(r.out));
  EXPECT_EQ(r.out.size(), 6888896u); // bytes of `seq 1 1000000`
  EXPECT_EQ(r.exits[0].exit_code, 0);
}

TEST_F(ChildProcess, PausedOutputKeepsTheDrainClockStopped) {
  // The main process exits at once; a background writer starts only later. While paused the
  // pipes are not idle, merely unread, so drain_idle must not cut the output short.
  proc::spawn_options o = shell("(sleep 0.2; seq 1 200000) & exit 0");
  o.drain_idle = 100ms;
  outcome r;
  const auto child = start(o, r);
  child->pause_output();
  run_for(600ms);
  EXPECT_FALSE(r.done());
  child->resume_output();
  ASSERT_TRUE(run_until([&] { return r.done(); }));
  seq_text expected;
  EXPECT_TRUE(expected.match(r.out));
  EXPECT_EQ(r.out.size(), 1288895u); // bytes of `seq 1 200000`
}

TEST_F(ChildProcess, SlowOutputHandlerDoesNotLookLikeIdlePipes) {
  // The main process exits at once; the background writer then waits on a full pipe while
  // each chunk takes us longer than drain_idle to handle. Pending bytes are not idleness.
  proc::spawn_options o = shell("seq 1 30000 & exit 0");
  o.drain_idle = 30ms;
  o.read_buffer_bytes = 32 * 1024;
  outcome r;
  auto child = proc::child_process::spawn(
      io_, reaper_, scope_, o,
      [&](proc::output_stream, std::string_view chunk) {
        r.out.append(chunk);
        std::this_thread::sleep_for(80ms); // a busy io thread
      },
      [&](proc::exit_status st) { r.exits.push_back(st); });
  ASSERT_TRUE(child.ok()) << child.error().message();
  ASSERT_TRUE(run_until([&] { return r.done(); }));
  seq_text expected;
  EXPECT_TRUE(expected.match(r.out));
  EXPECT_EQ(r.out.size(), 168894u); // bytes of `seq 1 30000`
}

TEST_F(ChildProcess, BackgroundProcessHoldingThePipesDoesNotDelayCompletion) {
  proc::spawn_options o = shell("sleep 30.456 & echo main-done");
  o.drain_idle = 200ms;
  outcome r;
  const auto t0 = clock_type::now();
  const auto child = start(o, r);
  ASSERT_TRUE(run_until([&] { return r.done(); }, 3s));
  const auto elapsed = clock_type::now() - t0;
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_EQ(r.out, "main-done\n");
  EXPECT_EQ(r.exits[0].exit_code, 0);
  EXPECT_EQ(find_by_argv({"sleep", "30.456"}).size(), 1u); // still there, TearDown kills it
}

TEST_F(ChildProcess, DestroyingARunningChildKillsItsGroupAndClosesEverything) {
  const int before = count_own_fds();
  outcome r;
  proc::spawn_options o = shell("sleep 100.789 & exec sleep 100.788");
  o.stdin_data = std::string(1024 * 1024, 'x'); // stdin write pending as well
  auto child = start(o, r);
  ASSERT_TRUE(run_until([] {
    return find_by_argv({"sleep", "100.789"}).size() == 1 &&
           find_by_argv({"sleep", "100.788"}).size() == 1;
  }));
  child.reset();
  EXPECT_EQ(count_own_fds(), before);
  EXPECT_TRUE(run_until(
      [] {
        return find_by_argv({"sleep", "100.789"}).empty() &&
               find_by_argv({"sleep", "100.788"}).empty();
      },
      2s));
  run_for(50ms);
  EXPECT_TRUE(r.exits.empty());
}

// ---- Streamed stdin -------------------------------------------------------------------------

// POSIX cksum: CRC-32 (polynomial 0x04C11DB7, most significant bit first) over the bytes and
// then the length, complemented. Order-sensitive, so a reordered chunk shows.
class posix_cksum {
public:
  posix_cksum() {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i << 24;
      for (int bit = 0; bit < 8; ++bit)
        c = (c & 0x80000000u) != 0 ? (c << 1) ^ 0x04C11DB7u : c << 1;
      table_[i] = c;
    }
  }
  void add(std::string_view data) {
    for (const char ch : data)
      step(static_cast<unsigned char>(ch));
    length_ += data.size();
  }
  // What `cksum` prints for everything added: "CRC LENGTH".
  std::string result() const {
    posix_cksum copy = *this;
    for (std::uint64_t n = length_; n != 0; n >>= 8)
      copy.step(static_cast<unsigned char>(n & 0xff));
    return std::to_string(~copy.crc_) + " " + std::to_string(length_);
  }

private:
  void step(unsigned char byte) { crc_ = (crc_ << 8) ^ table_[((crc_ >> 24) ^ byte) & 0xff]; }
  std::uint32_t table_[256];
  std::uint32_t crc_ = 0;
  std::uint64_t length_ = 0;
};

// Deterministic bytes that are not all alike (xorshift), produced chunk by chunk.
class byte_source {
public:
  std::string next(std::size_t n) {
    std::string out(n, '\0');
    for (auto& c : out) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      c = static_cast<char>(state_ >> 56);
    }
    return out;
  }

private:
  std::uint64_t state_ = 0x9E3779B97F4A7C15ull;
};

struct stdin_report {
  std::vector<std::pair<std::uint64_t, bool>> calls;
  int closed_calls() const {
    int n = 0;
    for (const auto& c : calls)
      n += c.second ? 1 : 0;
    return n;
  }
};

proc::stdin_progress_handler record_progress(stdin_report& report) {
  return
      [&report](std::uint64_t written, bool closed) { report.calls.emplace_back(written, closed); };
}

TEST_F(ChildProcess, StreamedStdinOf100MiBArrivesInOrderWithinTheCallersWindow) {
  constexpr std::size_t total = 100u * 1024 * 1024;
  constexpr std::size_t chunk = 64 * 1024;
  constexpr std::size_t window = 1024 * 1024;
  proc::spawn_options o;
  o.argv = {"cksum"};
  o.stdin_stream = true;
  stdin_report progress;
  o.on_stdin_progress = record_progress(progress);
  outcome r;
  const auto child = start(o, r);
  ASSERT_NE(child, nullptr);

  byte_source source;
  posix_cksum expected;
  std::size_t handed = 0;
  std::size_t max_pending = 0;
  bool closed = false;
  const auto t0 = clock_type::now();
  ASSERT_TRUE(run_until(
      [&] {
        // The session's window: hand over more only while little is pending.
        while (handed < total && child->stdin_pending() < window) {
          const std::string data = source.next(std::min(chunk, total - handed));
          expected.add(data);
          EXPECT_TRUE(child->write_stdin(data));
          handed += data.size();
          max_pending = std::max(max_pending, child->stdin_pending());
        }
        if (handed == total && !closed) {
          child->close_stdin();
          closed = true;
          EXPECT_FALSE(child->write_stdin("late")); // refused after close_stdin
        }
        return r.done();
      },
      300s));
  const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::printf("[ figures  ] 100 MiB streamed to stdin in %.2f s (%.0f MiB/s)\n", seconds,
              100.0 / seconds);

  EXPECT_EQ(r.out, expected.result() + "\n");
  EXPECT_EQ(r.exits.at(0).exit_code, 0);
  EXPECT_EQ(child->stdin_written(), total);
  EXPECT_EQ(child->stdin_pending(), 0u);
  EXPECT_LE(max_pending, window + chunk);
  // Progress: non-decreasing totals, coalesced (far fewer calls than chunks), closed once, last.
  ASSERT_FALSE(progress.calls.empty());
  for (std::size_t i = 1; i < progress.calls.size(); ++i)
    EXPECT_LE(progress.calls[i - 1].first, progress.calls[i].first);
  EXPECT_EQ(progress.calls.back(), std::make_pair(std::uint64_t{total}, true));
  EXPECT_EQ(progress.closed_calls(), 1);
  // How many reports the writes were coalesced into depends on scheduling (one, under
  // ThreadSanitizer's slowness, when the loop never yielded between chunks): not asserted.
}

TEST_F(ChildProcess, StreamedStdinStaysOpenUntilCloseStdin) {
  proc::spawn_options o;
  o.argv = {"/bin/cat"};
  o.stdin_stream = true;
  o.stdin_data = "first\n"; // written first, and not followed by EOF
  stdin_report progress;
  o.on_stdin_progress = record_progress(progress);
  outcome r;
  const auto child = start(o, r);
  ASSERT_TRUE(child->write_stdin("second\n"));
  ASSERT_TRUE(run_until([&] { return r.out == "first\nsecond\n"; }));
  run_for(100ms);
  EXPECT_FALSE(r.done()); // cat still waits for more
  ASSERT_FALSE(progress.calls.empty());
  EXPECT_EQ(progress.calls.back(), std::make_pair(std::uint64_t{13}, false));

  child->close_stdin();
  child->close_stdin(); // idempotent
  ASSERT_TRUE(run_until([&] { return r.done(); }));
  EXPECT_EQ(r.exits[0].exit_code, 0);
  EXPECT_EQ(progress.calls.back(), std::make_pair(std::uint64_t{13}, true));
  EXPECT_EQ(progress.closed_calls(), 1);
  EXPECT_FALSE(child->write_stdin("after"));
}

TEST_F(ChildProcess, ChildExitingWithoutReadingStdinReportsItClosed) {
  // Default SIGPIPE here: a write to the abandoned pipe that raised it would kill the test.
  std::signal(SIGPIPE, SIG_DFL);
  proc::spawn_options o = shell("head -c 1000 >/dev/null; echo read-some");
  o.stdin_stream = true;
  stdin_report progress;
  o.on_stdin_progress = record_progress(progress);
  outcome r;
  const auto child = start(o, r);
  constexpr std::size_t offered = 8u * 1024 * 1024; // far more than a pipe holds
  ASSERT_TRUE(child->write_stdin(std::string(offered, 'x')));
  ASSERT_TRUE(run_until([&] { return progress.closed_calls() == 1; }, 10s))
      << "closed stdin never reported";
  ASSERT_TRUE(run_until([&] { return r.done(); }, 10s));
  EXPECT_EQ(r.out, "read-some\n");
  EXPECT_EQ(r.exits[0].exit_code, 0);
  // What the child did not take was dropped, and the count says how much it did take.
  EXPECT_LT(child->stdin_written(), offered);
  EXPECT_GE(child->stdin_written(), 1000u);
  EXPECT_EQ(child->stdin_pending(), 0u);
  EXPECT_EQ(progress.calls.back(), std::make_pair(child->stdin_written(), true));
  EXPECT_EQ(progress.closed_calls(), 1);
  EXPECT_FALSE(child->write_stdin("more"));
}

TEST_F(ChildProcess, StdinProgressClosesAtCompletionWhenNothingWasPending) {
  proc::spawn_options o = shell("exit 4");
  o.stdin_stream = true;
  stdin_report progress;
  std::size_t exits_when_closed = 99;
  outcome r;
  o.on_stdin_progress = [&](std::uint64_t written, bool closed) {
    progress.calls.emplace_back(written, closed);
    if (closed)
      exits_when_closed = r.exits.size();
  };
  const auto child = start(o, r);
  ASSERT_TRUE(run_until([&] { return r.done(); }));
  EXPECT_EQ(r.exits[0].exit_code, 4);
  EXPECT_EQ(progress.calls, (std::vector<std::pair<std::uint64_t, bool>>{{0, true}}));
  EXPECT_EQ(exits_when_closed, 0u); // reported before the exit handler ran
  EXPECT_FALSE(child->write_stdin("late"));
}

TEST_F(ChildProcess, WriteStdinIsRefusedWithoutAStreamedStdin) {
  proc::spawn_options o;
  o.argv = {"/bin/cat"};
  o.stdin_data = "only this\n";
  outcome r;
  const auto child = start(o, r);
  EXPECT_FALSE(child->write_stdin("more"));
  ASSERT_TRUE(run_until([&] { return r.done(); }));
  EXPECT_EQ(r.out, "only this\n");
  EXPECT_EQ(child->stdin_written(), 10u);
}

// ---- Signals ----------------------------------------------------------------------------------

TEST_F(ChildProcess, SignalReachesTheProcessGroupAndIsRefusedAfterCompletion) {
  // The trap handler runs in the shell; the background sleep dies of the signal itself.
  proc::spawn_options o =
      shell("trap 'echo got-usr1; exit 7' USR1; sleep 100.321 & echo ready; wait; wait");
  outcome r;
  const auto child = start(o, r);
  ASSERT_TRUE(run_until([&] {
    return r.out == "ready\n" && find_by_argv({"sleep", "100.321"}).size() == 1;
  }));
  EXPECT_FALSE(child->signal(SIGUSR1));
  ASSERT_TRUE(run_until([&] { return r.done(); }));
  EXPECT_EQ(r.out, "ready\ngot-usr1\n");
  EXPECT_EQ(r.exits[0].exit_code, 7);
  EXPECT_TRUE(run_until(
      [] {
        return find_by_argv({"sleep", "100.321"}).empty();
      },
      2s))
      << "the signal missed the rest of the group";
  const std::error_code late = child->signal(SIGUSR1);
  EXPECT_EQ(late, std::error_code(ESRCH, std::system_category())) << late.message();
  EXPECT_EQ(child->resize(80, 24), std::error_code(ENOTTY, std::system_category()));
}

// ---- PTY mode ---------------------------------------------------------------------------------

proc::spawn_options on_terminal(std::vector<std::string> argv, unsigned short cols = 80,
                                unsigned short rows = 24) {
  proc::spawn_options o;
  o.argv = std::move(argv);
  o.pty = proc::terminal_size{cols, rows};
  o.drain_idle = 100ms;
  return o;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(ChildProcess, PtyChildLeadsASessionWhoseTerminalIsItsStdioAndHasTheSize) {
  const proc::spawn_options o = on_terminal(
      {"/bin/sh", "-c",
       "tty; stty size; test -t 0 && test -t 1 && test -t 2 && echo all-terminal; "
       "echo \"term=$TERM\"; echo err-too >&2; "
       "[ \"$(cut -d' ' -f5,6 /proc/$$/stat)\" = \"$$ $$\" ] && echo group-and-session-leader"},
      132, 43);
  outcome r;
  const auto child = start(o, r);
  EXPECT_TRUE(child->is_pty());
  ASSERT_TRUE(run_until([&] { return r.done(); }));
  EXPECT_EQ(r.exits[0].exit_code, 0) << r.pty;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  // One stream, stdout and stderr together, with the terminal's \r\n.
  EXPECT_TRUE(contains(r.pty, "/dev/pts/")) << r.pty;
  EXPECT_TRUE(contains(r.pty, "\r\n43 132\r\n")) << r.pty;
  EXPECT_TRUE(contains(r.pty, "all-terminal\r\n")) << r.pty;
  EXPECT_TRUE(contains(r.pty, "term=xterm-256color\r\n")) << r.pty;
  EXPECT_TRUE(contains(r.pty, "err-too\r\n")) << r.pty;
  EXPECT_TRUE(contains(r.pty, "group-and-session-leader\r\n")) << r.pty;
}

TEST_F(ChildProcess, PtyKeepsACallersTerm) {
  proc::spawn_options o = on_terminal({"/bin/sh", "-c", "echo \"term=$TERM\""});
  o.env = {{"TERM", "vt100"}};
  const outcome r = run(o);
  EXPECT_TRUE(contains(r.pty, "term=vt100\r\n")) << r.pty;
}

TEST_F(ChildProcess, PtyResizeReachesTheForegroundGroupAsSigwinch) {
  const proc::spawn_options o = on_terminal(
      {"/bin/sh", "-c", "trap 'stty size; exit 0' WINCH; echo ready; while :; do sleep 0.02; done"},
      80, 24);
  outcome r;
  const auto child = start(o, r);
  ASSERT_TRUE(run_until([&] { return contains(r.pty, "ready\r\n"); })) << r.pty;
  EXPECT_FALSE(child->resize(120, 40));
  ASSERT_TRUE(run_until([&] { return r.done(); })) << r.pty;
  EXPECT_TRUE(contains(r.pty, "ready\r\n40 120\r\n")) << r.pty;
  EXPECT_EQ(r.exits[0].exit_code, 0);
  EXPECT_EQ(child->resize(100, 30), std::error_code(ESRCH, std::system_category()));
}

TEST_F(ChildProcess, PtyDrivesAPythonRepl) {
  proc::spawn_options o = on_terminal({"python3", "-i", "-q"});
  stdin_report progress;
  o.on_stdin_progress = record_progress(progress);
  outcome r;
  const auto child = start(o, r);
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(run_until([&] { return contains(r.pty, ">>> "); }, 10s)) << r.pty;
  const auto t0 = clock_type::now();
  ASSERT_TRUE(child->write_stdin("1+2\n"));
  // The terminal echoes the line, then python prints the value and a new prompt.
  ASSERT_TRUE(run_until([&] { return contains(r.pty, "1+2\r\n3\r\n>>> "); }, 10s)) << r.pty;
  std::printf("[ figures  ] python3 REPL: line typed -> value read in %.2f ms\n",
              std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
  // Ctrl-D at the prompt ends the REPL.
  child->close_stdin();
  ASSERT_TRUE(run_until([&] { return r.done(); }, 10s)) << r.pty;
  EXPECT_EQ(r.exits[0].exit_code, 0);
  EXPECT_EQ(child->stdin_written(), 5u); // "1+2\n" and one ^D
  EXPECT_EQ(progress.calls.back(), std::make_pair(std::uint64_t{5}, true));
}

TEST_F(ChildProcess, PtyCloseStdinTypesEndOfFileEvenAfterAPartialLine) {
  const proc::spawn_options o = on_terminal({"/bin/cat"});
  outcome r;
  const auto child = start(o, r);
  ASSERT_TRUE(child->write_stdin("whole\n"));
  // The echo, then cat's copy.
  ASSERT_TRUE(run_until([&] { return contains(r.pty, "whole\r\nwhole\r\n"); })) << r.pty;
  ASSERT_TRUE(child->write_stdin("part"));
  child->close_stdin(); // ^D hands "part" to cat, the second ^D is the EOF
  EXPECT_FALSE(child->write_stdin("refused"));
  ASSERT_TRUE(run_until([&] { return r.done(); })) << r.pty;
  // 129 (SIGHUP) when the master was closed between cat closing its descriptors and exiting.
  EXPECT_EQ(r.exits[0].exit_code, 0);
  EXPECT_TRUE(contains(r.pty, "partpart")) << r.pty; // echo, then cat's copy
  EXPECT_EQ(child->stdin_written(), 12u);
}

TEST_F(ChildProcess, PtySignalGoesToTheForegroundJobLikeCtrlC) {
  // An interactive shell with job control runs `sleep` in its own group in the foreground. A
  // SIGINT to the shell's group would leave the sleep running; the terminal's foreground
  // group is the sleep's, and the shell carries on.
  const proc::spawn_options o = on_terminal({"/bin/sh", "-i"});
  outcome r;
  const auto child = start(o, r);
  ASSERT_TRUE(run_until([&] { return contains(r.pty, "# ") || contains(r.pty, "$ "); }, 5s))
      << r.pty;
  ASSERT_TRUE(child->write_stdin("sleep 100.654\n"));
  ASSERT_TRUE(run_until([] { return find_by_argv({"sleep", "100.654"}).size() == 1; }));
  const pid_t sleeper = find_by_argv({"sleep", "100.654"}).front();
  ASSERT_NE(::getpgid(sleeper), child->pid()) << "the shell did not use job control";
  EXPECT_FALSE(child->signal(SIGINT));
  ASSERT_TRUE(run_until([] { return find_by_argv({"sleep", "100.654"}).empty(); }, 3s));
  ASSERT_TRUE(child->write_stdin("echo alive-$((40+2))\n"));
  ASSERT_TRUE(run_until([&] { return contains(r.pty, "alive-42\r\n"); }, 5s)) << r.pty;
  EXPECT_FALSE(r.done());
  ASSERT_TRUE(child->write_stdin("exit 5\n"));
  ASSERT_TRUE(run_until([&] { return r.done(); }, 5s)) << r.pty;
  EXPECT_EQ(r.exits[0].exit_code, 5);
}

TEST_F(ChildProcess, PtySignalWithoutJobControlReachesTheShell) {
  const proc::spawn_options o =
      on_terminal({"/bin/sh", "-c",
                   "trap 'echo got-int; exit 3' INT; echo ready; while :; do sleep 0.02; done"});
  outcome r;
  const auto child = start(o, r);
  ASSERT_TRUE(run_until([&] { return contains(r.pty, "ready\r\n"); })) << r.pty;
  EXPECT_FALSE(child->signal(SIGINT));
  ASSERT_TRUE(run_until([&] { return r.done(); })) << r.pty;
  EXPECT_TRUE(contains(r.pty, "got-int\r\n")) << r.pty;
  EXPECT_EQ(r.exits[0].exit_code, 3);
}

TEST_F(ChildProcess, PtyHeldOpenByABackgroundProcessDoesNotDelayCompletion) {
  // The background sleep ignores (inherited from the shell) the hang-up its session leader's
  // exit sends and keeps the terminal open: the master never reports EIO, so completion comes
  // from drain_idle.
  const proc::spawn_options o =
      on_terminal({"/bin/sh", "-c", "trap '' HUP; sleep 30.987 & echo main-done"});
  outcome r;
  const auto t0 = clock_type::now();
  const auto child = start(o, r);
  ASSERT_TRUE(run_until([&] { return r.done(); }, 3s)) << r.pty;
  EXPECT_LT(clock_type::now() - t0, 2s);
  EXPECT_TRUE(contains(r.pty, "main-done\r\n")) << r.pty;
  EXPECT_EQ(r.exits[0].exit_code, 0);
  EXPECT_EQ(find_by_argv({"sleep", "30.987"}).size(), 1u); // still there, TearDown kills it
}

TEST_F(ChildProcess, PtyLargeOutputArrivesComplete) {
  // Everything written before the exit is read before completion, EIO then ends the stream.
  const outcome r = run(on_terminal({"seq", "1", "200000"}));
  std::string got = r.pty;
  got.erase(std::remove(got.begin(), got.end(), '\r'), got.end());
  seq_text expected;
  EXPECT_TRUE(expected.match(got));
  EXPECT_EQ(got.size(), 1288895u); // bytes of `seq 1 200000`
}

} // namespace

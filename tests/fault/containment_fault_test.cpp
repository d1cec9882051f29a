// Processes that start a new session *and* clear their environment, which neither the process
// group, nor the AGENTRT_SCOPE variable, nor a parent chain ties to their request:
//
//   setsid -f env -i /bin/sleep …
//   setsid -f bash -c 'exec -c sleep …'
//   setsid -f setpriv --reuid=65534 --regid=65534 --clear-groups sleep …
//   a perl double-fork daemon that empties %ENV, and the same ignoring SIGTERM.
//
// Each is started by a request, which then ends in each of the four ways a request ends:
// normally, by cancel_message, by its client vanishing, by the runtime getting SIGTERM. Every
// run counts the survivors (0 required), under both containment mechanisms: a cgroup per
// request (where this machine cannot create cgroups, `auto` falls back, and the test says which
// mechanism ran), and the subreaper fallback forced with --containment subreaper. Then a fork
// bomb bounded by `ulimit -u`, and two requests in flight at once, of which only one ends.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "agentrt/protocol/codec.hpp"
#include "support/program_run.hpp"
#include "support/protocol_helpers.hpp"
#include "support/runtime_fault_fixture.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;
using clock_type = std::chrono::steady_clock;

enum class request_end { normal, cancel, disconnect, sigterm };

const char* end_name(request_end e) {
  switch (e) {
  case request_end::normal:
    return "Normal";
  case request_end::cancel:
    return "Cancel";
  case request_end::disconnect:
    return "Disconnect";
  case request_end::sigterm:
    return "Sigterm";
  }
  return "unknown";
}

const char* test_name() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

// Live (not zombie) processes whose command line (arguments joined by spaces) contains needle.
std::vector<pid_t> processes_containing(const std::string& needle) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr)
    return out;
  while (const dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == ::getpid())
      continue;
    const std::string base = std::string("/proc/") + e->d_name;
    const std::string stat = read_whole_file(base + "/stat");
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z')
      continue;
    std::string cmdline = read_whole_file(base + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos)
      out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return out;
}

// Live processes whose effective uid is uid (the owner of /proc/PID).
int count_processes_of(uid_t uid) {
  int n = 0;
  DIR* d = ::opendir("/proc");
  if (d == nullptr)
    return -1;
  while (const dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0)
      continue;
    const std::string base = std::string("/proc/") + e->d_name;
    struct stat st {};
    if (::stat(base.c_str(), &st) != 0 || st.st_uid != uid)
      continue;
    const std::string stat = read_whole_file(base + "/stat");
    const auto paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z')
      ++n;
  }
  ::closedir(d);
  return n;
}

void kill_all(const std::vector<pid_t>& pids) {
  for (const pid_t pid : pids)
    ::kill(pid, SIGKILL);
}

// The cgroup2 mount point, from our own mountinfo ("" if none).
std::string cgroup2_mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto dash = line.find(" - cgroup2 ");
    if (dash == std::string::npos)
      continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, mount;
    head >> id >> parent >> dev >> root >> mount;
    if (root == "/")
      return mount;
  }
  return {};
}

// Where a runtime keeps its requests' cgroups (containment.hpp): agentrt-<pid> next to the
// runtime's own cgroup, or next to the agentrt-runtime leaf it moved itself into.
std::string request_cgroups_parent(pid_t runtime) {
  const std::string mount = cgroup2_mount();
  if (mount.empty())
    return {};
  std::ifstream in("/proc/" + std::to_string(runtime) + "/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) != 0)
      continue;
    std::string own = line.substr(3);
    const std::string leaf = "/agentrt-runtime";
    if (own.size() >= leaf.size() && own.compare(own.size() - leaf.size(), leaf.size(), leaf) == 0)
      own.resize(own.size() - leaf.size());
    if (own == "/")
      own.clear();
    return mount + own + "/agentrt-" + std::to_string(runtime);
  }
  return {};
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

int count_subdirectories(const std::string& path) {
  int n = 0;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr)
    return -1;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_type == DT_DIR && e->d_name[0] != '.')
      ++n;
  }
  ::closedir(d);
  return n;
}

// One way of escaping: the shell text that starts it (it writes its pid to pid_file just
// before the final exec, so the command can wait until it is up) and what its command line
// contains once it runs (with the trailing space of the last argument's NUL, so that one
// marker is never the prefix of another).
struct escapee {
  std::string name;
  std::string start;
  std::string marker;
  std::string pid_file;
};

// The perl daemon: fork, parent exits; setsid; fork, middle exits; empty %ENV; exec a sleep
// whose argv[0] is the marker (with the empty environment).
std::string perl_daemon(const std::string& marker, const std::string& pid_file, bool ignore_term) {
  return std::string("perl -MPOSIX=setsid -e '") +
         (ignore_term ? "$SIG{TERM} = \"IGNORE\"; " : "") +
         "exit 0 if fork; setsid(); exit 0 if fork; %ENV = (); open my $f, \">\", \"" + pid_file +
         "\"; print $f $$; close $f; exec {\"/bin/sleep\"} \"" + marker + "\", \"4000\"'";
}

// The escapes. Sleep durations double as unique markers (tag is numeric).
std::vector<escapee> escapees(const std::string& tag, const std::string& dir) {
  std::vector<escapee> v;
  v.push_back(
      {"setsid -f env -i",
       "setsid -f sh -c 'echo $$ > " + dir + "/1; exec env -i /bin/sleep 4000." + tag + "1'",
       "/bin/sleep 4000." + tag + "1 ", dir + "/1"});
  v.push_back({"setsid -f bash exec -c",
               "setsid -f bash -c 'echo $$ > " + dir + "/2; exec -c sleep 4000." + tag + "2'",
               "sleep 4000." + tag + "2 ", dir + "/2"});
  if (::geteuid() == 0) {
    v.push_back({"setsid -f setpriv nobody",
                 "setsid -f sh -c 'echo $$ > " + dir +
                     "/3; exec setpriv --reuid=65534 --regid=65534 --clear-groups sleep 4000." +
                     tag + "3'",
                 "sleep 4000." + tag + "3 ", dir + "/3"});
  } else {
    std::printf("[ figures  ] not root: the setpriv variant is left out\n");
  }
  v.push_back({"perl daemon, empty %ENV",
               perl_daemon("agentrt-escapee-" + tag + "4", dir + "/4", false),
               "agentrt-escapee-" + tag + "4 ", dir + "/4"});
  v.push_back({"perl daemon ignoring SIGTERM",
               perl_daemon("agentrt-escapee-" + tag + "5", dir + "/5", true),
               "agentrt-escapee-" + tag + "5 ", dir + "/5"});
  return v;
}

// Starts every escapee with its stdio on /dev/null, then waits (at most 5 s) until each has
// written its pid file, then says "ready".
std::string start_all(const std::vector<escapee>& v, const std::string& dir) {
  std::string s;
  for (const auto& e : v)
    s += e.start + " </dev/null >/dev/null 2>&1; ";
  s += "i=0; while [ \"$(ls " + dir + " | wc -l)\" -lt " + std::to_string(v.size()) +
       " ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done; echo ready";
  return s;
}

class ContainmentTest : public runtime_fault_fixture {
protected:
  void TearDown() override {
    // Whatever a failing test left must not run on.
    for (const auto& m : cleanup_markers_)
      kill_all(processes_containing(m));
    if (!stopped_on_purpose_)
      runtime_fault_fixture::TearDown();
  }

  // Starts the runtime with the mechanism under test. "cgroup" runs --containment auto and
  // reports what auto chose: where this machine cannot make cgroups that is the subreaper.
  // Returns the mechanism /health reports.
  std::string start(const std::string& mechanism, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--kill-grace", "0.5", "--containment",
                                     mechanism == "cgroup" ? "auto" : mechanism};
    args.insert(args.end(), extra.begin(), extra.end());
    start_runtime(std::move(args));
    const std::string health = http_get(rt().port(), "/health").second;
    std::string ran = "unknown";
    for (const char* m : {"cgroup", "subreaper"}) {
      if (health.find(std::string("\"containment\":\"") + m + "\"") != std::string::npos)
        ran = m;
    }
    std::printf("[ figures  ] %s: containment mechanism that ran: %s%s\n", test_name(), ran.c_str(),
                mechanism == "cgroup" && ran != "cgroup"
                    ? " (this machine cannot create cgroups: auto fell back)"
                    : "");
    EXPECT_NE(ran, "unknown") << "/health says nothing about containment: " << health;
    if (mechanism == "subreaper") {
      EXPECT_EQ(ran, "subreaper");
    }
    return ran;
  }

  // Reads until stdout holds "ready" (or the terminal arrives, returned in terminal).
  static bool wait_ready(ws_test_client& ws, std::optional<p::message>& terminal) {
    std::string out;
    for (;;) {
      auto m = ws.receive(20s);
      if (!m)
        return false;
      if (const auto* o = as<p::command_output_message>(*m); o && o->stream == "stdout")
        out += o->text;
      if (as<p::command_execution_result_message>(*m) != nullptr ||
          as<p::error_message>(*m) != nullptr) {
        terminal = std::move(*m);
        return out.find("ready") != std::string::npos;
      }
      if (out.find("ready") != std::string::npos)
        return true;
    }
  }

  std::vector<std::string> cleanup_markers_;
  bool stopped_on_purpose_ = false;
};

class EscapeesAtRequestEnd
    : public ContainmentTest,
      public ::testing::WithParamInterface<std::tuple<const char*, request_end>> {};

TEST_P(EscapeesAtRequestEnd, NoneSurvive) {
  const std::string mechanism = std::get<0>(GetParam());
  const request_end how = std::get<1>(GetParam());
  const std::string ran = start(mechanism);
  const std::string dir = make_temp_dir("agentrt-contain-");
  const std::string tag =
      std::to_string(::getpid() % 100000) + std::to_string(static_cast<int>(how));
  const std::vector<escapee> v = escapees(tag, dir);
  for (const auto& e : v)
    cleanup_markers_.push_back(e.marker);
  const std::string main_process = "sleep 4000." + tag + "9";
  const std::string main_marker = main_process + " ";
  cleanup_markers_.push_back(main_marker);
  const std::string cg_parent = request_cgroups_parent(rt().pid());

  std::string command = start_all(v, dir);
  if (how != request_end::normal)
    command += "; exec " + main_process;
  auto ws = connect();
  ASSERT_TRUE(ws);
  ws->send(exec_request({command}));
  std::optional<p::message> terminal;
  ASSERT_TRUE(wait_ready(*ws, terminal)) << rt().log();
  // Every escapee got as far as writing its pid file.
  for (const auto& e : v)
    EXPECT_FALSE(read_whole_file(e.pid_file).empty()) << e.name << " did not start";
  if (how != request_end::normal) {
    // The request is still in flight: everything is up.
    ASSERT_TRUE(wait_until(
        [&] {
          return std::all_of(v.begin(), v.end(), [](const escapee& e) {
            return !processes_containing(e.marker).empty();
          });
        },
        10s));
  }

  const auto t0 = clock_type::now();
  switch (how) {
  case request_end::normal: {
    // The promise: killed before the terminal is sent.
    if (!terminal) {
      auto msgs = ws->receive_until_terminal(30s);
      ASSERT_FALSE(msgs.empty());
      terminal = msgs.back();
    }
    ASSERT_NE(as<p::command_execution_result_message>(*terminal), nullptr) << p::encode(*terminal);
    break;
  }
  case request_end::cancel: {
    ws->send(p::cancel_message{});
    auto msgs = ws->receive_until_terminal(30s);
    ASSERT_FALSE(msgs.empty());
    const auto* err = as<p::error_message>(msgs.back());
    ASSERT_NE(err, nullptr) << p::encode(msgs.back());
    EXPECT_EQ(err->error, "Request cancelled");
    break;
  }
  case request_end::disconnect: {
    ws->drop();
    // No terminal to wait for: give it the kill grace and some.
    wait_until(
        [&] {
          return std::all_of(v.begin(), v.end(), [](const escapee& e) {
            return processes_containing(e.marker).empty();
          });
        },
        5s);
    break;
  }
  case request_end::sigterm: {
    stopped_on_purpose_ = true;
    const int status = rt().stop(SIGTERM, 15s);
    EXPECT_TRUE(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "status " << status << "; log:\n"
        << rt().log();
    break;
  }
  }
  const double ms = ms_since(t0);

  std::string report;
  for (const auto& e : v) {
    const auto alive = processes_containing(e.marker);
    report += (report.empty() ? "" : ", ") + e.name + " " + std::to_string(alive.size());
    EXPECT_TRUE(alive.empty()) << e.name << " survived the " << end_name(how) << " end (" << ran
                               << ")";
  }
  EXPECT_TRUE(processes_containing(main_marker).empty());
  std::printf("[ figures  ] %s: %s end under %s: survivors %s (%.0f ms after the end began)\n",
              test_name(), end_name(how), ran.c_str(), report.c_str(), ms);

  if (ran == "cgroup") {
    if (how == request_end::sigterm) {
      EXPECT_FALSE(path_exists(cg_parent)) << cg_parent << " outlived the runtime";
    } else {
      // The request's cgroup is gone with the request (a disconnect's a moment later).
      EXPECT_TRUE(wait_until([&] { return count_subdirectories(cg_parent) == 0; }, 5s))
          << cg_parent << " still has a request cgroup";
    }
  }
  if (how != request_end::sigterm && !HasFailure()) {
    // The runtime goes idle and serves the next client.
    if (how != request_end::disconnect) {
      ws->close();
      ws->wait_closed(5s);
    }
    ws.reset();
    wait_idle();
    auto next = connect();
    ASSERT_TRUE(next);
    expect_usable(*next);
  }
}

std::string
escape_case_name(const ::testing::TestParamInfo<std::tuple<const char*, request_end>>& info) {
  return std::string(std::get<0>(info.param)) == "cgroup"
             ? std::string("Cgroup") + end_name(std::get<1>(info.param))
             : std::string("Subreaper") + end_name(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(
    AllEnds, EscapeesAtRequestEnd,
    ::testing::Combine(::testing::Values("cgroup", "subreaper"),
                       ::testing::Values(request_end::normal, request_end::cancel,
                                         request_end::disconnect, request_end::sigterm)),
    escape_case_name);

class ContainmentMechanism : public ContainmentTest,
                             public ::testing::WithParamInterface<const char*> {};

TEST_P(ContainmentMechanism, ForkBombBoundedByUlimitIsCleanedUp) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root: RLIMIT_NPROC binds only a non-root uid, reached with setpriv";
  const std::string ran = start(GetParam());
  // A uid nobody else uses, so that `ulimit -u` counts the bomb only.
  const uid_t uid = 61000 + static_cast<uid_t>(::getpid() % 4000);
  ASSERT_EQ(count_processes_of(uid), 0);
  const std::string u = std::to_string(uid);
  const std::string command = "setpriv --reuid=" + u + " --regid=" + u +
                              " --clear-groups bash -c 'ulimit -u 40; b() { b | b & }; b' "
                              "</dev/null >/dev/null 2>&1 & echo bombing; sleep 1.5";
  auto ws = connect();
  ASSERT_TRUE(ws);
  ws->send(exec_request({command}));
  int peak = 0;
  std::optional<p::message> terminal;
  const auto deadline = clock_type::now() + 30s;
  while (!terminal && clock_type::now() < deadline) {
    peak = std::max(peak, count_processes_of(uid));
    if (auto m = ws->receive(50ms)) {
      if (as<p::command_execution_result_message>(*m) != nullptr ||
          as<p::error_message>(*m) != nullptr)
        terminal = std::move(*m);
    }
  }
  ASSERT_TRUE(terminal) << "no terminal";
  const int left = count_processes_of(uid);
  std::printf("[ figures  ] %s: fork bomb under %s, ulimit -u 40: peak %d processes, %d left "
              "when the terminal arrived\n",
              test_name(), ran.c_str(), peak, left);
  EXPECT_GE(peak, 10) << "the bomb never took off";
  EXPECT_EQ(left, 0);
  if (left != 0) {
    // Leave nothing behind for the next test.
    wait_until([&] { return count_processes_of(uid) == 0; }, 10s);
  }
}

TEST_P(ContainmentMechanism, OneOfTwoConcurrentRequestsEnds) {
  // Session B's request is in flight while session A's starts every escapee plus one that also
  // resets the RLIMIT_RTTIME mark the subreaper mechanism reads. A ends: A's escapees die, B's
  // processes do not. The one without mark started while both were in flight: the subreaper
  // mechanism cannot tell whose it is and kills it when B ends too (cgroup: with A).
  const std::string ran = start(GetParam());
  const std::string dir_a = make_temp_dir("agentrt-contain-a-");
  const std::string tag = std::to_string(::getpid() % 100000) + "7";
  const std::string b_main = "sleep 4000." + tag + "8 ";
  const std::string b_escapee = "sleep 4000." + tag + "7 ";
  std::vector<escapee> v = escapees(tag, dir_a);
  const escapee unmarked{"setsid -f bash, ulimit -R unlimited, exec -c",
                         "setsid -f bash -c 'ulimit -R unlimited; echo $$ > " + dir_a +
                             "/6; exec -c sleep 4000." + tag + "6'",
                         "sleep 4000." + tag + "6 ", dir_a + "/6"};
  for (const auto& e : v)
    cleanup_markers_.push_back(e.marker);
  cleanup_markers_.insert(cleanup_markers_.end(), {unmarked.marker, b_main, b_escapee});

  auto b = connect();
  ASSERT_TRUE(b);
  b->send(exec_request({"setsid -f env -i /bin/" + b_escapee + "</dev/null >/dev/null 2>&1; " +
                        "echo ready; exec " + b_main}));
  std::optional<p::message> b_terminal;
  ASSERT_TRUE(wait_ready(*b, b_terminal));
  ASSERT_TRUE(wait_until([&] { return !processes_containing(b_escapee).empty(); }, 10s));

  auto a = connect();
  ASSERT_TRUE(a);
  std::vector<escapee> all = v;
  all.push_back(unmarked);
  a->send(exec_request({start_all(all, dir_a)}));
  auto msgs = a->receive_until_terminal(30s);
  ASSERT_FALSE(msgs.empty());
  ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr)
      << p::encode(msgs.back());
  std::string report;
  for (const auto& e : v) {
    const auto alive = processes_containing(e.marker);
    report += (report.empty() ? "" : ", ") + e.name + " " + std::to_string(alive.size());
    EXPECT_TRUE(alive.empty()) << e.name << " outlived its request (" << ran << ")";
  }
  const std::size_t unmarked_after_a = processes_containing(unmarked.marker).size();
  const bool b_alive_after_a =
      !processes_containing(b_main).empty() && !processes_containing(b_escapee).empty();
  EXPECT_TRUE(b_alive_after_a) << "A's end killed B's processes";
  if (ran == "cgroup") {
    EXPECT_EQ(unmarked_after_a, 0u);
  }

  b->send(p::cancel_message{});
  auto b_msgs = b->receive_until_terminal(30s);
  ASSERT_FALSE(b_msgs.empty());
  EXPECT_NE(as<p::error_message>(b_msgs.back()), nullptr) << p::encode(b_msgs.back());
  const std::size_t unmarked_after_b = processes_containing(unmarked.marker).size();
  EXPECT_TRUE(processes_containing(b_main).empty());
  EXPECT_TRUE(processes_containing(b_escapee).empty());
  EXPECT_EQ(unmarked_after_b, 0u);
  std::printf("[ figures  ] %s under %s: after A's end A's survivors %s, B's processes %s; "
              "the unmarked one alive after A: %zu, after B: %zu\n",
              test_name(), ran.c_str(), report.c_str(), b_alive_after_a ? "alive" : "gone",
              unmarked_after_a, unmarked_after_b);
}

INSTANTIATE_TEST_SUITE_P(BothMechanisms, ContainmentMechanism,
                         ::testing::Values("cgroup", "subreaper"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param) == "cgroup" ? "Cgroup" : "Subreaper";
                         });

// The runtime started by hand: as another user, or inside a cgroup of the test's making.
class ContainmentStartup : public ::testing::Test {
protected:
  void TearDown() override {
    if (run_.pid > 0 && ::kill(run_.pid, 0) == 0) {
      ::kill(run_.pid, SIGKILL);
      run_.wait();
    }
    if (!cgroup_.empty()) {
      ::rmdir((cgroup_ + "/agentrt-runtime").c_str());
      ::rmdir(cgroup_.c_str());
    }
  }

  // Starts argv (ending in the runtime's flags) and waits for its "listening on" line;
  // returns the port, 0 when it did not get there.
  int start(const std::vector<std::string>& argv) {
    run_ = start_program(argv);
    int port = 0;
    wait_until(
        [&] {
          const std::string err = run_.err();
          const auto at = err.find("listening on 127.0.0.1:");
          if (at != std::string::npos)
            port = std::atoi(err.c_str() + at + 23);
          return port != 0;
        },
        10s);
    return port;
  }

  std::string containment_line() const {
    const std::string err = run_.err();
    const auto at = err.find("process containment: ");
    return at == std::string::npos ? std::string() : err.substr(at, err.find('\n', at) - at);
  }

  static std::vector<std::string> runtime_flags(const std::string& containment) {
    return {AGENTRT_BINARY, "--host", "127.0.0.1",     "--port",   "0",
            "--kill-grace", "0.5",    "--containment", containment};
  }

  program_run run_;
  std::string cgroup_;
};

TEST_F(ContainmentStartup, AnUnknownMechanismIsRefused) {
  const auto r = run_program(runtime_flags("bogus"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--containment: expected auto, cgroup or subreaper"), std::string::npos)
      << r.err;
}

TEST_F(ContainmentStartup, WithoutCgroupsAutoFallsBackAndCgroupRefusesToStart) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root, to run the runtime as a user who cannot create cgroups";
  std::vector<std::string> as_nobody = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                        "--clear-groups"};
  std::vector<std::string> argv = as_nobody;
  for (const auto& a : runtime_flags("cgroup"))
    argv.push_back(a);
  const auto refused = run_program(argv);
  EXPECT_EQ(refused.code, 2) << refused.err;
  EXPECT_NE(refused.err.find("cgroup containment is not available"), std::string::npos)
      << refused.err;

  argv = as_nobody;
  for (const auto& a : runtime_flags("auto"))
    argv.push_back(a);
  const int port = start(argv);
  ASSERT_NE(port, 0) << run_.err();
  const std::string line = containment_line();
  std::printf("[ figures  ] %s: as uid 65534: %s\n", test_name(), line.c_str());
  EXPECT_EQ(line.rfind("process containment: subreaper", 0), 0u) << line;
  const auto [status, body] = http_get(port, "/health");
  EXPECT_NE(body.find("\"containment\":\"subreaper\""), std::string::npos) << body;

  // And it contains: an escapee of this unprivileged runtime dies with its request.
  const std::string tag = std::to_string(::getpid() % 100000) + "81";
  const std::string marker = "/bin/sleep 4000." + tag + " ";
  auto c = ws_test_client::connect("ws://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_TRUE(c.client) << c.error;
  c.client->send(exec_request(
      {"setsid -f env -i /bin/sleep 4000." + tag + " </dev/null >/dev/null 2>&1; sleep 0.3"}));
  const auto msgs = c.client->receive_until_terminal(30s);
  ASSERT_FALSE(msgs.empty());
  const auto alive = processes_containing(marker);
  kill_all(alive);
  EXPECT_TRUE(alive.empty()) << "the escapee outlived its request";
}

TEST_F(ContainmentStartup, InADelegatedCgroupTheRuntimeMovesToALeaf) {
  // Like a container or a systemd unit with Delegate=yes: the runtime starts in a cgroup of
  // its own that is not the root.
  const std::string mount = cgroup2_mount();
  if (mount.empty() || ::geteuid() != 0)
    GTEST_SKIP() << "needs root and a cgroup2 mount";
  cgroup_ = mount + "/agentrt-test-delegated-" + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(cgroup_.c_str(), 0755), 0) << cgroup_;
  std::vector<std::string> argv = {"/bin/sh", "-c",
                                   "echo $$ > " + cgroup_ + "/cgroup.procs && exec \"$@\"", "sh"};
  for (const auto& a : runtime_flags("auto"))
    argv.push_back(a);
  const int port = start(argv);
  ASSERT_NE(port, 0) << run_.err();
  std::printf("[ figures  ] %s: %s\n", test_name(), containment_line().c_str());
  const std::string own = read_whole_file("/proc/" + std::to_string(run_.pid) + "/cgroup");
  EXPECT_NE(own.find("0::/" + cgroup_.substr(mount.size() + 1) + "/agentrt-runtime\n"),
            std::string::npos)
      << own;
  const std::string requests = cgroup_ + "/agentrt-" + std::to_string(run_.pid);
  EXPECT_TRUE(path_exists(requests)) << requests;

  const std::string tag = std::to_string(::getpid() % 100000) + "82";
  auto c = ws_test_client::connect("ws://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_TRUE(c.client) << c.error;
  c.client->send(exec_request({"setsid -f env -i /bin/sleep 4000." + tag +
                               " </dev/null >/dev/null 2>&1; cat /proc/self/cgroup"}));
  const auto msgs = c.client->receive_until_terminal(30s);
  ASSERT_FALSE(msgs.empty());
  EXPECT_NE(joined_output(msgs, "stdout").find("/agentrt-" + std::to_string(run_.pid) + "/req-"),
            std::string::npos)
      << joined_output(msgs, "stdout");
  const auto alive = processes_containing("/bin/sleep 4000." + tag + " ");
  kill_all(alive);
  EXPECT_TRUE(alive.empty()) << "the escapee outlived its request";

  // SIGTERM: the runtime removes its cgroups; only the leaf it is in (empty once it exited)
  // is left for whoever made the delegated cgroup.
  c.client.reset();
  ::kill(run_.pid, SIGTERM);
  EXPECT_EQ(run_.wait(), 0) << run_.err();
  run_.pid = -1;
  EXPECT_FALSE(path_exists(requests));
  EXPECT_EQ(count_subdirectories(cgroup_), 1);
}

} // namespace
} // namespace agentrt::test

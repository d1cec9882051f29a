// Faults that used to stall or break the one event loop, and the leaks of secrets into logs
// and children (issue #13, sections 5 and 6), each against the real binary:
// - stderr a pipe nobody reads, then thousands of bad frames (each logged): /health answers;
// - two thousand identical bad frames: one log line and a count, not two thousand lines;
// - a source_id with a newline, ESC and a secret: one escaped, redacted log line;
// - more sessions with artifacts than fs.inotify.max_user_instances: every one watches;
// - started under a soft RLIMIT_NOFILE of 1024: raised to the hard limit, 1,100 clients;
// - AGENTRT_TOKEN or --token: invisible to commands (environment, /proc of the runtime);
// - 100,000 secrets: refused at once with the limit named; 10,000: redacted at speed.
// Each prints the runtime's descriptors and threads before and after.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agentrt/protocol/codec.hpp"
#include "support/protocol_helpers.hpp"
#include "support/runtime_fault_fixture.hpp"
#include "support/secret_workload.hpp"

extern char** environ;

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;

void print_resources(const char* what, const process_resources& before,
                     const process_resources& after) {
  std::printf("[ figures  ] %s: descriptors %d -> %d, threads %d -> %d\n", what, before.fds,
              after.fds, before.threads, after.threads);
}

// The runtime with its stderr (and stdout) a pipe whose read end the test holds and does not
// read: what a supervisor that stopped draining the log looks like.
class piped_runtime {
public:
  piped_runtime() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    read_end_ = fds[0];
    port_ = free_port();
    std::vector<std::string> args = {AGENTRT_BINARY, "--host", "127.0.0.1", "--port",
                                     std::to_string(port_)};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    const int rc = posix_spawn(&pid_, AGENTRT_BINARY, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    if (rc != 0)
      throw std::runtime_error("cannot start agentrt");
    for (int i = 0; i < 2000; ++i) {
      if (const int fd = connect_loopback(port_); fd >= 0) {
        ::close(fd);
        return;
      }
      std::this_thread::sleep_for(5ms);
    }
    throw std::runtime_error("agentrt did not start listening");
  }
  ~piped_runtime() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    ::close(read_end_);
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/"; }
  // Everything buffered in the pipe now (without blocking).
  std::string drain() {
    std::string out;
    char buf[65536];
    for (;;) {
      pollfd pfd{read_end_, POLLIN, 0};
      if (::poll(&pfd, 1, 0) <= 0)
        break;
      const ssize_t n = ::read(read_end_, buf, sizeof buf);
      if (n <= 0)
        break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

private:
  pid_t pid_ = -1;
  int port_ = 0;
  int read_end_ = -1;
};

TEST(EventLoopFaults, StderrPipeNobodyReadsDoesNotFreezeTheRuntime) {
  piped_runtime rt;
  const auto before = resources_of(rt.pid());
  auto c = ws_test_client::connect(rt.url()).client;
  ASSERT_TRUE(c);
  // Each frame is answered and logged with its own (long) unknown message_type: distinct
  // lines, which the repeat filter lets through, 64 KiB of pipe full after ~100 of them. Bad
  // input is quoted as a 200-byte prefix (~300 bytes a line), so 8000 lines overflow the
  // logger's 1 MiB buffer too.
  constexpr int frames = 8000;
  constexpr int window = 100;
  const std::string padding(400, 'p');
  const auto t0 = std::chrono::steady_clock::now();
  for (int sent = 0; sent < frames; sent += window) {
    for (int i = sent; i < sent + window; ++i)
      c->send_text(R"({"message_type":"frame_)" + std::to_string(i) + padding + "\"}");
    for (int i = sent; i < sent + window; ++i) {
      auto m = c->receive(10s);
      ASSERT_TRUE(m) << "frame " << i << " not answered: the event loop is stuck";
      const auto* e = as<p::error_message>(*m);
      ASSERT_NE(e, nullptr) << p::encode(*m);
      EXPECT_NE(e->error.find("frame_" + std::to_string(i) + "p"), std::string::npos)
          << e->error.substr(0, 100);
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto [status, body] = http_get(rt.port(), "/health");
  EXPECT_EQ(status, 200) << "/health did not answer with the log pipe full";
  c->send(exec_request({"echo still-served"}));
  EXPECT_EQ(joined_output(c->receive_until_terminal(30s), "stdout"), "still-served\n");

  // Reading the pipe lets the writer through: the log says how much it had to drop.
  std::string log;
  ASSERT_TRUE(wait_until(
      [&] {
        log += rt.drain();
        return log.find("log line(s) dropped") != std::string::npos;
      },
      10s))
      << log.substr(log.size() > 500 ? log.size() - 500 : 0);
  const auto after = resources_of(rt.pid());
  std::printf("[ figures  ] %d logged bad frames answered in %.2f s with stderr not read; %zu "
              "log bytes then read\n",
              frames, secs, log.size());
  print_resources("stderr pipe full", before, after);
}

TEST(EventLoopFaults, IdenticalLogLinesAreCountedNotRepeated) {
  runtime_process rt;
  const auto before = resources_of(rt.pid());
  auto c = ws_test_client::connect(rt.url()).client;
  ASSERT_TRUE(c);
  constexpr int frames = 2000;
  for (int i = 0; i < frames; ++i)
    c->send_text("x");
  for (int i = 0; i < frames; ++i)
    ASSERT_TRUE(c->receive(10s)) << "frame " << i;
  const auto after = resources_of(rt.pid());
  c->close();
  // SIGTERM: the runtime writes the pending count as it exits.
  EXPECT_EQ(rt.stop(SIGTERM), 0);
  const std::string log = rt.log();
  std::size_t lines = 0;
  for (std::size_t at = log.find("bad frame: malformed JSON"); at != std::string::npos;
       at = log.find("bad frame: malformed JSON", at + 1))
    ++lines;
  EXPECT_LE(lines, 2u) << log.substr(0, 2000); // the line, and the line with its count
  EXPECT_NE(log.find("(repeated " + std::to_string(frames - 1) + " more times in "),
            std::string::npos)
      << log.substr(0, 2000);
  EXPECT_LT(log.size(), 4096u);
  std::printf("[ figures  ] %d identical bad frames -> %zu log lines, %zu log bytes\n", frames,
              lines, log.size());
  print_resources("identical bad frames", before, after);
}

class EventLoopFixture : public runtime_fault_fixture {};

TEST_F(EventLoopFixture, SourceIdIsEscapedAndRedactedInTheLog) {
  start_runtime();
  take_baseline();
  auto c = connect();
  ASSERT_TRUE(c);
  auto m = exec_request({"echo done"});
  m.source_id = "job-7\n2099-01-01T00:00:00.000Z ERROR [admin] forged \x1b[2J hunter2\r";
  m.secrets_to_redact = {"hunter2"};
  c->send(m);
  const auto msgs = c->receive_until_terminal(30s);
  ASSERT_FALSE(msgs.empty());
  ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr);
  c->close();
  ASSERT_TRUE(wait_idle());

  const std::string log = rt().log();
  const std::string expected_id =
      "[job-7\\n2099-01-01T00:00:00.000Z ERROR [admin] forged \\x1b[2J [REDACTED]\\r] ";
  EXPECT_NE(log.find(expected_id + "command_execution_message: 1 command(s)"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("\n2099-01-01"), std::string::npos) << "a forged line: " << log;
  EXPECT_EQ(log.find('\x1b'), std::string::npos) << log;
  EXPECT_EQ(log.find('\r'), std::string::npos) << log;
  EXPECT_EQ(log.find("hunter2"), std::string::npos) << log;
  expect_recovered();
  print_resources("hostile source_id", baseline_, resources_of(rt().pid()));
}

long read_sysctl(const char* path) {
  std::ifstream in(path);
  long v = -1;
  in >> v;
  return v;
}

TEST_F(EventLoopFixture, MoreSessionsWithArtifactsThanInotifyInstances) {
  const long instances = read_sysctl("/proc/sys/fs/inotify/max_user_instances");
  if (instances <= 0 || instances > 400)
    GTEST_SKIP() << "fs.inotify.max_user_instances = " << instances;
  const int sessions = static_cast<int>(instances) + 12;
  start_runtime({"--drain-timeout", "1", "--artifact-settle", "0.05"});
  {
    auto warm = connect();
    ASSERT_TRUE(warm);
    expect_usable(*warm);
  }
  take_baseline();
  const std::string base = make_temp_dir("agentrt-inotify-");
  std::vector<std::unique_ptr<ws_test_client>> clients;
  for (int i = 0; i < sessions; ++i) {
    auto c = connect();
    ASSERT_TRUE(c) << "session " << i;
    const std::string dir = base + "/s" + std::to_string(i);
    auto m = exec_request({"echo artifact > " + dir + "/a.txt"});
    m.artifacts_dirs = {dir};
    c->send(m);
    clients.push_back(std::move(c));
  }
  // Every session's watcher stays alive while its session is open: all of them at once.
  int watching = 0;
  std::string first_failure;
  for (int i = 0; i < sessions; ++i) {
    const std::string file = base + "/s" + std::to_string(i) + "/a.txt";
    bool result = false;
    bool announced = false;
    while (!(result && announced)) {
      auto msg = clients[static_cast<std::size_t>(i)]->receive(20s);
      if (!msg)
        break;
      if (const auto* e = as<p::error_message>(*msg)) {
        if (first_failure.empty())
          first_failure = "session " + std::to_string(i) + ": " + e->error;
        break;
      }
      if (const auto* a = as<p::artifact_upload_request_message>(*msg))
        announced = announced || a->filepath == file;
      if (as<p::command_execution_result_message>(*msg))
        result = true;
    }
    watching += result && announced ? 1 : 0;
  }
  EXPECT_EQ(watching, sessions) << first_failure;
  const auto busy = resources_of(rt().pid());
  for (auto& c : clients)
    c->drop();
  clients.clear();
  expect_recovered(20s);
  std::printf("[ figures  ] %d sessions with artifacts at once (max_user_instances %ld): %d "
              "watching; runtime descriptors %d with all open\n",
              sessions, instances, watching, busy.fds);
  print_resources("sessions > inotify instances", baseline_, resources_of(rt().pid()));
}

// The soft and hard "Max open files" of /proc/PID/limits.
std::pair<long, long> open_files_limits(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) == 0) {
      long soft = -1, hard = -1;
      std::sscanf(line.c_str() + 14, "%ld %ld", &soft, &hard);
      return {soft, hard};
    }
  }
  return {-1, -1};
}

// A WebSocket upgrade on a raw socket; the socket stays open (-1 on failure).
int raw_upgrade(int port) {
  const int fd = connect_loopback(port);
  if (fd < 0)
    return -1;
  const std::string req = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool upgraded(int fd, std::chrono::steady_clock::time_point deadline) {
  std::string resp;
  char buf[1024];
  while (resp.find("\r\n\r\n") == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
      return false;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      return false;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  return resp.rfind("HTTP/1.1 101", 0) == 0;
}

TEST_F(EventLoopFixture, DescriptorLimitIsRaisedAndElevenHundredClientsAreServed) {
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
  if (original.rlim_max != RLIM_INFINITY && original.rlim_max < 2400)
    GTEST_SKIP() << "hard RLIMIT_NOFILE " << original.rlim_max << " too low for 1,100 clients";
  // The runtime inherits a soft limit of 1024, as under `ulimit -n 1024`.
  rlimit low = original;
  low.rlim_cur = 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  start_runtime();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &original), 0);
  const auto [soft, hard] = open_files_limits(rt().pid());
  EXPECT_EQ(soft, hard) << "soft RLIMIT_NOFILE not raised";
  EXPECT_GT(soft, 1024);
  take_baseline();

  constexpr int clients = 1100;
  std::vector<int> fds;
  for (int i = 0; i < clients; ++i)
    fds.push_back(raw_upgrade(rt().port()));
  int served = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s; // for all of them
  for (const int fd : fds)
    served += fd >= 0 && upgraded(fd, deadline) ? 1 : 0;
  const auto busy = resources_of(rt().pid());
  const auto [status, body] = http_get(rt().port(), "/health");
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(served, clients);
  for (const int fd : fds) {
    if (fd >= 0)
      ::close(fd);
  }
  expect_recovered(20s);
  std::printf("[ figures  ] started under soft RLIMIT_NOFILE 1024: limits now %ld/%ld, %d of %d "
              "clients upgraded at once (runtime descriptors %d)\n",
              soft, hard, served, clients, busy.fds);
  print_resources("1,100 clients", baseline_, resources_of(rt().pid()));
}

bool contains_token(const std::string& haystack, const std::string& token) {
  return haystack.find(token) != std::string::npos;
}

TEST_F(EventLoopFixture, CommandsNeverSeeTheRuntimesToken) {
  const std::string token = "tok-" + std::to_string(std::random_device{}()) + "-secret";
  start_runtime({}, {"AGENTRT_TOKEN=" + token});
  take_baseline();
  auto r = ws_test_client::connect(rt().url(), {{"Authorization", "Bearer " + token}});
  ASSERT_TRUE(r.client) << r.error;
  r.client->send(exec_request({"echo \"env:${AGENTRT_TOKEN-unset}\"",
                               "tr '\\0' '\\n' < /proc/$PPID/environ | grep -c AGENTRT_TOKEN=. "
                               "|| true"}));
  const auto msgs = r.client->receive_until_terminal(30s);
  const std::string out = joined_output(msgs, "stdout");
  EXPECT_EQ(out, "env:unset\n0\n");
  EXPECT_FALSE(contains_token(out, token)) << out;
  // What any process of the same user can read about the runtime.
  const std::string proc = "/proc/" + std::to_string(rt().pid());
  EXPECT_FALSE(contains_token(read_whole_file(proc + "/environ"), token));
  EXPECT_FALSE(contains_token(read_whole_file(proc + "/cmdline"), token));
  // Authentication still uses it.
  EXPECT_FALSE(ws_test_client::connect(rt().url()).client);
  r.client->close();
  ASSERT_TRUE(wait_idle());
  process_resources now;
  EXPECT_TRUE(wait_resources_at_most(rt().pid(), baseline_, 10s, now))
      << "leak: " << describe_change(baseline_, now);
  print_resources("token from the environment", baseline_, now);
}

TEST_F(EventLoopFixture, TokenFlagIsHiddenFromTheCommandLine) {
  const std::string token = "flag-" + std::to_string(std::random_device{}()) + "-secret";
  start_runtime({"--token", token});
  const std::string cmdline = read_whole_file("/proc/" + std::to_string(rt().pid()) + "/cmdline");
  EXPECT_FALSE(contains_token(cmdline, token));
  EXPECT_NE(cmdline.find("--token"), std::string::npos);
  auto r = ws_test_client::connect(rt().url() + "?token=" + token);
  ASSERT_TRUE(r.client) << r.error;
  r.client->send(exec_request({"ps -o args= -p $PPID"}));
  const auto msgs = r.client->receive_until_terminal(30s);
  const std::string out = joined_output(msgs, "stdout");
  EXPECT_FALSE(contains_token(out, token)) << out;
  r.client->close();
}

TEST_F(EventLoopFixture, HundredThousandSecretsAreRefusedTenThousandAreRedactedAtSpeed) {
  start_runtime();
  {
    auto warm = connect();
    ASSERT_TRUE(warm);
    expect_usable(*warm);
  }
  take_baseline();
  auto c = connect();
  ASSERT_TRUE(c);

  // Over the limit: refused at decode, the limit named.
  auto too_many = exec_request({"echo never"});
  too_many.secrets_to_redact = api_key_secrets(100000, 1);
  const auto t0 = std::chrono::steady_clock::now();
  c->send(too_many);
  auto answer = c->receive(30s);
  const double refuse_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(answer);
  const auto* refused = as<p::error_message>(*answer);
  ASSERT_NE(refused, nullptr) << p::encode(*answer).substr(0, 300);
  EXPECT_NE(refused->error.find("secrets_to_redact: at most 10000 secrets, got 100000"),
            std::string::npos)
      << refused->error;

  // At the limit: 4 MiB of output through the stream redactor, /health polled meanwhile.
  const std::vector<std::string> secrets = api_key_secrets(10000, 2);
  const secret_text w = text_with_secrets(secrets, 4 << 20, 20);
  const std::string dir = make_temp_dir("agentrt-secrets-");
  { std::ofstream(dir + "/out.txt", std::ios::binary) << w.text; }
  auto request = exec_request({"cat " + dir + "/out.txt"});
  request.secrets_to_redact = secrets;
  std::atomic<bool> running{true};
  std::atomic<long> worst_health_ms{0};
  std::thread poller([&] {
    while (running) {
      const auto h0 = std::chrono::steady_clock::now();
      const auto status = http_get(rt().port(), "/health").first;
      const long ms = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::steady_clock::now() - h0)
                                            .count());
      if (status != 200)
        worst_health_ms = 1000000;
      worst_health_ms = std::max(worst_health_ms.load(), ms);
      std::this_thread::sleep_for(20ms);
    }
  });
  const auto t1 = std::chrono::steady_clock::now();
  c->send(request);
  const auto msgs = c->receive_until_terminal(120s);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  running = false;
  poller.join();
  ASSERT_FALSE(msgs.empty());
  ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr)
      << p::encode(msgs.back()).substr(0, 300);
  const std::string out = joined_output(msgs, "stdout");
  EXPECT_TRUE(out == w.redacted) << "redacted output differs (" << out.size() << " vs "
                                 << w.redacted.size() << " bytes)";
  c->close();
  expect_recovered();
  std::printf("[ figures  ] 100000 secrets refused in %.1f ms; 10000 secrets over %.1f MiB of "
              "output: %.2f s (%.1f MiB/s end to end), slowest /health meanwhile %ld ms\n",
              refuse_ms, static_cast<double>(w.text.size()) / (1 << 20), secs,
              static_cast<double>(w.text.size()) / (1 << 20) / secs, worst_health_ms.load());
  print_resources("100k / 10k secrets", baseline_, resources_of(rt().pid()));
}

} // namespace
} // namespace agentrt::test

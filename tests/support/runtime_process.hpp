// Starts the real agentrt binary on a free loopback port for a test and stops it afterwards.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace agentrt::test {

class runtime_process {
public:
  // Starts AGENTRT_BINARY --host 127.0.0.1 --port <free> plus extra_args, waits until it
  // accepts connections. Extra environment entries "K=V" are added to the test's environment
  // (replacing an inherited K).
  explicit runtime_process(std::vector<std::string> extra_args = {},
                           std::vector<std::string> extra_env = {});
  ~runtime_process();
  runtime_process(const runtime_process&) = delete;
  runtime_process& operator=(const runtime_process&) = delete;

  int port() const noexcept { return port_; }
  pid_t pid() const noexcept { return pid_; }
  std::string url() const; // "ws://127.0.0.1:PORT/"
  // Everything the runtime wrote to stderr so far.
  std::string log() const;
  // The log once it contains needle, or what it holds when timeout passed without. The runtime
  // writes its log from a thread of its own (it never blocks a session), so a line about an
  // event can land after the client has seen the event.
  std::string log_with(const std::string& needle,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

  // Sends sig and waits for exit; returns the exit status as from waitpid, or -1 on timeout.
  int stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool running() const;

private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
};

// A loopback TCP port that was free a moment ago (the caller binds it, with a retry).
int free_port();
// A connected socket to 127.0.0.1:port, or -1 (nothing listens yet).
int connect_loopback(int port);
// The whole file, or "" when it cannot be read; never throws, so a /proc file whose process
// exits while it is read gives what was read.
std::string read_whole_file(const std::string& path);

// Pids of live processes (not zombies) whose command line (arguments joined by spaces) starts
// with prefix, e.g. "sleep 100.42" finds that sleep but not the `sh -c` that started it.
std::vector<pid_t> find_processes(const std::string& prefix);
// Resident set size of pid in KiB (VmRSS), 0 if unknown.
long rss_kib(pid_t pid);
// Open file descriptors of pid.
int count_fds(pid_t pid);
// A fresh empty directory under /tmp; removed (with what is in it) when the test program exits,
// if the test did not remove it before.
std::string make_temp_dir(const std::string& prefix = "agentrt-test-");
// One GET request on 127.0.0.1:port, with extra header lines ("Name: value"); returns the
// status line's code and the body.
std::pair<int, std::string> http_get(int port, const std::string& path,
                                     const std::vector<std::string>& headers = {});

} // namespace agentrt::test

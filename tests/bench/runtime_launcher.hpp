// Starts a runtime binary (agentrt, or anything taking --host/--port) on a free loopback port,
// timing exec -> listening, and stops it again. Its stdout/stderr go to a log file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <system_error>
#include <vector>

namespace agentrt::bench {

// One run of a binary to its exit (stdio to /dev/null), e.g. `agentrt --version`: the floor
// of exec + dynamic linking under the start-up figure.
struct exit_probe {
  std::chrono::nanoseconds elapsed{0};
  int status = -1; // as from waitpid; -1 when it could not be spawned
};
exit_probe run_to_exit(const std::string& binary, const std::vector<std::string>& args);

class runtime_launcher {
public:
  // Does not start anything yet; log_path receives the runtime's output (appended).
  runtime_launcher(std::string binary, std::vector<std::string> extra_args, std::string log_path);
  ~runtime_launcher(); // SIGKILLs a runtime still running
  runtime_launcher(const runtime_launcher&) = delete;
  runtime_launcher& operator=(const runtime_launcher&) = delete;

  // Spawns the runtime and polls until its port accepts a TCP connection. The port is probed
  // free first; another process may take it in between, so a start whose runtime exits at
  // once is retried on a new port.
  std::error_code start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGTERM, then SIGKILL after grace; returns the wait status, -1 when not running.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // From just before the exec to the first accepted connection, of the last start().
  std::chrono::nanoseconds time_to_listen() const noexcept { return time_to_listen_; }
  pid_t pid() const noexcept { return pid_; }
  int port() const noexcept { return port_; }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/"; }
  // The last lines of the log, for error reports.
  std::string log_tail(std::size_t max_bytes = 2000) const;

private:
  std::error_code spawn_once(std::chrono::milliseconds timeout, bool& exited_early);

  std::string binary_;
  std::vector<std::string> extra_args_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::chrono::nanoseconds time_to_listen_{0};
};

} // namespace agentrt::bench

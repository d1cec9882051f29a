// A client program (agentrt-client) run as a real child process of the test, so that a test
// can make the client vanish the way a real one does: killed by a signal, its socket closed by
// the kernel mid-request.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace agentrt::test {

class cli_process {
public:
  // Starts argv[0] with argv; stdout and stderr go to files in a fresh temporary directory.
  explicit cli_process(std::vector<std::string> argv);
  // Kills (SIGKILL) and reaps the process if it still runs, removes the output files.
  ~cli_process();
  cli_process(const cli_process&) = delete;
  cli_process& operator=(const cli_process&) = delete;

  pid_t pid() const noexcept { return pid_; }
  std::string out() const; // what it wrote to stdout so far
  std::string err() const; // ... and to stderr

  // Sends sig and reaps the process; its wait status, or -1 when it did not exit in time.
  int kill_and_wait(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Exit code when it exits normally within timeout, 1000 + signal when killed, -1 on timeout.
  int wait(std::chrono::milliseconds timeout);

private:
  pid_t pid_ = -1;
  std::string dir_;
};

} // namespace agentrt::test

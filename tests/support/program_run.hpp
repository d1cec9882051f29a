// Runs a program (argv[0] is its path) with stdout and stderr captured in files, for tests that
// drive the agentrt-client CLI: start it and watch it (streaming, signals), or run it to the end.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace agentrt::test {

struct program_run {
  pid_t pid = -1;
  std::string out_path, err_path;
  // Exit status, or 1000 + signal number when it was killed.
  int wait();
  std::string out() const;
  std::string err() const;
};

program_run start_program(const std::vector<std::string>& argv);

struct program_result {
  int code = -1;
  std::string out, err;
};

program_result run_program(const std::vector<std::string>& argv);

} // namespace agentrt::test

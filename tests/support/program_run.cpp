// See program_run.hpp.
#include "support/program_run.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/runtime_process.hpp"

namespace agentrt::test {

int program_run::wait() {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

std::string program_run::out() const {
  return read_whole_file(out_path);
}
std::string program_run::err() const {
  return read_whole_file(err_path);
}

program_run start_program(const std::vector<std::string>& argv_in) {
  static const std::string dir = make_temp_dir("agentrt-program-");
  static int n = 0;
  program_run r;
  r.out_path = dir + "/out" + std::to_string(n);
  r.err_path = dir + "/err" + std::to_string(n++);
  std::vector<std::string> args = argv_in;
  r.pid = ::fork();
  if (r.pid == 0) {
    const int out = ::open(r.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(r.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return r;
}

program_result run_program(const std::vector<std::string>& argv) {
  auto r = start_program(argv);
  const int code = r.wait();
  return {code, r.out(), r.err()};
}

} // namespace agentrt::test

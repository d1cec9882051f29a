// Starting a program in a child forked straight into a cgroup, with what child_process asks of
// posix_spawn: stdio (or a controlling terminal), working directory, own process group (or
// session), default signal state, no inherited
// descriptors besides 0-2, PATH lookup, and exec errors reported to the parent. By hand because
// glibc's posix_spawn cannot place a child in a cgroup before it runs (POSIX_SPAWN_SETCGROUP
// arrived in glibc 2.41; Debian 12 has 2.36).
#pragma once

#include <sys/types.h>

#include <string>
#include <system_error>
#include <vector>

#include "process/cgroup_fork.hpp"

namespace agentrt::runtime::process {

struct exec_plan {
  std::vector<std::string> paths; // execve() candidates in order: see exec_candidates()
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  int stdin_fd = -1; // dup'ed to 0; -1: /dev/null
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::string cwd; // empty: the runtime's
  // Not empty: a PTY slave. The child becomes a session leader (setsid instead of its own
  // process group), the terminal becomes its controlling terminal and its 0, 1 and 2; the
  // three fds above are ignored then.
  std::string tty_path;
};

// What execve() should try for file, like posix_spawnp: file itself when it contains '/',
// otherwise file in each directory of the runtime's PATH (default "/bin:/usr/bin").
std::vector<std::string> exec_candidates(const std::string& file);

// Forks into target's cgroup and execs plan there. Returns the child's pid once it has exec'd,
// or the error of joining the cgroup, chdir or execve (EACCES when some candidate was not
// executable and none worked, like execvp); the failed child is reaped.
protocol::result<pid_t> spawn_in_cgroup(const exec_plan& plan, const cgroup_target& target);

} // namespace agentrt::runtime::process

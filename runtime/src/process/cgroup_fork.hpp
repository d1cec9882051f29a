// fork(2) whose child starts life inside a given cgroup v2, for process_scope's cgroups.
#pragma once

#include <sys/types.h>

#include "agentrt/protocol/result.hpp"

namespace agentrt::runtime::process {

// Where a new process must be born: a cgroup v2 directory (for clone3's CLONE_INTO_CGROUP) and
// its cgroup.procs opened for writing (for kernels or seccomp profiles without clone3, e.g.
// Docker's default profile, which answers ENOSYS).
struct cgroup_target {
  int dir_fd = -1;
  int procs_fd = -1;
};

struct forked_child {
  pid_t pid = -1;     // as fork(): the child's pid in the parent, 0 in the child
  int join_error = 0; // in the child: 0, or the errno of joining the cgroup (fallback only)
};

// Like fork(), failing in the parent with the errno. With clone3 the child is a member of the
// cgroup from its first instruction; the fallback forks and has the child move itself before it
// returns. Either way the child joins before it can run anything of the caller's, so not even a
// program that forks and detaches at once starts outside. A child with a join_error must report it
// and _exit. The child starts with every signal blocked (the parent's handlers are still installed)
// and must set its own mask. The child of a multi-threaded parent should make raw system calls only
// (syscall(2)): async-signal-safe libc functions may still be wrapped by a sanitizer's
// interceptors, which can wait for a lock another thread held at the fork.
protocol::result<forked_child> fork_into_cgroup(const cgroup_target& target);

} // namespace agentrt::runtime::process

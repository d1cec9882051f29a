// fork(2) whose child starts life inside a given cgroup v2, for process_scope's cgroups.
#pragma once

#include <sys/types.h>

#include <system_error>

namespace agentrt::runtime::process {

// Where a new process must be born: a cgroup v2 directory (for clone3's CLONE_INTO_CGROUP) and
// its cgroup.procs opened for writing (for kernels or seccomp profiles without clone3, e.g.
// Docker's default profile, which answers ENOSYS).
struct cgroup_target {
  int dir_fd = -1;
  int procs_fd = -1;
};

// Like fork(): the child's pid in the parent, 0 in the child, -1 (and ec) in the parent on
// failure. With clone3 the child is a member of the cgroup from its first instruction; the
// fallback forks and has the child move itself before it returns. Either way the child joins
// before it can run anything of the caller's, so not even a program that forks and detaches at
// once starts outside. In the child, join_error is 0 or the errno of joining (fallback only):
// the child must then report it and _exit. The child starts with every signal blocked (the
// parent's handlers are still installed) and must set its own mask. The child of a multi-threaded
// parent should make raw system calls only (syscall(2)): async-signal-safe libc functions may still
// be wrapped by a sanitizer's interceptors, which can wait for a lock another thread held at the
// fork.
pid_t fork_into_cgroup(const cgroup_target& target, int& join_error, std::error_code& ec);

} // namespace agentrt::runtime::process

// clone3(CLONE_INTO_CGROUP) with a fork-and-join fallback (see cgroup_fork.hpp).
#include "process/cgroup_fork.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

namespace agentrt::runtime::process {
namespace {

// struct clone_args of <linux/sched.h> up to the cgroup field (CLONE_ARGS_SIZE_VER2), spelled
// out so that the build does not depend on the kernel headers' age.
struct clone_args_v2 {
  std::uint64_t flags;
  std::uint64_t pidfd;
  std::uint64_t child_tid;
  std::uint64_t parent_tid;
  std::uint64_t exit_signal;
  std::uint64_t stack;
  std::uint64_t stack_size;
  std::uint64_t tls;
  std::uint64_t set_tid;
  std::uint64_t set_tid_size;
  std::uint64_t cgroup;
};
constexpr std::uint64_t clone_into_cgroup = 0x200000000ULL;

#ifdef SYS_clone3
constexpr long clone3_syscall = SYS_clone3;
#else
constexpr long clone3_syscall = 435;
#endif

// Cleared for good once the kernel (older than 5.7) or a seccomp profile refuses clone3.
std::atomic<bool> clone3_usable{true};

bool means_clone3_unavailable(int err) {
  // ENOSYS: no clone3 (or seccomp says so); E2BIG: a kernel older than 5.7, which does not
  // know the cgroup field; EPERM: a seccomp profile that forbids it outright.
  return err == ENOSYS || err == E2BIG || err == EPERM;
}

// The fork proper; fork_into_cgroup() wraps it in "every signal blocked".
protocol::result<forked_child> fork_blocked(const cgroup_target& target) {
  if (target.dir_fd >= 0 && clone3_usable.load(std::memory_order_relaxed)) {
    clone_args_v2 args{};
    args.flags = clone_into_cgroup;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<std::uint64_t>(target.dir_fd);
    // A raw clone3 without CLONE_VM is fork() minus glibc's bookkeeping (atfork handlers, the
    // cached tid), none of which the child needs before it execs.
    const long pid = ::syscall(clone3_syscall, &args, sizeof(args));
    if (pid >= 0)
      return forked_child{static_cast<pid_t>(pid), 0};
    const int err = errno;
    if (!means_clone3_unavailable(err) || target.procs_fd < 0)
      return std::error_code(err, std::system_category());
    clone3_usable.store(false, std::memory_order_relaxed);
  }
  if (target.procs_fd < 0)
    return std::error_code(EBADF, std::system_category());
  forked_child forked{::fork(), 0};
  if (forked.pid < 0)
    return std::error_code(errno, std::system_category());
  if (forked.pid == 0) {
    // "0" means the writing process itself. A raw write: see child_exec.cpp.
    long n;
    do {
      n = ::syscall(SYS_write, target.procs_fd, "0", 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1)
      forked.join_error = n < 0 ? errno : EIO;
  }
  return forked;
}

} // namespace

protocol::result<forked_child> fork_into_cgroup(const cgroup_target& target) {
  // No handler of the parent (Asio's, which writes to its wake-up pipe) may run in the child
  // before it has put the defaults back.
  sigset_t all;
  sigfillset(&all);
  sigset_t saved;
  ::pthread_sigmask(SIG_SETMASK, &all, &saved);
  auto forked = fork_blocked(target);
  if (!forked.ok() || forked.value().pid != 0)
    ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  return forked;
}

} // namespace agentrt::runtime::process

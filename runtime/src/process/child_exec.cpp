// fork-into-cgroup and exec for child_process (see child_exec.hpp).
#include "process/child_exec.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "util/unique_fd.hpp"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

namespace agentrt::runtime::process {
namespace {

// In the child only raw system calls: a sanitizer's interceptors (TSan's sigaction, ASan's
// open) may take locks that another thread of the parent held at the fork, and glibc's
// wrappers add nothing the child needs.
long sys(long number, long a = 0, long b = 0, long c = 0, long d = 0) {
  return ::syscall(number, a, b, c, d);
}

// The kernel's struct sigaction (x86-64 and arm64 layout).
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  std::uint64_t mask;
};

[[noreturn]] void fail_in_child(int report_fd, int err) {
  while (sys(SYS_write, report_fd, reinterpret_cast<long>(&err), sizeof(err)) < 0 &&
         errno == EINTR) {
  }
  sys(SYS_exit_group, 127);
  __builtin_unreachable();
}

bool dup_to(int from, int to) {
  return from == to || sys(SYS_dup3, from, to, 0) >= 0;
}

// Closes [first, last]: close_range (5.9), else one close per possible number.
void close_fds(unsigned first, unsigned last, unsigned fallback_limit) {
  if (first > last)
    return;
  if (sys(SYS_close_range, first, last, 0) == 0)
    return;
  for (unsigned fd = first; fd <= last && fd < fallback_limit; ++fd)
    sys(SYS_close, fd);
}

// Own session whose controlling terminal is tty, and tty as 0, 1 and 2. A new session has no
// controlling terminal; the first terminal its leader opens without O_NOCTTY becomes it, and
// TIOCSCTTY says so explicitly (a no-op when it already is). False with errno set.
bool become_terminal_session(const char* tty_path) {
  if (sys(SYS_setsid) < 0)
    return false;
  const long tty = sys(SYS_openat, AT_FDCWD, reinterpret_cast<long>(tty_path), O_RDWR);
  if (tty < 0 || sys(SYS_ioctl, tty, TIOCSCTTY, 0) != 0)
    return false;
  const int fd = static_cast<int>(tty);
  if (!dup_to(fd, 0) || !dup_to(fd, 1) || !dup_to(fd, 2))
    return false;
  if (fd > 2)
    sys(SYS_close, fd);
  return true;
}

// The plan's stdin (or /dev/null), stdout and stderr as 0, 1 and 2. False with errno set.
bool pipe_stdio(const exec_plan& plan) {
  if (plan.stdin_fd >= 0) {
    if (!dup_to(plan.stdin_fd, 0))
      return false;
  } else {
    const long null_fd = sys(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/dev/null"), O_RDONLY);
    if (null_fd < 0)
      return false;
    if (null_fd != 0) {
      if (!dup_to(static_cast<int>(null_fd), 0))
        return false;
      sys(SYS_close, null_fd);
    }
  }
  return dup_to(plan.stdout_fd, 1) && dup_to(plan.stderr_fd, 2);
}

// Runs in the forked child: raw system calls only, no allocation.
[[noreturn]] void exec_in_child(const exec_plan& plan, int report_fd, int join_error,
                                unsigned fd_limit) {
  if (join_error != 0)
    fail_in_child(report_fd, join_error);
  // Default dispositions (the runtime ignores SIGPIPE and SIGXFSZ, and ignored signals survive
  // exec; glibc's two internal signals included), then the empty mask instead of the
  // "everything blocked" the child was born with.
  kernel_sigaction dfl{};
  dfl.handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP)
      sys(SYS_rt_sigaction, sig, reinterpret_cast<long>(&dfl), 0, sizeof(dfl.mask));
  }
  const std::uint64_t none = 0;
  sys(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&none), 0, sizeof(none));

  if (!plan.tty_path.empty()) {
    if (!become_terminal_session(plan.tty_path.c_str()))
      fail_in_child(report_fd, errno);
  } else if (sys(SYS_setpgid, 0, 0) != 0 || !pipe_stdio(plan)) {
    fail_in_child(report_fd, errno);
  }
  if (!plan.cwd.empty() && sys(SYS_chdir, reinterpret_cast<long>(plan.cwd.c_str())) != 0)
    fail_in_child(report_fd, errno);
  // Everything but stdio and the report pipe (close-on-exec, so it closes at exec).
  const unsigned report = static_cast<unsigned>(report_fd);
  close_fds(3, report - 1, fd_limit);
  close_fds(report + 1, ~0U, fd_limit);

  // execvp's rules: keep looking past a directory where the file is missing or not
  // executable (and report EACCES if that was all), stop at any other error.
  bool saw_eacces = false;
  int err = ENOENT;
  for (const std::string& path : plan.paths) {
    sys(SYS_execve, reinterpret_cast<long>(path.c_str()), reinterpret_cast<long>(plan.argv),
        reinterpret_cast<long>(plan.envp));
    err = errno;
    if (err == EACCES) {
      saw_eacces = true;
    } else if (err != ENOENT && err != ENOTDIR && err != ESTALE && err != ENODEV &&
               err != ETIMEDOUT) {
      fail_in_child(report_fd, err);
    }
  }
  fail_in_child(report_fd, saw_eacces ? EACCES : err);
}

} // namespace

std::vector<std::string> exec_candidates(const std::string& file) {
  if (file.empty())
    return {};
  if (file.find('/') != std::string::npos)
    return {file};
  const char* env_path = std::getenv("PATH");
  const std::string path = env_path != nullptr ? env_path : "/bin:/usr/bin";
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = path.find(':', start);
    const std::string dir = path.substr(start, end == std::string::npos ? end : end - start);
    // An empty entry is the current directory, which after chdir is the command's cwd.
    out.push_back(dir.empty() ? file : dir + (dir.back() == '/' ? "" : "/") + file);
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return out;
}

protocol::result<pid_t> spawn_in_cgroup(const exec_plan& plan, const cgroup_target& target) {
  if (plan.paths.empty())
    return std::error_code(ENOENT, std::system_category());
  // The report pipe's ends are lifted above stdio: the child dup2()s onto 0..2.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return std::error_code(errno, std::system_category());
  util::unique_fd read_end(fds[0]);
  util::unique_fd write_end(fds[1]);
  for (util::unique_fd* fd : {&read_end, &write_end}) {
    if (fd->get() <= 2) {
      const int moved = ::fcntl(fd->get(), F_DUPFD_CLOEXEC, 3);
      if (moved < 0)
        return std::error_code(errno, std::system_category());
      fd->reset(moved);
    }
  }
  rlimit nofile{};
  const unsigned fd_limit = ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
                                    nofile.rlim_cur != RLIM_INFINITY && nofile.rlim_cur < 1u << 20
                                ? static_cast<unsigned>(nofile.rlim_cur)
                                : 1u << 20;

  const auto forked = fork_into_cgroup(target);
  if (!forked.ok())
    return forked.error().code;
  const pid_t child = forked.value().pid;
  if (child == 0)
    exec_in_child(plan, write_end.get(), forked.value().join_error, fd_limit);
  write_end.reset();

  // EOF: the exec happened (the pipe is close-on-exec). Otherwise the child's errno.
  int child_errno = 0;
  std::size_t got = 0;
  while (got < sizeof(child_errno)) {
    const ssize_t n = ::read(read_end.get(), reinterpret_cast<char*>(&child_errno) + got,
                             sizeof(child_errno) - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  if (got == 0)
    return child;
  // Reaped here, on the io thread, before the reaper's SIGCHLD handler can run.
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return std::error_code(got == sizeof(child_errno) && child_errno != 0 ? child_errno : EIO,
                         std::system_category());
}

} // namespace agentrt::runtime::process

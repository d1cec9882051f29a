// posix_spawn, pipe plumbing and completion tracking for one child (see child_process.hpp).
#include "process/child_process.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <set>

#include <asio/error.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "metrics/runtime_metrics.hpp"
#include "process/child_exec.hpp"
#include "process/rttime_tag.hpp"
#include "util/unique_fd.hpp"

extern char** environ;

namespace agentrt::runtime::process {
namespace {

using util::unique_fd;

std::error_code last_error() {
  return {errno, std::system_category()};
}

// mkdir -p with mode 0755 for the missing components. EEXIST wins over EACCES/EROFS in the
// kernel, so existing parents we may not write to are fine.
std::error_code make_directories(const std::string& path) {
  std::size_t pos = 0;
  for (;;) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      return last_error();
    if (pos == std::string::npos)
      break;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return last_error();
  if (!S_ISDIR(st.st_mode))
    return {ENOTDIR, std::system_category()};
  return {};
}

// Moves fd above the standard descriptors: a pipe end numbered 0..2 (the runtime started with
// a closed stdin, say) would be clobbered by the child's own dup2 calls.
std::error_code lift_above_stdio(util::unique_fd& fd) {
  if (fd.get() > 2)
    return {};
  const int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
  if (moved < 0)
    return last_error();
  fd.reset(moved);
  return {};
}

struct pipe_pair {
  util::unique_fd read_end;
  util::unique_fd write_end;
};

// Both ends close-on-exec (the child gets its end through dup2, which clears the flag);
// only the runtime's end is non-blocking, the child expects ordinary blocking stdio.
std::error_code make_pipe(pipe_pair& p, bool runtime_reads) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return last_error();
  p.read_end.reset(fds[0]);
  p.write_end.reset(fds[1]);
  if (auto ec = lift_above_stdio(p.read_end))
    return ec;
  if (auto ec = lift_above_stdio(p.write_end))
    return ec;
  const int ours = runtime_reads ? p.read_end.get() : p.write_end.get();
  const int flags = ::fcntl(ours, F_GETFL);
  if (flags < 0 || ::fcntl(ours, F_SETFL, flags | O_NONBLOCK) != 0)
    return last_error();
  return {};
}

// runtime environ, with options.env winning, plus the scope marker (which nothing overrides).
// pwd (when not empty and not overridden) replaces the runtime's PWD: a child started in
// another directory would otherwise inherit a PWD naming the runtime's, and programs that
// trust $PWD over getcwd() (Node CLIs such as opencode) would work in the wrong place.
std::vector<std::string> build_environment(const std::map<std::string, std::string>& overrides,
                                           const std::string& scope_id, const std::string& pwd) {
  std::vector<std::string> env;
  const bool set_pwd = !pwd.empty() && overrides.count("PWD") == 0;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::string key(entry.substr(0, entry.find('=')));
    if (overrides.count(key) != 0 || key == scope_env_var || (set_pwd && key == "PWD"))
      continue;
    env.emplace_back(entry);
  }
  if (set_pwd)
    env.push_back("PWD=" + pwd);
  for (const auto& [key, value] : overrides) {
    if (key == scope_env_var)
      continue;
    env.push_back(key + "=" + value);
  }
  env.push_back(std::string(scope_env_var) + "=" + scope_id);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

struct spawn_attributes {
  spawn_attributes() { ok = ::posix_spawnattr_init(&attr) == 0; }
  ~spawn_attributes() {
    if (ok)
      ::posix_spawnattr_destroy(&attr);
  }
  spawn_attributes(const spawn_attributes&) = delete;
  spawn_attributes& operator=(const spawn_attributes&) = delete;
  posix_spawnattr_t attr;
  bool ok = false;
};

struct spawn_file_actions {
  spawn_file_actions() { ok = ::posix_spawn_file_actions_init(&actions) == 0; }
  ~spawn_file_actions() {
    if (ok)
      ::posix_spawn_file_actions_destroy(&actions);
  }
  spawn_file_actions(const spawn_file_actions&) = delete;
  spawn_file_actions& operator=(const spawn_file_actions&) = delete;
  posix_spawn_file_actions_t actions;
  bool ok = false;
};

// write(2) that cannot raise SIGPIPE, whatever the process-wide disposition is: pipes have no
// MSG_NOSIGNAL, so block it for this thread and swallow the one this write generated.
ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigset_t pending;
  sigemptyset(&pending);
  ::sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  sigset_t old_mask;
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask);
  const ssize_t n = ::write(fd, data, size);
  const int saved_errno = errno;
  if (n < 0 && saved_errno == EPIPE && !was_pending) {
    const timespec no_wait{};
    while (::sigtimedwait(&pipe_only, nullptr, &no_wait) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = saved_errno;
  return n;
}

} // namespace

struct child_process::impl {
  struct output_pipe {
    output_pipe(asio::io_context& io, output_stream which, std::size_t buffer_bytes)
        : which(which), stream(io), buffer(new char[buffer_bytes]), buffer_bytes(buffer_bytes) {}
    output_stream which;
    asio::posix::stream_descriptor stream;
    std::unique_ptr<char[]> buffer;
    std::size_t buffer_bytes;
    bool reading = false;
  };

  impl(asio::io_context& io, process_reaper& reaper, const spawn_options& options,
       output_handler on_output, exit_handler on_exit)
      : reaper(reaper),
        out(io, output_stream::stdout_stream, std::max<std::size_t>(options.read_buffer_bytes, 1)),
        err(io, output_stream::stderr_stream, std::max<std::size_t>(options.read_buffer_bytes, 1)),
        in(io), drain_timer(io), kill_timer(io), drain_idle(options.drain_idle),
        on_output(std::move(on_output)), on_exit(std::move(on_exit)) {}

  void start_read(output_pipe& p);
  void on_read(output_pipe& p, const std::error_code& ec, std::size_t n);
  void feed_stdin();
  void on_exited(exit_status s);
  void arm_drain_timer();
  void on_drain_idle(const std::error_code& ec, std::uint64_t generation);
  static int unread_bytes(output_pipe& p);
  void close_pipe(output_pipe& p);
  void close_stdin();
  void complete();

  std::weak_ptr<child_process> owner;
  process_reaper& reaper;
  pid_t pid = -1;
  output_pipe out;
  output_pipe err;
  asio::posix::stream_descriptor in;
  std::string stdin_data;
  std::size_t stdin_offset = 0;
  asio::steady_timer drain_timer;
  asio::steady_timer kill_timer;
  std::chrono::milliseconds drain_idle;
  // Bumped whenever the drain clock restarts or stops, so that a timer completion that was
  // already queued when we re-armed or cancelled it is recognised as stale.
  std::uint64_t drain_generation = 0;
  bool paused = false;
  bool exited = false;
  bool completed = false;
  exit_status status;
  output_handler on_output;
  exit_handler on_exit;
};

std::pair<std::shared_ptr<child_process>, std::error_code>
child_process::spawn(asio::io_context& io, process_reaper& reaper, process_scope& scope,
                     const spawn_options& options, output_handler on_output, exit_handler on_exit) {
  const auto fail = [](std::error_code ec) {
    return std::pair<std::shared_ptr<child_process>, std::error_code>{nullptr, ec};
  };
  if (options.argv.empty() || options.argv.front().empty()) {
    return fail({EINVAL, std::system_category()});
  }
  if (!options.cwd.empty()) {
    if (auto ec = make_directories(options.cwd))
      return fail(ec);
  }

  pipe_pair stdin_pipe;
  pipe_pair stdout_pipe;
  pipe_pair stderr_pipe;
  if (options.stdin_data) {
    if (auto ec = make_pipe(stdin_pipe, false))
      return fail(ec);
  }
  if (auto ec = make_pipe(stdout_pipe, true))
    return fail(ec);
  if (auto ec = make_pipe(stderr_pipe, true))
    return fail(ec);

  spawn_file_actions fa;
  spawn_attributes sa;
  if (!fa.ok || !sa.ok)
    return fail({ENOMEM, std::system_category()});

  int rc = 0;
  const auto step = [&rc](int result) {
    if (rc == 0)
      rc = result;
  };
  if (options.stdin_data) {
    step(::posix_spawn_file_actions_adddup2(&fa.actions, stdin_pipe.read_end.get(), 0));
  } else {
    step(::posix_spawn_file_actions_addopen(&fa.actions, 0, "/dev/null", O_RDONLY, 0));
  }
  step(::posix_spawn_file_actions_adddup2(&fa.actions, stdout_pipe.write_end.get(), 1));
  step(::posix_spawn_file_actions_adddup2(&fa.actions, stderr_pipe.write_end.get(), 2));
  if (!options.cwd.empty()) {
    step(::posix_spawn_file_actions_addchdir_np(&fa.actions, options.cwd.c_str()));
  }
  // O_CLOEXEC everywhere is not enough: descriptors created by code we do not control (or by
  // another thread between socket() and fcntl) would leak into every command.
  step(::posix_spawn_file_actions_addclosefrom_np(&fa.actions, 3));

  // Own process group so terminate() reaches the whole pipeline; empty mask and default
  // dispositions because the runtime ignores SIGPIPE and handles SIGCHLD/SIGTERM/SIGINT/SIGHUP,
  // and ignored signals survive exec.
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t all_signals;
  sigfillset(&all_signals);
  sigdelset(&all_signals, SIGKILL);
  sigdelset(&all_signals, SIGSTOP);
  step(::posix_spawnattr_setflags(&sa.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETSIGDEF));
  step(::posix_spawnattr_setpgroup(&sa.attr, 0));
  step(::posix_spawnattr_setsigmask(&sa.attr, &empty_mask));
  step(::posix_spawnattr_setsigdefault(&sa.attr, &all_signals));
  if (rc != 0)
    return fail({rc, std::system_category()});

  std::vector<std::string> argv_strings(options.argv.begin(), options.argv.end());
  std::vector<char*> argv = c_strings(argv_strings);
  std::string pwd;
  if (!options.cwd.empty()) {
    std::error_code ec;
    const auto dir = std::filesystem::absolute(options.cwd, ec);
    if (!ec)
      pwd = dir.lexically_normal().string();
    while (pwd.size() > 1 && pwd.back() == '/') // "a/b/.." normalizes to "a/"
      pwd.pop_back();
  }
  std::vector<std::string> env_strings = build_environment(options.env, scope.id(), pwd);
  std::vector<char*> envp = c_strings(env_strings);

  pid_t pid = -1;
  const bool search_path = options.argv.front().find('/') == std::string::npos;
  if (const cgroup_target* target = scope.spawn_target()) {
    // Born in the scope's cgroup: the same set-up as the posix_spawn below, by hand.
    exec_plan plan;
    plan.paths = exec_candidates(options.argv.front());
    plan.argv = argv.data();
    plan.envp = envp.data();
    plan.stdin_fd = options.stdin_data ? stdin_pipe.read_end.get() : -1;
    plan.stdout_fd = stdout_pipe.write_end.get();
    plan.stderr_fd = stderr_pipe.write_end.get();
    plan.cwd = options.cwd;
    if (auto ec = spawn_in_cgroup(plan, *target, pid))
      return fail(ec);
  } else {
    // Inherited by the child and everything it starts: the subreaper containment's way to
    // recognise an orphan of this scope that dropped the marker variable.
    const scoped_rttime_tag tag(scope.rttime_tag());
    // glibc's posix_spawn waits for the exec (CLONE_VFORK) and returns exec's errno, so a
    // missing binary is reported here rather than as exit status 127.
    rc = search_path
             ? ::posix_spawnp(&pid, argv[0], &fa.actions, &sa.attr, argv.data(), envp.data())
             : ::posix_spawn(&pid, argv[0], &fa.actions, &sa.attr, argv.data(), envp.data());
    if (rc != 0)
      return fail({rc, std::system_category()});
  }

  std::shared_ptr<child_process> self(new child_process());
  self->impl_ =
      std::make_unique<impl>(io, reaper, options, std::move(on_output), std::move(on_exit));
  impl& d = *self->impl_;
  d.owner = self;
  d.pid = pid;
  // Before anything can return to the io_context: SIGCHLD is handled there, so the reaper
  // cannot have collected this pid yet.
  reaper.watch(pid, [owner = std::weak_ptr<child_process>(self)](exit_status s) {
    if (const auto alive = owner.lock())
      alive->impl_->on_exited(s);
  });
  scope.add_group(pid);

  // The child's ends close here, when the pipe_pairs go out of scope, so that EOF on our ends
  // means every writer is gone.
  std::error_code ec;
  d.out.stream.assign(stdout_pipe.read_end.release(), ec);
  if (!ec)
    d.err.stream.assign(stderr_pipe.read_end.release(), ec);
  if (!ec && options.stdin_data)
    d.in.assign(stdin_pipe.write_end.release(), ec);
  // On failure the destructor kills the process group and unwatches the pid.
  if (ec)
    return fail(ec);

  d.start_read(d.out);
  d.start_read(d.err);
  if (options.stdin_data) {
    d.stdin_data = *options.stdin_data;
    d.feed_stdin();
  }
  return {std::move(self), {}};
}

child_process::~child_process() {
  if (!impl_ || impl_->pid <= 0)
    return;
  if (!impl_->exited) {
    // The pid is not reaped yet, so the group id cannot have been recycled.
    ::kill(-impl_->pid, SIGKILL);
    impl_->reaper.unwatch(impl_->pid);
  }
  // Descriptors and timers close with impl_; their pending handlers only hold weak owners.
}

pid_t child_process::pid() const noexcept {
  return impl_->pid;
}

void child_process::pause_output() {
  if (impl_->paused)
    return;
  impl_->paused = true;
  ++impl_->drain_generation;
  impl_->drain_timer.cancel();
}

void child_process::resume_output() {
  if (!impl_->paused)
    return;
  impl_->paused = false;
  if (impl_->completed)
    return;
  if (impl_->exited)
    impl_->arm_drain_timer();
  impl_->start_read(impl_->out);
  impl_->start_read(impl_->err);
}

bool child_process::output_paused() const noexcept {
  return impl_->paused;
}

void child_process::terminate(std::chrono::milliseconds grace) {
  impl& d = *impl_;
  if (d.completed)
    return;
  ::kill(-d.pid, SIGTERM);
  ::kill(-d.pid, SIGCONT); // a stopped process would keep SIGTERM pending
  metrics::count_kill_signals(metrics::kill_signal::sigterm, 1);
  if (d.exited)
    return;
  d.kill_timer.expires_after(grace);
  d.kill_timer.async_wait([owner = d.owner](const std::error_code& ec) {
    if (ec)
      return;
    const auto self = owner.lock();
    if (!self || self->impl_->exited || self->impl_->completed)
      return;
    ::kill(-self->impl_->pid, SIGKILL);
    metrics::count_kill_signals(metrics::kill_signal::sigkill, 1);
  });
}

void child_process::impl::start_read(output_pipe& p) {
  if (paused || p.reading || completed || !p.stream.is_open())
    return;
  p.reading = true;
  p.stream.async_read_some(
      asio::buffer(p.buffer.get(), p.buffer_bytes),
      [owner = owner, which = p.which](const std::error_code& ec, std::size_t n) {
        const auto self = owner.lock();
        if (!self)
          return;
        impl& d = *self->impl_;
        d.on_read(which == output_stream::stdout_stream ? d.out : d.err, ec, n);
      });
}

void child_process::impl::on_read(output_pipe& p, const std::error_code& ec, std::size_t n) {
  p.reading = false;
  if (completed || ec == asio::error::operation_aborted)
    return;
  if (ec) {
    // EOF: every writer (the child and whatever inherited the pipe) has closed it.
    close_pipe(p);
    if (exited && !out.stream.is_open() && !err.stream.is_open())
      complete();
    return;
  }
  if (exited && !paused)
    arm_drain_timer(); // the pipe is not idle
  if (on_output)
    on_output(p.which, std::string_view(p.buffer.get(), n));
  start_read(p);
}

void child_process::impl::feed_stdin() {
  while (stdin_offset < stdin_data.size()) {
    const ssize_t n = write_without_sigpipe(in.native_handle(), stdin_data.data() + stdin_offset,
                                            stdin_data.size() - stdin_offset);
    if (n >= 0) {
      stdin_offset += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      in.async_wait(asio::posix::stream_descriptor::wait_write,
                    [owner = owner](const std::error_code& ec) {
                      if (ec)
                        return;
                      if (const auto self = owner.lock())
                        self->impl_->feed_stdin();
                    });
      return;
    }
    break; // EPIPE: nobody will read the rest; that is the child's choice, not an error
  }
  close_stdin();
}

void child_process::impl::on_exited(exit_status s) {
  exited = true;
  status = s;
  kill_timer.cancel();
  if (!out.stream.is_open() && !err.stream.is_open())
    return complete();
  // Something else still holds the pipes (a `sleep 100 &`): drain until they go quiet.
  if (!paused)
    arm_drain_timer();
}

void child_process::impl::arm_drain_timer() {
  const std::uint64_t generation = ++drain_generation;
  drain_timer.expires_after(drain_idle);
  drain_timer.async_wait([owner = owner, generation](const std::error_code& ec) {
    if (const auto self = owner.lock())
      self->impl_->on_drain_idle(ec, generation);
  });
}

void child_process::impl::on_drain_idle(const std::error_code& ec, std::uint64_t generation) {
  if (ec || generation != drain_generation || paused || completed)
    return;
  // The timer only knows when we last got data, not whether more is waiting: a busy loop (a
  // slow client, a big frame) can run this before a ready read. Unread bytes mean not idle.
  if (unread_bytes(out) > 0 || unread_bytes(err) > 0)
    return arm_drain_timer();
  // A read may also have completed already with its handler still queued; posting puts us
  // behind it, and its chunk bumps the generation.
  asio::post(drain_timer.get_executor(), [owner = owner, generation] {
    const auto self = owner.lock();
    if (!self)
      return;
    impl& d = *self->impl_;
    if (generation == d.drain_generation && !d.paused && !d.completed)
      d.complete();
  });
}

int child_process::impl::unread_bytes(output_pipe& p) {
  int n = 0;
  if (!p.stream.is_open() || ::ioctl(p.stream.native_handle(), FIONREAD, &n) != 0)
    return 0;
  return n;
}

void child_process::impl::close_pipe(output_pipe& p) {
  std::error_code ignored;
  p.stream.close(ignored);
}

void child_process::impl::close_stdin() {
  std::error_code ignored;
  in.close(ignored);
  std::string().swap(stdin_data);
}

void child_process::impl::complete() {
  completed = true;
  close_pipe(out);
  close_pipe(err);
  close_stdin();
  drain_timer.cancel();
  kill_timer.cancel();
  // Handlers often hold their owner, which holds us: drop them to break the cycle.
  output_handler drop_output = std::move(on_output);
  on_output = nullptr;
  exit_handler report = std::move(on_exit);
  on_exit = nullptr;
  if (report)
    report(status);
}

} // namespace agentrt::runtime::process

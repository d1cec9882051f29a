// posix_spawn, pipe plumbing and completion tracking for one child (see child_process.hpp).
#include "process/child_process.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
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
#include "process/pty.hpp"
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

// The child's standard descriptors: its terminal (PTY mode: 0, 1 and 2, no pipes) or pipes.
struct child_stdio {
  bool pty_mode = false;
  bool stdin_pipe_wanted = false; // else the child's stdin is /dev/null
  pty_pair terminal;
  pipe_pair stdin_pipe;
  pipe_pair stdout_pipe;
  pipe_pair stderr_pipe;
};

protocol::result<child_stdio> open_stdio(const spawn_options& options) {
  child_stdio stdio;
  stdio.pty_mode = options.pty.has_value();
  stdio.stdin_pipe_wanted = !stdio.pty_mode && (options.stdin_data || options.stdin_stream);
  if (stdio.pty_mode) {
    auto terminal = open_pty(*options.pty);
    if (!terminal.ok())
      return std::move(terminal).error();
    stdio.terminal = std::move(terminal).value();
    return stdio;
  }
  if (stdio.stdin_pipe_wanted) {
    if (auto ec = make_pipe(stdio.stdin_pipe, false))
      return ec;
  }
  if (auto ec = make_pipe(stdio.stdout_pipe, true))
    return ec;
  if (auto ec = make_pipe(stdio.stderr_pipe, true))
    return ec;
  return stdio;
}

// What posix_spawn does between fork and exec: stdio, the working directory, no inherited
// descriptors, an own process group (or session) and clean signal state.
std::error_code describe_spawn(const spawn_options& options, const child_stdio& stdio,
                               spawn_file_actions& fa, spawn_attributes& sa) {
  if (!fa.ok || !sa.ok)
    return {ENOMEM, std::system_category()};
  int rc = 0;
  const auto step = [&rc](int result) {
    if (rc == 0)
      rc = result;
  };
  if (stdio.pty_mode) {
    // glibc runs POSIX_SPAWN_SETSID before the file actions, so this open (without O_NOCTTY)
    // makes the terminal the new session's controlling terminal.
    step(::posix_spawn_file_actions_addopen(&fa.actions, 0, stdio.terminal.slave_path.c_str(),
                                            O_RDWR, 0));
    step(::posix_spawn_file_actions_adddup2(&fa.actions, 0, 1));
    step(::posix_spawn_file_actions_adddup2(&fa.actions, 0, 2));
  } else {
    if (stdio.stdin_pipe_wanted) {
      step(::posix_spawn_file_actions_adddup2(&fa.actions, stdio.stdin_pipe.read_end.get(), 0));
    } else {
      step(::posix_spawn_file_actions_addopen(&fa.actions, 0, "/dev/null", O_RDONLY, 0));
    }
    step(::posix_spawn_file_actions_adddup2(&fa.actions, stdio.stdout_pipe.write_end.get(), 1));
    step(::posix_spawn_file_actions_adddup2(&fa.actions, stdio.stderr_pipe.write_end.get(), 2));
  }
  if (!options.cwd.empty()) {
    step(::posix_spawn_file_actions_addchdir_np(&fa.actions, options.cwd.c_str()));
  }
  // O_CLOEXEC everywhere is not enough: descriptors created by code we do not control (or by
  // another thread between socket() and fcntl) would leak into every command.
  step(::posix_spawn_file_actions_addclosefrom_np(&fa.actions, 3));

  // Own process group so terminate() reaches the whole pipeline (in PTY mode own session, whose
  // id is also its group's: setsid fails in a group leader, so not both); empty mask and
  // default dispositions because the runtime ignores SIGPIPE and handles
  // SIGCHLD/SIGTERM/SIGINT/SIGHUP, and ignored signals survive exec.
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t all_signals;
  sigfillset(&all_signals);
  sigdelset(&all_signals, SIGKILL);
  sigdelset(&all_signals, SIGSTOP);
  const short group_flag = stdio.pty_mode ? POSIX_SPAWN_SETSID : POSIX_SPAWN_SETPGROUP;
  step(::posix_spawnattr_setflags(&sa.attr,
                                  group_flag | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF));
  if (!stdio.pty_mode)
    step(::posix_spawnattr_setpgroup(&sa.attr, 0));
  step(::posix_spawnattr_setsigmask(&sa.attr, &empty_mask));
  step(::posix_spawnattr_setsigdefault(&sa.attr, &all_signals));
  if (rc != 0)
    return {rc, std::system_category()};
  return {};
}

// The child's environment: the runtime's with options.env over it, PWD naming the child's
// directory and, on a terminal, a TERM unless the caller set one.
std::vector<std::string> child_environment(const spawn_options& options,
                                           const std::string& scope_id, bool pty_mode) {
  std::string pwd;
  if (!options.cwd.empty()) {
    std::error_code ec;
    const auto dir = std::filesystem::absolute(options.cwd, ec);
    if (!ec)
      pwd = dir.lexically_normal().string();
    while (pwd.size() > 1 && pwd.back() == '/') // "a/b/.." normalizes to "a/"
      pwd.pop_back();
  }
  if (pty_mode && options.env.count("TERM") == 0) {
    // What the terminal's consumer (xterm.js, a person's terminal) most likely understands.
    std::map<std::string, std::string> with_term = options.env;
    with_term.emplace("TERM", "xterm-256color");
    return build_environment(with_term, scope_id, pwd);
  }
  return build_environment(options.env, scope_id, pwd);
}

// Starts the program: born in the scope's cgroup when it has one, else posix_spawn.
protocol::result<pid_t> start_child(const spawn_options& options, const child_stdio& stdio,
                                    process_scope& scope, std::vector<char*>& argv,
                                    std::vector<char*>& envp) {
  if (const cgroup_target* target = scope.spawn_target()) {
    // The same set-up as describe_spawn's, by hand.
    exec_plan plan;
    plan.paths = exec_candidates(options.argv.front());
    plan.argv = argv.data();
    plan.envp = envp.data();
    plan.stdin_fd = stdio.stdin_pipe_wanted ? stdio.stdin_pipe.read_end.get() : -1;
    plan.stdout_fd = stdio.stdout_pipe.write_end.get();
    plan.stderr_fd = stdio.stderr_pipe.write_end.get();
    plan.cwd = options.cwd;
    plan.tty_path = stdio.terminal.slave_path;
    return spawn_in_cgroup(plan, *target);
  }
  spawn_file_actions fa;
  spawn_attributes sa;
  if (auto ec = describe_spawn(options, stdio, fa, sa))
    return ec;
  // Inherited by the child and everything it starts: the subreaper containment's way to
  // recognise an orphan of this scope that dropped the marker variable.
  const scoped_rttime_tag tag(scope.rttime_tag());
  // glibc's posix_spawn waits for the exec (CLONE_VFORK) and returns exec's errno, so a
  // missing binary is reported here rather than as exit status 127.
  pid_t pid = -1;
  const bool search_path = options.argv.front().find('/') == std::string::npos;
  const int rc =
      search_path ? ::posix_spawnp(&pid, argv[0], &fa.actions, &sa.attr, argv.data(), envp.data())
                  : ::posix_spawn(&pid, argv[0], &fa.actions, &sa.attr, argv.data(), envp.data());
  if (rc != 0)
    return std::error_code(rc, std::system_category());
  return pid;
}

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
    bool at_eof = false; // a terminal's master, kept open after EIO until the child exits
    bool done() const { return at_eof || !stream.is_open(); }
  };

  impl(asio::io_context& io, process_reaper& reaper, const spawn_options& options,
       output_handler on_output, exit_handler on_exit)
      : reaper(reaper), out(io, options.pty ? output_stream::pty : output_stream::stdout_stream,
                            std::max<std::size_t>(options.read_buffer_bytes, 1)),
        err(io, output_stream::stderr_stream, std::max<std::size_t>(options.read_buffer_bytes, 1)),
        in(io), drain_timer(io), kill_timer(io), drain_idle(options.drain_idle),
        pty_mode(options.pty.has_value()), stdin_streamed(options.stdin_stream || pty_mode),
        on_output(std::move(on_output)), on_exit(std::move(on_exit)),
        on_stdin_progress(options.on_stdin_progress) {}

  void start_read(output_pipe& p);
  void on_read(output_pipe& p, const std::error_code& ec, std::size_t n);
  void feed_stdin();
  void wait_stdin_writable();
  asio::posix::stream_descriptor& stdin_target() { return pty_mode ? out.stream : in; }
  bool stdin_accepting() const {
    return stdin_streamed && !stdin_close_requested && !stdin_shut && !completed;
  }
  void queue_stdin(std::string_view chunk);
  void type_end_of_file();
  void shut_stdin();
  void notify_stdin_progress();
  void report_stdin_progress();
  void on_exited(exit_status s);
  void arm_drain_timer();
  void on_drain_idle(const std::error_code& ec, std::uint64_t generation);
  static int unread_bytes(output_pipe& p);
  void close_pipe(output_pipe& p);
  void complete();

  std::weak_ptr<child_process> owner;
  process_reaper& reaper;
  pid_t pid = -1;
  output_pipe out;
  output_pipe err;
  asio::posix::stream_descriptor in; // the stdin pipe; in PTY mode out.stream takes input too
  std::string stdin_data;            // pending bytes from stdin_offset on
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
  const bool pty_mode;
  const bool stdin_streamed;  // write_stdin() allowed until close_stdin()
  bool has_stdin = false;     // a pipe or the terminal, so there is progress to report
  bool stdin_waiting = false; // an async_wait for writability is in flight
  bool stdin_close_requested = false;
  bool stdin_shut = false; // no more bytes go to the child
  char last_typed = '\n';  // PTY mode: decides whether VEOF goes once or twice
  std::uint64_t stdin_written_total = 0;
  std::uint64_t stdin_reported = 0;
  bool stdin_closed_reported = false;
  bool stdin_progress_posted = false;
  exit_status status;
  output_handler on_output;
  exit_handler on_exit;
  stdin_progress_handler on_stdin_progress;
};

protocol::result<std::shared_ptr<child_process>>
child_process::spawn(asio::io_context& io, process_reaper& reaper, process_scope& scope,
                     const spawn_options& options, output_handler on_output, exit_handler on_exit) {
  if (options.argv.empty() || options.argv.front().empty()) {
    return std::error_code(EINVAL, std::system_category());
  }
  if (!options.cwd.empty()) {
    if (auto ec = make_directories(options.cwd))
      return ec;
  }
  auto opened = open_stdio(options);
  if (!opened.ok())
    return opened.error().code;
  child_stdio& stdio = opened.value();

  std::vector<std::string> argv_strings(options.argv.begin(), options.argv.end());
  std::vector<char*> argv = c_strings(argv_strings);
  std::vector<std::string> env_strings = child_environment(options, scope.id(), stdio.pty_mode);
  std::vector<char*> envp = c_strings(env_strings);
  const auto started = start_child(options, stdio, scope, argv, envp);
  if (!started.ok())
    return started.error().code;
  const pid_t pid = started.value();

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

  // The child's ends close here, when stdio goes out of scope, so that EOF on our ends
  // means every writer is gone. In PTY mode the runtime never opened the slave: once the
  // child and whatever inherited it close it, reading the master fails with EIO (EOF).
  std::error_code ec;
  if (stdio.pty_mode) {
    d.out.stream.assign(stdio.terminal.master.release(), ec);
  } else {
    d.out.stream.assign(stdio.stdout_pipe.read_end.release(), ec);
    if (!ec)
      d.err.stream.assign(stdio.stderr_pipe.read_end.release(), ec);
    if (!ec && stdio.stdin_pipe_wanted)
      d.in.assign(stdio.stdin_pipe.write_end.release(), ec);
  }
  // On failure the destructor kills the process group and unwatches the pid.
  if (ec)
    return ec;

  d.start_read(d.out);
  d.start_read(d.err);
  d.has_stdin = stdio.pty_mode || stdio.stdin_pipe_wanted;
  if (d.has_stdin) {
    if (options.stdin_data)
      d.queue_stdin(*options.stdin_data);
    d.feed_stdin();
  }
  return self;
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

bool child_process::write_stdin(std::string_view chunk) {
  impl& d = *impl_;
  if (!d.stdin_accepting())
    return false;
  d.queue_stdin(chunk);
  d.feed_stdin();
  return true;
}

void child_process::close_stdin() {
  impl& d = *impl_;
  if (!d.stdin_accepting())
    return;
  d.stdin_close_requested = true;
  if (d.pty_mode)
    d.type_end_of_file();
  d.feed_stdin();
}

std::uint64_t child_process::stdin_written() const noexcept {
  return impl_->stdin_written_total;
}

std::size_t child_process::stdin_pending() const noexcept {
  return impl_->stdin_data.size() - impl_->stdin_offset;
}

std::error_code child_process::signal(int sig) {
  impl& d = *impl_;
  if (d.completed)
    return {ESRCH, std::system_category()};
  pid_t group = d.pid;
  if (d.pty_mode && !d.out.done()) {
    // Ctrl-C's target: the job in the foreground (a shell's child), not the shell itself.
    const pid_t foreground = ::tcgetpgrp(d.out.stream.native_handle());
    if (foreground > 0)
      group = foreground;
  }
  if (::kill(-group, sig) != 0)
    return last_error();
  return {};
}

std::error_code child_process::resize(unsigned short cols, unsigned short rows) {
  impl& d = *impl_;
  if (!d.pty_mode)
    return {ENOTTY, std::system_category()};
  if (d.completed || d.out.done()) // nobody has the terminal open any more
    return {ESRCH, std::system_category()};
  return set_terminal_size(d.out.stream.native_handle(), terminal_size{cols, rows});
}

bool child_process::is_pty() const noexcept {
  return impl_->pty_mode;
}

void child_process::impl::start_read(output_pipe& p) {
  if (paused || p.reading || completed || p.done())
    return;
  p.reading = true;
  p.stream.async_read_some(
      asio::buffer(p.buffer.get(), p.buffer_bytes),
      [owner = owner, which = p.which](const std::error_code& ec, std::size_t n) {
        const auto self = owner.lock();
        if (!self)
          return;
        impl& d = *self->impl_;
        d.on_read(which == output_stream::stderr_stream ? d.err : d.out, ec, n);
      });
}

void child_process::impl::on_read(output_pipe& p, const std::error_code& ec, std::size_t n) {
  p.reading = false;
  if (completed || ec == asio::error::operation_aborted)
    return;
  if (ec) {
    // EOF: every writer (the child and whatever inherited the pipe) has closed it. A terminal
    // says EIO instead once nobody has its slave open; then nobody reads input either.
    if (pty_mode) {
      // Not closed before the child is reaped: closing the master hangs the terminal up, and
      // the SIGHUP would kill a child that closed its descriptors but has not exited yet.
      p.at_eof = true;
      if (!stdin_shut) {
        shut_stdin();
        notify_stdin_progress();
      }
    } else {
      close_pipe(p);
    }
    if (exited && out.done() && err.done())
      complete();
    return;
  }
  if (exited && !paused)
    arm_drain_timer(); // the pipe is not idle
  if (on_output)
    on_output(p.which, std::string_view(p.buffer.get(), n));
  start_read(p);
}

// Writes pending bytes until the child stops taking them (then waits for it to be writable
// again), stdin is done (then closes it), or the child closed its end.
void child_process::impl::feed_stdin() {
  asio::posix::stream_descriptor& target = stdin_target();
  if (stdin_waiting || stdin_shut || !target.is_open())
    return;
  const std::uint64_t before = stdin_written_total;
  while (stdin_offset < stdin_data.size()) {
    const ssize_t n = write_without_sigpipe(
        target.native_handle(), stdin_data.data() + stdin_offset, stdin_data.size() - stdin_offset);
    if (n >= 0) {
      stdin_offset += static_cast<std::size_t>(n);
      stdin_written_total += static_cast<std::uint64_t>(n);
      continue;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_stdin_writable();
      if (stdin_written_total != before)
        notify_stdin_progress();
      return;
    }
    // EPIPE (EIO from a hung-up terminal): nobody will read the rest; that is the child's
    // choice, not an error.
    shut_stdin();
    notify_stdin_progress();
    return;
  }
  // All written: let go of the buffer (a caller's window can have made it large).
  stdin_offset = 0;
  stdin_data.clear();
  if (stdin_data.capacity() > 1024 * 1024)
    std::string().swap(stdin_data);
  if (!stdin_streamed || stdin_close_requested)
    shut_stdin();
  if (stdin_shut || stdin_written_total != before)
    notify_stdin_progress();
}

void child_process::impl::wait_stdin_writable() {
  stdin_waiting = true;
  stdin_target().async_wait(asio::posix::stream_descriptor::wait_write,
                            [owner = owner](const std::error_code& ec) {
                              const auto self = owner.lock();
                              if (!self)
                                return;
                              self->impl_->stdin_waiting = false;
                              if (!ec)
                                self->impl_->feed_stdin();
                            });
}

void child_process::impl::queue_stdin(std::string_view chunk) {
  if (chunk.empty())
    return;
  if (stdin_offset > 0) { // keep the pending bytes at the front; the caller bounds them
    stdin_data.erase(0, stdin_offset);
    stdin_offset = 0;
  }
  stdin_data.append(chunk);
  last_typed = chunk.back();
}

// The terminal's EOF character, as a person types Ctrl-D: in canonical mode a VEOF after a
// partial line only hands that line over, so a second one is needed for the EOF.
void child_process::impl::type_end_of_file() {
  termios mode{};
  char eof = '\x04';
  bool canonical = true;
  if (::tcgetattr(out.stream.native_handle(), &mode) == 0) {
    if (mode.c_cc[VEOF] != _POSIX_VDISABLE)
      eof = static_cast<char>(mode.c_cc[VEOF]);
    canonical = (mode.c_lflag & ICANON) != 0;
  }
  const bool at_line_start = last_typed == '\n' || last_typed == '\r' || last_typed == eof;
  queue_stdin(std::string(canonical && !at_line_start ? 2 : 1, eof));
}

// No more bytes go to the child: the pipe closes (in PTY mode the terminal stays open for
// output) and whatever was pending is dropped.
void child_process::impl::shut_stdin() {
  stdin_shut = true;
  if (!pty_mode) {
    std::error_code ignored;
    in.close(ignored);
  }
  stdin_offset = 0;
  std::string().swap(stdin_data);
}

// Reports from the io_context, never from inside the caller's write_stdin(): one post at a
// time, reporting whatever the total is when it runs.
void child_process::impl::notify_stdin_progress() {
  if (!on_stdin_progress || stdin_progress_posted || stdin_closed_reported)
    return;
  stdin_progress_posted = true;
  asio::post(drain_timer.get_executor(), [owner = owner] {
    if (const auto self = owner.lock()) {
      self->impl_->stdin_progress_posted = false;
      self->impl_->report_stdin_progress();
    }
  });
}

void child_process::impl::report_stdin_progress() {
  if (!on_stdin_progress || stdin_closed_reported)
    return;
  if (!stdin_shut && stdin_written_total == stdin_reported)
    return;
  stdin_reported = stdin_written_total;
  stdin_closed_reported = stdin_shut;
  on_stdin_progress(stdin_written_total, stdin_shut);
}

void child_process::impl::on_exited(exit_status s) {
  exited = true;
  status = s;
  kill_timer.cancel();
  if (out.done() && err.done())
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
  if (p.done() || ::ioctl(p.stream.native_handle(), FIONREAD, &n) != 0)
    return 0;
  return n;
}

void child_process::impl::close_pipe(output_pipe& p) {
  std::error_code ignored;
  p.stream.close(ignored);
}

void child_process::impl::complete() {
  completed = true;
  close_pipe(out);
  close_pipe(err);
  shut_stdin();
  drain_timer.cancel();
  kill_timer.cancel();
  // Handlers often hold their owner, which holds us: drop them to break the cycle.
  output_handler drop_output = std::move(on_output);
  on_output = nullptr;
  stdin_progress_handler progress = std::move(on_stdin_progress);
  on_stdin_progress = nullptr;
  if (progress && has_stdin && !stdin_closed_reported) {
    stdin_closed_reported = true;
    progress(stdin_written_total, true);
  }
  exit_handler report = std::move(on_exit);
  on_exit = nullptr;
  if (report)
    report(status);
}

} // namespace agentrt::runtime::process

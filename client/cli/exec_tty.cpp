// agentrt-client exec --tty: an interactive command, like `ssh -t`. The command runs as a
// session process on a pseudo-terminal sized like the local one; the local terminal is put in
// raw mode (restored on every way out: the end of the process, an error, SIGTERM/SIGHUP), keys
// go to the process as they are typed, its terminal output comes back byte for byte, SIGWINCH
// becomes a resize. Without a local terminal (stdin a pipe) the same happens at 80x24 without
// raw mode, and the end of stdin is the terminal's end-of-file character.
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <future>
#include <thread>

#include "session_run.hpp"
#include "subcommands.hpp"

namespace agentrt::cli {

namespace ac = agentrt::client;
using namespace std::chrono_literals;

namespace {

// The local terminal in raw mode for as long as it lives.
class raw_terminal {
public:
  explicit raw_terminal(int fd) : fd_(fd) {
    if (tcgetattr(fd_, &saved_) != 0)
      return;
    termios raw = saved_;
    cfmakeraw(&raw);
    active_ = tcsetattr(fd_, TCSAFLUSH, &raw) == 0;
  }
  ~raw_terminal() { restore(); }
  raw_terminal(const raw_terminal&) = delete;
  raw_terminal& operator=(const raw_terminal&) = delete;
  void restore() {
    if (active_)
      tcsetattr(fd_, TCSAFLUSH, &saved_);
    active_ = false;
  }

private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

protocol::terminal_size local_size(bool tty) {
  protocol::terminal_size size; // 80x24 without a terminal
  winsize ws{};
  if (tty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
    size.cols = std::min<int>(ws.ws_col, 1000);
    size.rows = std::min<int>(ws.ws_row, 1000);
  }
  return size;
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return; // stdout closed: nothing to do about it
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

const char* signal_name(int sig) {
  switch (sig) {
  case SIGINT:
    return "SIGINT";
  case SIGHUP:
    return "SIGHUP";
  case SIGQUIT:
    return "SIGQUIT";
  default:
    return "SIGTERM";
  }
}

// Forwards stdin and signals to the process until stop() (one thread: poll on stdin, a
// signalfd and a wake-up pipe).
class forwarder {
public:
  forwarder(ac::process_handle p, bool tty, int signal_fd)
      : p_(std::move(p)), tty_(tty), signal_fd_(signal_fd) {
    if (pipe(wake_.data()) != 0)
      wake_ = {-1, -1};
    thread_ = std::thread([this] { run(); });
  }
  ~forwarder() {
    stop();
    for (int fd : wake_)
      if (fd >= 0)
        close(fd);
  }
  forwarder(const forwarder&) = delete;
  forwarder& operator=(const forwarder&) = delete;
  void stop() {
    if (!thread_.joinable())
      return;
    stopping_ = true;
    if (wake_[1] >= 0)
      (void)!write(wake_[1], "x", 1);
    thread_.join();
  }

private:
  void run() {
    bool stdin_open = true;
    int terminations = 0;
    std::array<char, 64 * 1024> buf{};
    while (!stopping_) {
      pollfd fds[3] = {{wake_[0], POLLIN, 0},
                       {signal_fd_, POLLIN, 0},
                       {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
      if (poll(fds, 3, -1) < 0) {
        if (errno == EINTR)
          continue;
        return;
      }
      if (fds[0].revents != 0)
        return;
      if (fds[1].revents & POLLIN) {
        signalfd_siginfo info{};
        if (read(signal_fd_, &info, sizeof info) == sizeof info) {
          const int sig = static_cast<int>(info.ssi_signo);
          if (sig == SIGWINCH) {
            if (tty_) {
              const auto size = local_size(true);
              p_.async_resize(size.cols, size.rows, nullptr);
            }
          } else {
            // Passed on to the process (its terminal's foreground group); a second
            // termination signal kills it.
            const bool again = sig != SIGINT && ++terminations > 1;
            p_.async_signal(again ? "SIGKILL" : signal_name(sig), nullptr);
          }
        }
      }
      if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t n = read(STDIN_FILENO, buf.data(), buf.size());
        if (n < 0 && errno == EINTR)
          continue;
        if (n > 0) {
          if (p_.write_stdin(std::string_view(buf.data(), static_cast<std::size_t>(n))))
            stdin_open = false; // the process no longer reads: keep showing its output
        } else {
          // End of input: the terminal's end-of-file character (^D).
          stdin_open = false;
          p_.async_close_stdin(nullptr);
        }
      }
    }
  }

  ac::process_handle p_;
  bool tty_;
  int signal_fd_;
  std::array<int, 2> wake_{-1, -1};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

} // namespace

int run_exec_tty(const cli_options& o) {
  // Signals arrive through the signalfd, in every thread (blocked before the loop's thread
  // starts, which inherits the mask).
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT})
    sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
  struct fd_closer {
    int fd;
    ~fd_closer() {
      if (fd >= 0)
        close(fd);
    }
  } closer{signal_fd};

  const bool tty = isatty(STDIN_FILENO) == 1;
  ac::io_loop loop;
  auto [s, connect_error] = ac::async_session::connect(loop, connect_options_for(o)).get();
  if (!s)
    return report_failure(connect_error, o.json);
  if (!s->supports_processes()) {
    report(cli_error{ac::errc_name(ac::errc::not_supported),
                     "exec --tty needs a runtime with session processes; " + o.url +
                         " did not offer them (nothing was run)",
                     "{}", exit_connection},
           o.json);
    s->end().wait_for(10s);
    return exit_connection;
  }

  ac::process_options po;
  po.command = o.commands.front();
  po.cwd = o.cwd;
  if (!o.env.empty())
    po.env = o.env;
  po.pty = local_size(tty);
  po.secrets_to_redact = o.secrets;
  po.timeout_s = o.command_timeout_s;
  ac::process_callbacks callbacks;
  callbacks.on_pty = [](std::string_view bytes) { write_all(STDOUT_FILENO, bytes); };
  auto [p, start_error] = s->start_process(po, callbacks).get();
  if (start_error) {
    report(start_error, o.json);
    s->end().wait_for(10s);
    return from_client_error(start_error).exit_code;
  }

  std::optional<raw_terminal> raw;
  if (tty)
    raw.emplace(STDIN_FILENO);
  std::pair<ac::process_exit, ac::client_error> outcome;
  {
    forwarder forward(p, tty, signal_fd);
    outcome = p.wait();
  }
  raw.reset(); // before anything more is printed
  auto& [exit, wait_error] = outcome;
  if (wait_error)
    return report_failure(wait_error, o.json);
  // The process has been collected: the end of the session has nothing left to kill.
  if (auto f = s->end(); f.wait_for(10s) == std::future_status::ready)
    (void)f.get();
  return exit.exit_code >= 0 && exit.exit_code < 256 ? exit.exit_code : 1;
}

} // namespace agentrt::cli

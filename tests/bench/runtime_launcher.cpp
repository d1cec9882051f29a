// Runtime start/stop for the bench: posix_spawn plus a tight connect() poll, so that the
// measured time to listening is within ~0.1 ms of the real one.
#include "runtime_launcher.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <thread>

extern char** environ;

namespace agentrt::bench {
namespace {

using steady = std::chrono::steady_clock;

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

bool accepts_connection(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

} // namespace

exit_probe run_to_exit(const std::string& binary, const std::vector<std::string>& args) {
  exit_probe out;
  std::vector<std::string> all = {binary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const auto t0 = steady::now();
  const int rc = ::posix_spawn(&pid, binary.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return out;
  ::waitpid(pid, &out.status, 0);
  out.elapsed = steady::now() - t0;
  return out;
}

runtime_launcher::runtime_launcher(std::string binary, std::vector<std::string> extra_args,
                                   std::string log_path)
    : binary_(std::move(binary)), extra_args_(std::move(extra_args)),
      log_path_(std::move(log_path)) {}

runtime_launcher::~runtime_launcher() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::error_code runtime_launcher::start(std::chrono::milliseconds timeout) {
  std::error_code ec;
  for (int attempt = 0; attempt < 3; ++attempt) {
    bool exited_early = false;
    ec = spawn_once(timeout, exited_early);
    if (!ec || !exited_early)
      return ec;
  }
  return ec;
}

std::error_code runtime_launcher::spawn_once(std::chrono::milliseconds timeout,
                                             bool& exited_early) {
  port_ = free_loopback_port();
  if (port_ == 0)
    return std::error_code(errno, std::generic_category());
  std::vector<std::string> args = {binary_, "--host", "127.0.0.1", "--port", std::to_string(port_)};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    return std::error_code(errno, std::generic_category());
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
  const auto t0 = steady::now();
  const int rc = ::posix_spawn(&pid_, binary_.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(log_fd);
  if (rc != 0) {
    pid_ = -1;
    return std::error_code(rc, std::generic_category());
  }
  const auto deadline = t0 + timeout;
  const timespec tick{0, 100'000}; // 0.1 ms: fine enough for a ~10 ms goal, cheap enough
  while (steady::now() < deadline) {
    if (accepts_connection(port_)) {
      time_to_listen_ = steady::now() - t0;
      return {};
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exited_early = true;
      return std::make_error_code(std::errc::connection_refused);
    }
    ::nanosleep(&tick, nullptr);
  }
  stop(std::chrono::milliseconds(0));
  return std::make_error_code(std::errc::timed_out);
}

int runtime_launcher::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, grace.count() > 0 ? SIGTERM : SIGKILL);
  const auto deadline = steady::now() + grace;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || r < 0)
      break;
    if (steady::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  pid_ = -1;
  return status;
}

std::string runtime_launcher::log_tail(std::size_t max_bytes) const {
  std::ifstream in(log_path_, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

} // namespace agentrt::bench

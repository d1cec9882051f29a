// Test fixture helpers: the real agentrt binary on a free loopback port, and /proc probes.
#include "support/runtime_process.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace agentrt::test {

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

runtime_process::runtime_process(std::vector<std::string> extra_args,
                                 std::vector<std::string> extra_env) {
  char tmpl[] = "/tmp/agentrt-log-XXXXXX";
  const int log_fd = ::mkstemp(tmpl);
  if (log_fd < 0)
    throw std::runtime_error("mkstemp failed");
  log_path_ = tmpl;

  // Two tries: another process may grab the free port between probing and binding.
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_port();
    std::vector<std::string> args = {AGENTRT_BINARY, "--host", "127.0.0.1", "--port",
                                     std::to_string(port_)};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);

    // An extra entry replaces an inherited one of the same name: getenv (and the sanitizers'
    // option parsing) takes the first match, so appending would not override it.
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e) {
      const std::string entry = *e;
      const auto name = entry.substr(0, entry.find('=') + 1);
      bool replaced = false;
      for (const auto& x : extra_env)
        replaced = replaced || x.compare(0, name.size(), name) == 0;
      if (!replaced)
        env_store.push_back(entry);
    }
    env_store.insert(env_store.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (auto& e : env_store)
      envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
    posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
    const int rc = posix_spawn(&pid_, AGENTRT_BINARY, &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      ::close(log_fd);
      throw std::runtime_error(std::string("cannot start agentrt: ") + std::strerror(rc));
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (const int fd = connect_loopback(port_); fd >= 0) {
        ::close(fd);
        ::close(log_fd);
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break; // exited (port taken?): try another port
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (pid_ > 0)
      break;
  }
  ::close(log_fd);
  throw std::runtime_error("agentrt did not start listening; log:\n" + log());
}

runtime_process::~runtime_process() {
  if (pid_ > 0 && running())
    stop(SIGKILL);
  ::unlink(log_path_.c_str());
}

std::string runtime_process::url() const {
  return "ws://127.0.0.1:" + std::to_string(port_) + "/";
}

std::string runtime_process::log() const {
  return read_whole_file(log_path_);
}

std::string runtime_process::log_with(const std::string& needle,
                                      std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string text = log();
  while (text.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    text = log();
  }
  return text;
}

bool runtime_process::running() const {
  if (pid_ <= 0)
    return false;
  int status = 0;
  return ::waitpid(pid_, &status, WNOHANG) == 0;
}

int runtime_process::stop(int sig, std::chrono::milliseconds timeout) {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, sig);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return -1;
}

std::vector<pid_t> find_processes(const std::string& prefix) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d)
    return out;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == ::getpid())
      continue;
    const std::string base = std::string("/proc/") + e->d_name;
    std::string stat = read_whole_file(base + "/stat");
    const auto close_paren = stat.rfind(')');
    if (close_paren == std::string::npos || close_paren + 2 >= stat.size())
      continue;
    if (stat[close_paren + 2] == 'Z')
      continue;
    std::string cmdline = read_whole_file(base + "/cmdline");
    for (auto& c : cmdline) {
      if (c == '\0')
        c = ' ';
    }
    if (cmdline.rfind(prefix, 0) == 0)
      out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return out;
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0)
      return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

int count_fds(pid_t pid) {
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d)
    return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.')
      ++n;
  }
  ::closedir(d);
  return n;
}

namespace {

// Every directory make_temp_dir made, removed when the test program exits: a test that fails
// half-way (or forgets) would otherwise leave it in /tmp for good — 177 of them had piled up
// on one machine. Only the process that made them removes them; a forked child that exits
// must not pull the directories from under its parent.
class temp_dir_registry {
public:
  void add(std::string dir) {
    std::lock_guard<std::mutex> lock(mutex_);
    dirs_.push_back(std::move(dir));
  }
  ~temp_dir_registry() {
    if (::getpid() != owner_)
      return;
    for (const auto& d : dirs_) {
      std::error_code ignored;
      std::filesystem::remove_all(d, ignored);
    }
  }

private:
  const pid_t owner_ = ::getpid();
  std::mutex mutex_;
  std::vector<std::string> dirs_;
};

temp_dir_registry& temp_dirs() {
  static temp_dir_registry registry;
  return registry;
}

} // namespace

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    throw std::runtime_error("mkdtemp failed");
  temp_dirs().add(tmpl);
  return tmpl;
}

std::pair<int, std::string> http_get(int port, const std::string& path,
                                     const std::vector<std::string>& headers) {
  const int fd = connect_loopback(port);
  if (fd < 0)
    return {0, {}};
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : headers)
    req += h + "\r\n";
  req += "\r\n";
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string resp;
  char buf[4096];
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    resp.append(buf, static_cast<std::size_t>(n));
    // websocketpp keeps the connection open after an HTTP answer; stop once the body is in.
    const auto hdr_end = resp.find("\r\n\r\n");
    if (hdr_end != std::string::npos) {
      const auto cl = resp.find("Content-Length:");
      if (cl != std::string::npos && cl < hdr_end) {
        const std::size_t len = std::strtoul(resp.c_str() + cl + 15, nullptr, 10);
        if (resp.size() >= hdr_end + 4 + len)
          break;
      }
    }
  }
  ::close(fd);
  int status = 0;
  if (resp.rfind("HTTP/1.1 ", 0) == 0)
    status = std::atoi(resp.c_str() + 9);
  const auto body = resp.find("\r\n\r\n");
  return {status, body == std::string::npos ? std::string() : resp.substr(body + 4)};
}

} // namespace agentrt::test

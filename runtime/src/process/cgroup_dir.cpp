// cgroup v2 directory operations (see cgroup_dir.hpp).
#include "process/cgroup_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "process/proc_table.hpp"

namespace agentrt::runtime::process {
namespace {

using util::unique_fd;

// Nested cgroups a request's processes make for themselves are followed this deep; the kernel
// default (cgroup.max.depth) is unlimited, but nobody nests hundreds deep by accident.
constexpr int max_depth = 32;

std::error_code last_error() {
  return {errno, std::system_category()};
}

// A small interface file relative to dir; "" when it cannot be read.
std::string read_small(int dir, const char* name) {
  unique_fd fd(::openat(dir, name, O_RDONLY | O_CLOEXEC));
  if (!fd)
    return {};
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

bool write_small(int dir, const char* name, const char* value) {
  unique_fd fd(::openat(dir, name, O_WRONLY | O_CLOEXEC));
  if (!fd)
    return false;
  const std::size_t len = std::strlen(value);
  ssize_t n;
  do {
    n = ::write(fd.get(), value, len);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(len);
}

// Calls f(child_dir_fd) for each cgroup directly below dir.
template <class F> void for_each_child(int dir, F&& f) {
  const int list_fd = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (list_fd < 0)
    return;
  DIR* d = ::fdopendir(list_fd);
  if (d == nullptr) {
    ::close(list_fd);
    return;
  }
  while (const dirent* e = ::readdir(d)) {
    if (e->d_type != DT_DIR || std::strcmp(e->d_name, ".") == 0 ||
        std::strcmp(e->d_name, "..") == 0)
      continue;
    unique_fd child(::openat(dir, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (child)
      f(child.get(), e->d_name);
  }
  ::closedir(d);
}

// Every pid in cgroup.procs of dir and below, as read (0 for a process in a pid namespace we
// cannot see).
void collect_pids(int dir, int depth, std::vector<pid_t>& out) {
  const std::string procs = read_small(dir, "cgroup.procs");
  const char* p = procs.c_str();
  for (;;) {
    char* end = nullptr;
    const long v = std::strtol(p, &end, 10);
    if (end == p)
      break;
    p = end;
    out.push_back(static_cast<pid_t>(v));
  }
  if (depth >= max_depth)
    return;
  for_each_child(dir, [&](int child, const char*) { collect_pids(child, depth + 1, out); });
}

void remove_children(int dir, int depth) {
  if (depth >= max_depth)
    return;
  for_each_child(dir, [&](int child, const char* name) {
    remove_children(child, depth + 1);
    ::unlinkat(dir, name, AT_REMOVEDIR);
  });
}

} // namespace

cgroup_dir::cgroup_dir(std::string path, unique_fd dir, unique_fd procs)
    : path_(std::move(path)), dir_(std::move(dir)), procs_(std::move(procs)) {}

cgroup_dir::~cgroup_dir() = default;

protocol::result<std::unique_ptr<cgroup_dir>> cgroup_dir::create(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0)
    return last_error();
  auto made = open_existing(path);
  if (!made.ok())
    ::rmdir(path.c_str());
  return made;
}

protocol::result<std::unique_ptr<cgroup_dir>> cgroup_dir::open_existing(const std::string& path) {
  unique_fd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir)
    return last_error();
  unique_fd procs(::openat(dir.get(), "cgroup.procs", O_WRONLY | O_CLOEXEC));
  if (!procs)
    return last_error();
  return std::unique_ptr<cgroup_dir>(new cgroup_dir(path, std::move(dir), std::move(procs)));
}

bool cgroup_dir::populated() const {
  const std::string events = read_small(dir_.get(), "cgroup.events");
  if (events.empty()) {
    // Gone (removed, or never was a cgroup): nothing can be in it. Anything else: assume
    // someone is, so that a caller waits rather than leaves a process behind.
    struct stat st {};
    return ::fstatat(dir_.get(), "cgroup.procs", &st, 0) == 0;
  }
  return events.find("populated 1") != std::string::npos;
}

std::vector<pid_t> cgroup_dir::members() const {
  std::vector<pid_t> pids;
  collect_pids(dir_.get(), 0, pids);
  // Zombies are not members: they are waiting for their parent, not running.
  std::vector<pid_t> out;
  for (const pid_t pid : pids) {
    if (pid <= 0)
      continue;
    const auto e = detail::read_proc_entry(pid);
    if (e && e->state != 'Z' && e->state != 'X')
      out.push_back(pid);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool cgroup_dir::has_invisible_members() const {
  std::vector<pid_t> pids;
  collect_pids(dir_.get(), 0, pids);
  return std::find(pids.begin(), pids.end(), 0) != pids.end();
}

std::size_t cgroup_dir::signal_members(int sig) const {
  const std::vector<pid_t> pids = members();
  for (const pid_t pid : pids) {
    ::kill(pid, sig);
    if (sig == SIGTERM)
      ::kill(pid, SIGCONT);
  }
  return pids.size();
}

void cgroup_dir::kill() const {
  if (write_small(dir_.get(), "cgroup.kill", "1"))
    return;
  // Before Linux 5.14: a frozen cgroup cannot fork, so its member list holds still while we
  // go through it, and SIGKILL still reaches frozen processes.
  const bool frozen = write_small(dir_.get(), "cgroup.freeze", "1");
  signal_members(SIGKILL);
  if (frozen)
    write_small(dir_.get(), "cgroup.freeze", "0");
}

bool cgroup_dir::remove() const {
  remove_children(dir_.get(), 0);
  if (::rmdir(path_.c_str()) == 0 || errno == ENOENT)
    return true;
  return false;
}

} // namespace agentrt::runtime::process

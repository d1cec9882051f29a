// Choosing and setting up the containment mechanism, orphan attribution and the exit sweep
// (see containment.hpp).
#include "process/containment.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "agentrt/protocol/result.hpp"
#include "log/logger.hpp"
#include "process/cgroup_fork.hpp"
#include "process/proc_table.hpp"
#include "util/unique_fd.hpp"

namespace agentrt::runtime::process {
namespace {

using protocol::result;
using util::unique_fd;

std::error_code unavailable() {
  return std::make_error_code(std::errc::not_supported);
}

std::error_code last_errno() {
  return {errno, std::generic_category()};
}

std::string errno_text(int err) {
  return std::strerror(err);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mount_path(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string oct = s.substr(i + 1, 3);
      if (oct.find_first_not_of("01234567") == std::string::npos) {
        out.push_back(static_cast<char>(std::stoi(oct, nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Where the runtime's own cgroup v2 directory is: the first cgroup2 mount in
// /proc/self/mountinfo (often /sys/fs/cgroup, /sys/fs/cgroup/unified in a hybrid layout) joined
// with the "0::" line of /proc/self/cgroup.
result<std::string> own_cgroup_dir() {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  std::string mount_root;
  std::string mount_point;
  while (std::getline(mountinfo, line)) {
    // id parent major:minor root mount-point options [optional fields] - fstype source super
    const auto dash = line.find(" - ");
    if (dash == std::string::npos)
      continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2")
      continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev;
    head >> id >> parent >> dev >> mount_root >> mount_point;
    mount_root = unescape_mount_path(mount_root);
    mount_point = unescape_mount_path(mount_point);
    break;
  }
  if (mount_point.empty())
    return {unavailable(), "no cgroup2 file system is mounted"};
  std::ifstream self_cgroup("/proc/self/cgroup");
  std::string own;
  while (std::getline(self_cgroup, line)) {
    if (line.rfind("0::", 0) == 0) {
      own = line.substr(3);
      break;
    }
  }
  if (own.empty())
    return {unavailable(), "/proc/self/cgroup has no cgroup v2 entry"};
  // A mount of a subtree (a container without its own cgroup namespace) shows paths below
  // its root only.
  if (mount_root != "/") {
    if (own.rfind(mount_root, 0) != 0)
      return {unavailable(),
              "the runtime's cgroup " + own + " is outside the cgroup2 mount at " + mount_point};
    own = own.substr(mount_root.size());
  }
  std::string dir = mount_point;
  if (!own.empty() && own != "/")
    dir += own;
  return dir;
}

bool write_text(const std::string& path, const std::string& text, int& err) {
  unique_fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) {
    err = errno;
    return false;
  }
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    err = errno;
    return false;
  }
  return true;
}

// Kills what is in a cgroup and removes it, waiting up to about a second for the processes to
// die. For leftovers at startup and for the exit sweep.
bool kill_and_remove(cgroup_dir& cg) {
  for (int i = 0; i < 200; ++i) {
    if (!cg.populated())
      return cg.remove();
    cg.kill();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cg.remove();
}

// agentrt-<pid> directories next to ours whose runtime is gone (killed with SIGKILL, crashed)
// still hold that runtime's requests: kill them now. A live pid is left alone, whoever it is,
// and so is a directory holding a process of another pid namespace (whose runtime's pid means
// nothing here). This assumes that runtimes sharing one cgroup share the pid namespace too;
// containers get a cgroup each.
void remove_stale_siblings(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr)
    return;
  std::vector<std::string> stale;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind("agentrt-", 0) != 0)
      continue;
    const std::string digits = name.substr(8);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const long pid = std::strtol(digits.c_str(), nullptr, 10);
    if (pid == ::getpid() || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH))
      stale.push_back(dir + "/" + name);
  }
  ::closedir(d);
  for (const std::string& path : stale) {
    if (auto opened = cgroup_dir::open_existing(path); opened.ok()) {
      cgroup_dir& cg = *opened.value();
      if (cg.has_invisible_members())
        continue;
      const bool had_processes = cg.populated();
      if (kill_and_remove(cg) && had_processes)
        log::warn({}, "killed the processes of an earlier runtime left in " + path);
    }
  }
}

// Starts a process in cg and checks that the kernel put it there: the proof that spawning into
// request cgroups will work (clone3 or its fallback, permissions, cgroup type).
result<void> probe_spawn(cgroup_dir& cg) {
  int hold[2];
  if (::pipe2(hold, O_CLOEXEC) != 0)
    return {last_errno(), "pipe: " + errno_text(errno)};
  unique_fd hold_read(hold[0]);
  unique_fd hold_write(hold[1]);
  const auto forked = fork_into_cgroup(cg.target());
  if (!forked.ok())
    return {forked.error().code,
            "starting a process in " + cg.path() + ": " + forked.error().code.message()};
  const pid_t child = forked.value().pid;
  if (child == 0) {
    // Waits for the parent to look (EOF when it closes its end), then leaves; raw system
    // calls only (cgroup_fork.hpp).
    ::syscall(SYS_close, hold[1]);
    char c;
    while (::syscall(SYS_read, hold[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::syscall(SYS_exit_group, forked.value().join_error == 0 ? 0 : 1);
    __builtin_unreachable();
  }
  const std::vector<pid_t> members = cg.members();
  const bool inside = std::find(members.begin(), members.end(), child) != members.end();
  hold_write.reset();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!inside)
    return {unavailable(), "a process started in " + cg.path() + " did not appear in it"};
  return {};
}

// The request cgroups' parent: <own cgroup>/agentrt-<pid>, with the runtime moved into the
// leaf <own cgroup>/agentrt-runtime first when its own cgroup is not the root (see below).
// The line for the startup log says where.
struct cgroup_setup {
  std::unique_ptr<cgroup_dir> parent;
  std::string detail;
};

result<cgroup_setup> set_up_cgroups() {
  auto found = own_cgroup_dir();
  if (!found.ok())
    return std::move(found).error();
  const std::string own = std::move(found).value();
  // The root cgroup has no cgroup.type and is exempt from the "no internal processes" rule.
  // Any other cgroup may have controllers enabled for its children only while it holds no
  // process itself, so, as systemd asks of delegated services, the runtime moves itself into
  // a leaf and leaves its cgroup an inner node; the requests' cgroups are its siblings. If the
  // move is refused, the runtime stays: no controller is needed for what we do.
  const bool is_root = !exists(own + "/cgroup.type");
  std::string where = is_root ? "the runtime stays in the root cgroup" : "";
  if (!is_root) {
    const std::string leaf = own + "/agentrt-runtime";
    const bool made = ::mkdir(leaf.c_str(), 0755) == 0;
    int err = made || errno == EEXIST ? 0 : errno;
    if (err == 0 && write_text(leaf + "/cgroup.procs", std::to_string(::getpid()), err)) {
      where = "the runtime moved itself to " + leaf;
    } else {
      if (made)
        ::rmdir(leaf.c_str());
      where = "the runtime stays in " + own + " (moving it to " + leaf +
              " failed: " + errno_text(err) + ")";
    }
  }
  remove_stale_siblings(own);

  const std::string parent_path = own + "/agentrt-" + std::to_string(::getpid());
  auto made = cgroup_dir::create(parent_path);
  if (!made.ok())
    return {made.error().code, "cannot create " + parent_path + ": " + made.error().message()};
  std::unique_ptr<cgroup_dir> parent = std::move(made).value();
  if (!exists(parent_path + "/cgroup.kill") && !exists(parent_path + "/cgroup.freeze")) {
    parent->remove();
    return {unavailable(),
            "the kernel has neither cgroup.kill nor cgroup.freeze (Linux 5.2+ needed)"};
  }
  auto probe = cgroup_dir::create(parent_path + "/probe");
  if (!probe.ok()) {
    parent->remove();
    return {probe.error().code,
            "cannot create a cgroup in " + parent_path + ": " + probe.error().message()};
  }
  auto probed = probe_spawn(*probe.value());
  probe.value()->remove();
  if (!probed.ok()) {
    parent->remove();
    return std::move(probed).error();
  }
  return cgroup_setup{std::move(parent), "a cgroup per request in " + parent_path + "; " + where};
}

} // namespace

std::optional<containment_mode> parse_containment_mode(std::string_view name) {
  if (name == "auto")
    return containment_mode::automatic;
  if (name == "cgroup")
    return containment_mode::cgroup;
  if (name == "subreaper")
    return containment_mode::subreaper;
  return std::nullopt;
}

result<std::unique_ptr<containment>> containment::create(containment_mode mode) {
  std::unique_ptr<containment> c(new containment());
  std::string why;
  if (mode != containment_mode::subreaper) {
    auto set_up = set_up_cgroups();
    if (set_up.ok()) {
      c->parent_ = std::move(set_up.value().parent);
      c->cgroups_ = true;
      c->detail_ = std::move(set_up.value().detail);
      return c;
    }
    if (mode == containment_mode::cgroup)
      return {set_up.error().code,
              "cgroup containment is not available: " + set_up.error().message()};
    why = set_up.error().message();
  }
  int subreaper = 0;
  ::prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0);
  c->detail_ =
      std::string(subreaper != 0 || ::getpid() == 1 ? "" : "NOT a child subreaper; ") +
      "orphans re-parented to the runtime are killed with the request that started them "
      "(its RLIMIT_RTTIME mark, else the start time), at the latest when the runtime exits" +
      (mode == containment_mode::automatic ? " (no cgroups: " + why + ")" : "");
  return c;
}

containment::~containment() {
  sweep(std::chrono::seconds(1));
}

std::unique_ptr<cgroup_dir> containment::make_request_cgroup() {
  if (!parent_)
    return nullptr;
  retry_retired();
  const std::string path = parent_->path() + "/req-" + std::to_string(next_request_++);
  auto cg = cgroup_dir::create(path);
  if (!cg.ok()) {
    log::warn({}, "cannot create the request's cgroup " + path + " (" + cg.error().message() +
                      "): its orphans are tracked as under --containment subreaper");
    return nullptr;
  }
  return std::move(cg).value();
}

void containment::retire(std::unique_ptr<cgroup_dir> cg) {
  if (!cg)
    return;
  if (cg->populated())
    cg->kill();
  if (!cg->remove())
    retired_.push_back(std::move(cg));
}

void containment::retry_retired() {
  retired_.erase(std::remove_if(retired_.begin(), retired_.end(),
                                [](const std::unique_ptr<cgroup_dir>& cg) {
                                  if (cg->populated())
                                    cg->kill();
                                  return cg->remove();
                                }),
                 retired_.end());
}

std::uint64_t containment::register_scope(std::uint64_t birth_ticks) {
  const std::uint64_t serial = next_serial_++;
  live_.emplace_back(serial, birth_ticks);
  return serial;
}

void containment::unregister_scope(std::uint64_t serial) {
  live_.erase(std::remove_if(live_.begin(), live_.end(),
                             [serial](const auto& s) { return s.first == serial; }),
              live_.end());
}

bool containment::is_live(std::uint64_t serial) const {
  return std::any_of(live_.begin(), live_.end(),
                     [serial](const auto& s) { return s.first == serial; });
}

bool containment::sole_claimant(std::uint64_t serial, std::uint64_t start_ticks) const {
  bool mine = false;
  for (const auto& [s, birth] : live_) {
    if (birth > start_ticks)
      continue;
    if (s != serial)
      return false;
    mine = true;
  }
  return mine;
}

std::size_t containment::sweep(std::chrono::milliseconds wait) {
  const pid_t self = ::getpid();
  std::vector<pid_t> signalled;
  // cgroup.kill first: it also stops processes forking while we look.
  if (parent_) {
    signalled = parent_->members();
    parent_->kill();
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    // Our zombies first, or they would count as alive below; nobody else reaps them now.
    while (::waitpid(-1, nullptr, WNOHANG | __WALL) > 0) {
    }
    std::unordered_multimap<pid_t, pid_t> children;
    for (const auto& e : detail::scan_proc()) {
      if (e.state != 'Z' && e.state != 'X' && e.pid != self)
        children.emplace(e.ppid, e.pid);
    }
    std::vector<pid_t> below;
    std::vector<pid_t> pending{self};
    while (!pending.empty()) {
      const pid_t p = pending.back();
      pending.pop_back();
      const auto range = children.equal_range(p);
      for (auto it = range.first; it != range.second; ++it) {
        below.push_back(it->second);
        pending.push_back(it->second);
      }
    }
    if (below.empty())
      break;
    for (const pid_t pid : below) {
      if (std::find(signalled.begin(), signalled.end(), pid) == signalled.end())
        signalled.push_back(pid);
      ::kill(pid, SIGKILL);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      log::warn({}, std::to_string(below.size()) +
                        " process(es) below the runtime did not die on SIGKILL in time");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (parent_) {
    retry_retired();
    if (kill_and_remove(*parent_))
      parent_.reset();
  }
  return signalled.size();
}

} // namespace agentrt::runtime::process

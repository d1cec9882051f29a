// /proc readers behind process_scope (see proc_table.hpp).
#include "process/proc_table.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "util/unique_fd.hpp"

namespace agentrt::runtime::process::detail {
namespace {

// Reads up to cap bytes from fd; -1 on error.
ssize_t read_up_to(int fd, char* buf, std::size_t cap) {
  std::size_t got = 0;
  while (got < cap) {
    const ssize_t n = ::read(fd, buf + got, cap - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    if (n == 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

std::optional<pid_t> parse_pid(const char* s) {
  if (*s < '1' || *s > '9')
    return std::nullopt;
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (*end != '\0' || v <= 0)
    return std::nullopt;
  return static_cast<pid_t>(v);
}

std::string proc_path(pid_t pid, const char* leaf) {
  return "/proc/" + std::to_string(pid) + "/" + leaf;
}

void parse_pid_list(const char* text, std::vector<pid_t>& out) {
  const char* p = text;
  while (*p != '\0') {
    char* end = nullptr;
    const long v = std::strtol(p, &end, 10);
    if (end == p)
      break;
    if (v > 0)
      out.push_back(static_cast<pid_t>(v));
    p = end;
  }
}

} // namespace

std::optional<proc_entry> read_proc_entry(pid_t pid) {
  util::unique_fd fd(::open(proc_path(pid, "stat").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return std::nullopt;

  // "pid (comm) S ppid pgrp ..."; comm may hold spaces and ')' but is at most 16 bytes, so
  // the fields we need (up to the 22nd) are within the first ~450 bytes, after the last ')'.
  char buf[1024];
  const ssize_t n = read_up_to(fd.get(), buf, sizeof(buf) - 1);
  if (n <= 0)
    return std::nullopt;
  buf[n] = '\0';
  const char* close_paren = std::strrchr(buf, ')');
  if (close_paren == nullptr)
    return std::nullopt;

  proc_entry e;
  e.pid = pid;
  e.uid = st.st_uid;
  // Field 3 is the state, then numbers: 4 ppid, 5 pgrp, ..., 22 starttime.
  const char* p = close_paren + 1;
  while (*p == ' ')
    ++p;
  const char state = *p;
  if (state == '\0')
    return std::nullopt;
  ++p;
  long long fields[23] = {};
  for (int i = 4; i <= 22; ++i) {
    char* end = nullptr;
    fields[i] = std::strtoll(p, &end, 10);
    if (end == p)
      return std::nullopt;
    p = end;
  }
  e.state = state;
  e.ppid = static_cast<pid_t>(fields[4]);
  e.pgrp = static_cast<pid_t>(fields[5]);
  e.start_ticks = static_cast<std::uint64_t>(fields[22]);
  return e;
}

std::vector<proc_entry> scan_proc() {
  std::vector<proc_entry> out;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr)
    return out;
  while (const dirent* d = ::readdir(dir)) {
    const auto pid = parse_pid(d->d_name);
    if (!pid)
      continue;
    if (auto e = read_proc_entry(*pid))
      out.push_back(*e);
  }
  ::closedir(dir);
  return out;
}

bool environ_contains(pid_t pid, std::string_view entry) {
  util::unique_fd fd(::open(proc_path(pid, "environ").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    return false;

  // Search "\0entry\0" in "\0" + environ + "\0": the leading and trailing NULs make the first
  // and last entries match like the others, and the carry-over between chunks catches an entry
  // that straddles a chunk boundary.
  std::string needle;
  needle.reserve(entry.size() + 2);
  needle.push_back('\0');
  needle.append(entry);
  needle.push_back('\0');

  constexpr std::size_t chunk_bytes = 16 * 1024;
  constexpr std::size_t max_total_bytes = 8 * 1024 * 1024;
  std::string window(1, '\0');
  char chunk[chunk_bytes];
  std::size_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd.get(), chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      // EOF (or the process died mid-read): close the last entry and look once more.
      window.push_back('\0');
      return window.find(needle) != std::string::npos;
    }
    window.append(chunk, static_cast<std::size_t>(n));
    if (window.find(needle) != std::string::npos)
      return true;
    total += static_cast<std::size_t>(n);
    if (total >= max_total_bytes)
      return false;
    if (window.size() >= needle.size())
      window.erase(0, window.size() - (needle.size() - 1));
  }
}

std::optional<std::uint64_t> rttime_soft_limit(pid_t pid) {
  util::unique_fd fd(::open(proc_path(pid, "limits").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    return std::nullopt;
  // About 1.5 KB: "Limit  Soft Limit  Hard Limit  Units" and one line per resource.
  char buf[4096];
  const ssize_t n = read_up_to(fd.get(), buf, sizeof(buf) - 1);
  if (n <= 0)
    return std::nullopt;
  buf[n] = '\0';
  static const char label[] = "Max realtime timeout";
  const char* line = std::strstr(buf, label);
  if (line == nullptr)
    return std::nullopt;
  const char* p = line + sizeof(label) - 1;
  while (*p == ' ')
    ++p;
  if (*p < '0' || *p > '9')
    return std::nullopt; // "unlimited"
  return std::strtoull(p, nullptr, 10);
}

std::uint64_t boot_ticks_now() {
  // The kernel derives starttime from the task's boot-time clock, floored to clock ticks.
  static const long ticks_per_second = ::sysconf(_SC_CLK_TCK) > 0 ? ::sysconf(_SC_CLK_TCK) : 100;
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  const std::uint64_t ns_per_tick = 1000000000ULL / static_cast<std::uint64_t>(ticks_per_second);
  return (static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
          static_cast<std::uint64_t>(ts.tv_nsec)) /
         ns_per_tick;
}

std::vector<pid_t> own_children() {
  std::vector<pid_t> out;
  const pid_t self = ::getpid();
  // Without CONFIG_PROC_CHILDREN the file never exists: fall back to the full scan.
  if (::access("/proc/thread-self/children", R_OK) != 0) {
    for (const proc_entry& e : scan_proc()) {
      if (e.ppid == self)
        out.push_back(e.pid);
    }
    return out;
  }
  // Re-parented orphans are attached to any live thread of the reaper, so every task counts;
  // a thread that exits while we read is simply skipped.
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr)
    return out;
  std::string text;
  while (const dirent* d = ::readdir(dir)) {
    if (!parse_pid(d->d_name))
      continue;
    const std::string path = std::string("/proc/self/task/") + d->d_name + "/children";
    util::unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
      continue;
    text.clear();
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      text.append(buf, static_cast<std::size_t>(n));
    }
    parse_pid_list(text.c_str(), out);
  }
  ::closedir(dir);
  return out;
}

} // namespace agentrt::runtime::process::detail

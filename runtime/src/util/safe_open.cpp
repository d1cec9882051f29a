// openat2 with a per-component O_NOFOLLOW fallback, and the regular-file check.
#include "util/safe_open.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "agentrt/protocol/result.hpp"

#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define AGENTRT_HAVE_OPENAT2_HEADER 1
#endif

namespace agentrt::runtime::util {

namespace {

constexpr int final_flags = O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
// O_PATH: an intermediate directory is only walked through, never opened for reading.
constexpr int directory_flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// Set once openat2 turned out to be missing, so that later opens go straight to the fallback.
std::atomic<bool> openat2_missing{false};

const char* type_name(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISLNK(mode))
    return "a symbolic link";
  return "not a regular file";
}

opened_file refused(std::string where, std::string reason) {
  opened_file out;
  out.refused = true;
  out.ec = std::make_error_code(std::errc::operation_not_permitted);
  out.where = std::move(where);
  out.reason = std::move(reason);
  return out;
}

opened_file io_error(int err, std::string where) {
  opened_file out;
  out.ec = std::error_code(err, std::generic_category());
  out.where = std::move(where);
  out.reason = out.ec.message();
  return out;
}

// Keeps fd only if it is a regular file.
opened_file checked(unique_fd fd, std::string where) {
  opened_file out;
  if (::fstat(fd.get(), &out.st) != 0)
    return io_error(errno, std::move(where));
  if (!S_ISREG(out.st.st_mode)) {
    const char* type = type_name(out.st.st_mode);
    return refused(std::move(where), std::string("is ") + type +
                                         (S_ISLNK(out.st.st_mode) ? "" : ", not a regular file"));
  }
  out.fd = std::move(fd);
  return out;
}

// The components of a relative path; "" and "." dropped. Refused (invalid_argument, with what is
// wrong as the text) for an absolute path, a ".." component or nothing left.
protocol::result<std::vector<std::string>> split(std::string_view path) {
  const auto refuse = [](const char* why) -> protocol::result<std::vector<std::string>> {
    return {std::make_error_code(std::errc::invalid_argument), why};
  };
  if (!path.empty() && path.front() == '/')
    return refuse("is an absolute path");
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = std::min(path.find('/', start), path.size());
    const std::string_view comp = path.substr(start, slash - start);
    if (comp == "..")
      return refuse("has a \"..\" component");
    if (!comp.empty() && comp != ".")
      out.emplace_back(comp);
    start = slash + 1;
  }
  if (out.empty())
    return refuse("names no file");
  return out;
}

std::string joined(const std::vector<std::string>& comps, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0)
      out += '/';
    out += comps[i];
  }
  return out;
}

// Why opening comps[i] under dir failed with err: a symlink (refused), something that is not
// a directory where one was needed (refused), or err itself.
opened_file diagnose(int dir, const std::vector<std::string>& comps, std::size_t i, int err) {
  const std::string where = joined(comps, i + 1);
  struct stat st {};
  if ((err == ELOOP || err == ENOTDIR) &&
      ::fstatat(dir, comps[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode))
      return refused(where, "is a symbolic link");
    if (i + 1 < comps.size() && !S_ISDIR(st.st_mode))
      return refused(where, std::string("is ") + type_name(st.st_mode) + ", not a directory");
  }
  return io_error(err, where);
}

#if defined(AGENTRT_HAVE_OPENAT2_HEADER) && defined(SYS_openat2)
// -1 with errno set, as openat does.
int openat2_beneath(int dir_fd, const std::string& path) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(final_flags);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    const long fd = ::syscall(SYS_openat2, dir_fd, path.c_str(), &how, sizeof how);
    if (fd >= 0 || errno != EINTR)
      return static_cast<int>(fd);
  }
}
#else
int openat2_beneath(int, const std::string&) {
  errno = ENOSYS;
  return -1;
}
#endif

} // namespace

opened_file open_regular_beneath_by_components(int dir_fd, std::string_view relative_path) {
  auto split_path = split(relative_path);
  if (!split_path.ok())
    return refused(std::string(relative_path), split_path.error().text);
  const std::vector<std::string> comps = std::move(split_path).value();
  unique_fd current; // invalid while the walk is still at dir_fd itself
  for (std::size_t i = 0; i + 1 < comps.size(); ++i) {
    const int at = current ? current.get() : dir_fd;
    unique_fd next(::openat(at, comps[i].c_str(), directory_flags));
    if (!next)
      return diagnose(at, comps, i, errno);
    current = std::move(next);
  }
  const int at = current ? current.get() : dir_fd;
  unique_fd fd(::openat(at, comps.back().c_str(), final_flags));
  if (!fd)
    return diagnose(at, comps, comps.size() - 1, errno);
  return checked(std::move(fd), std::string(relative_path));
}

opened_file open_regular_beneath(int dir_fd, std::string_view relative_path) {
  if (!openat2_missing.load(std::memory_order_relaxed)) {
    const std::string path(relative_path);
    unique_fd fd(openat2_beneath(dir_fd, path));
    if (fd)
      return checked(std::move(fd), path);
    if (errno == ENOSYS)
      openat2_missing.store(true, std::memory_order_relaxed);
    // Every failure (a symlink: ELOOP, an escape: EXDEV, ENOENT, a seccomp EPERM) is walked
    // again one component at a time. That walk is safe on its own and names the component at
    // fault; and should the tree have changed in between, what it opens is still checked.
  }
  return open_regular_beneath_by_components(dir_fd, relative_path);
}

opened_file open_regular_file(const std::string& path) {
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd)
    return io_error(errno, path);
  return checked(std::move(fd), path);
}

} // namespace agentrt::runtime::util

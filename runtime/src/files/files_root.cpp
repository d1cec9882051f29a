// Path resolution for the files API: openat2 beneath --files-root for reads, an O_NOFOLLOW walk
// for writes.
#include "files/files_root.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define AGENTRT_FILES_HAVE_OPENAT2 1
#endif

namespace agentrt::runtime::files {
namespace {

constexpr int walk_flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

std::string join(const std::vector<std::string>& comps, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i)
    out += "/" + comps[i];
  return out.empty() ? "/" : out;
}

// openat2 beneath dir; -1 with errno (ENOSYS when the kernel or headers lack it).
int openat2_beneath(int dir, const std::string& rel, int flags) {
#if defined(AGENTRT_FILES_HAVE_OPENAT2) && defined(SYS_openat2)
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    const long fd = ::syscall(SYS_openat2, dir, rel.c_str(), &how, sizeof how);
    if (fd >= 0 || errno != EINTR)
      return static_cast<int>(fd);
  }
#else
  (void)dir;
  (void)rel;
  (void)flags;
  errno = ENOSYS;
  return -1;
#endif
}

// Walks comps[0..count) from dir without following symlinks; creates missing directories when
// create. Returns the last directory (or a dup of dir when count is 0).
protocol::result<util::unique_fd> walk_nofollow(int dir, const std::vector<std::string>& comps,
                                                std::size_t count, bool create) {
  util::unique_fd current(::fcntl(dir, F_DUPFD_CLOEXEC, 0));
  if (!current) {
    return from_errno(errno, "/");
  }
  for (std::size_t i = 0; i < count; ++i) {
    util::unique_fd next(::openat(current.get(), comps[i].c_str(), walk_flags));
    if (!next && errno == ENOENT && create) {
      if (::mkdirat(current.get(), comps[i].c_str(), 0755) != 0 && errno != EEXIST) {
        return from_errno(errno, join(comps, i + 1));
      }
      next.reset(::openat(current.get(), comps[i].c_str(), walk_flags));
    }
    if (!next) {
      const int e = errno;
      struct stat st {};
      if ((e == ELOOP || e == ENOTDIR) &&
          ::fstatat(current.get(), comps[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode)) {
          return path_refused(join(comps, i + 1), "is a symbolic link (writes never follow one)");
        }
        return path_refused(join(comps, i + 1), "is not a directory");
      }
      return from_errno(e, join(comps, i + 1));
    }
    current = std::move(next);
  }
  return current;
}

} // namespace

protocol::result<void> files_root::open(const std::string& root) {
  confined_ = !root.empty();
  root_.reset(::open(confined_ ? root.c_str() : "/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_) {
    const int e = errno;
    return {std::error_code(e, std::generic_category()),
            std::string("cannot open --files-root ") + root + ": " + std::strerror(e)};
  }
  return {};
}

protocol::result<std::vector<std::string>> files_root::split(std::string_view path) const {
  if (path.empty() || path.front() != '/') {
    return path_refused(path, "must be absolute (start with '/')");
  }
  if (path.find('\0') != std::string_view::npos) {
    return path_refused("(a path with a NUL byte)", "contains a NUL byte");
  }
  std::vector<std::string> comps;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = std::min(path.find('/', start), path.size());
    const std::string_view comp = path.substr(start, slash - start);
    if (comp == "..") {
      return path_refused(path, "has a \"..\" component");
    }
    if (!comp.empty() && comp != ".")
      comps.emplace_back(comp);
    start = slash + 1;
  }
  return comps;
}

protocol::result<util::unique_fd> files_root::open_read(const std::vector<std::string>& comps,
                                                        int flags) const {
  const auto opened = [](util::unique_fd fd) -> protocol::result<util::unique_fd> {
    if (!fd)
      return std::error_code(errno, std::generic_category());
    return fd;
  };
  flags |= O_CLOEXEC;
  std::string rel;
  for (const auto& c : comps)
    rel += (rel.empty() ? "" : "/") + c;
  if (rel.empty())
    rel = ".";
  if (!confined_)
    return opened(util::unique_fd(::openat(root_.get(), rel.c_str(), flags)));
  util::unique_fd fd(openat2_beneath(root_.get(), rel, flags));
  if (fd || errno != ENOSYS)
    return opened(std::move(fd));
  // No openat2: walk without following any symlink (stricter, never wider).
  auto walked = walk_nofollow(root_.get(), comps, comps.empty() ? 0 : comps.size() - 1, false);
  if (!walked.ok()) {
    return std::error_code(walked.error().code == files_errc::not_found ? ENOENT : ELOOP,
                           std::generic_category());
  }
  const util::unique_fd parent = std::move(walked).value();
  return opened(util::unique_fd(
      ::openat(parent.get(), comps.empty() ? "." : comps.back().c_str(), flags | O_NOFOLLOW)));
}

protocol::result<parent_and_leaf> files_root::parent_for_read(const std::vector<std::string>& comps,
                                                              std::string_view shown) const {
  parent_and_leaf out;
  if (comps.empty()) {
    out.dir.reset(::fcntl(root_.get(), F_DUPFD_CLOEXEC, 0));
    return out;
  }
  const std::vector<std::string> parent(comps.begin(), comps.end() - 1);
  auto dir = open_read(parent, O_PATH | O_DIRECTORY);
  if (!dir.ok())
    return from_errno(dir.error().code.value(), shown);
  out.dir = std::move(dir).value();
  out.leaf = comps.back();
  return out;
}

protocol::result<parent_and_leaf>
files_root::parent_for_write(const std::vector<std::string>& comps, bool create_parents,
                             std::string_view shown) const {
  parent_and_leaf out;
  if (comps.empty())
    return path_refused(shown, "is the root itself");
  auto dir = walk_nofollow(root_.get(), comps, comps.size() - 1, create_parents);
  if (!dir.ok())
    return std::move(dir).error();
  out.dir = std::move(dir).value();
  out.leaf = comps.back();
  return out;
}

protocol::result<util::unique_fd>
files_root::directory_for_write(const std::vector<std::string>& comps) const {
  return walk_nofollow(root_.get(), comps, comps.size(), true);
}

std::string display_path(const std::vector<std::string>& comps) {
  return join(comps, comps.size());
}

} // namespace agentrt::runtime::files

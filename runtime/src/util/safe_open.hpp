// Opening a file on a client's behalf without trusting the tree it lives in. A command runs
// next to the runtime and may swap what a path names at any moment: a symlink to /etc/shadow
// for an announced artifact, a symlink for one of its directories, or a FIFO whose open()
// would block the caller until somebody writes to it. These functions never follow a symlink
// below the directory they start from, never block in open(), and hand back only regular files.
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>
#include <system_error>

#include "util/unique_fd.hpp"

namespace agentrt::runtime::util {

struct opened_file {
  unique_fd fd;      // valid on success: O_RDONLY | O_NONBLOCK | O_CLOEXEC
  struct stat st {}; // fstat of fd on success

  // On failure, one of:
  // - refused: the path leads through or to something we do not read (a symlink, "..", a
  //   FIFO, a directory, a device); `where` is the offending prefix of the relative path and
  //   `reason` what it is ("is a symbolic link", "is a FIFO, not a regular file");
  // - an I/O error (ENOENT, EACCES, ...): ec, with where naming the component that failed and
  //   reason its text.
  bool refused = false;
  std::error_code ec;
  std::string where;
  std::string reason;

  bool ok() const noexcept { return fd.valid(); }
};

// Opens relative_path (no leading '/', no ".." component) beneath the directory dir_fd for
// reading. Uses openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS where the kernel has it;
// elsewhere (ENOSYS, or a seccomp filter saying EPERM) opens one component at a time with
// O_NOFOLLOW. O_NONBLOCK on the final open keeps a FIFO or device from blocking it, and the
// fstat check refuses everything but a regular file before a byte is read.
opened_file open_regular_beneath(int dir_fd, std::string_view relative_path);

// The component-at-a-time variant on its own, so that tests exercise the fallback on kernels
// that have openat2.
opened_file open_regular_beneath_by_components(int dir_fd, std::string_view relative_path);

// A path the client named in full (a file:// URL): symlinks in it are followed, since the client
// could have named their target directly, but the open never blocks and only a regular file is
// accepted.
opened_file open_regular_file(const std::string& path);

} // namespace agentrt::runtime::util

// Owns one raw file descriptor (pipe ends, files, inotify, directory fds) so that every
// early-return error path closes it; shared by process/, transfer/, archive/ and artifacts/.
#pragma once

#include <unistd.h>

#include <cerrno>

#include <utility>

namespace agentrt::runtime::util {

class unique_fd {
public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  ~unique_fd() { reset(); }
  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other)
      reset(other.release());
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    // close() is not retried on EINTR: on Linux the descriptor is gone either way.
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }
  // Closes now and reports what close() said: it can carry a deferred write error (ENOSPC on
  // some file systems), which matters for files we wrote. Returns 0 or an errno value.
  int close() noexcept {
    if (fd_ < 0)
      return 0;
    const int rc = ::close(std::exchange(fd_, -1));
    return rc == 0 ? 0 : errno;
  }

private:
  int fd_ = -1;
};

} // namespace agentrt::runtime::util

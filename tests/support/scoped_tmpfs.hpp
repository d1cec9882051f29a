// A size-limited tmpfs mounted on a fresh directory for the life of a test, so that "disk full"
// is a real ENOSPC from the kernel rather than a simulation. Needs CAP_SYS_ADMIN (root in CI);
// where mounting is not permitted, mount() says why and the test skips.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace agentrt::test {

class scoped_tmpfs {
public:
  // Mounts a tmpfs of size_bytes; null with why set when the kernel refuses.
  static std::unique_ptr<scoped_tmpfs> mount(std::uint64_t size_bytes, std::string& why);
  // Unmounts (lazily, should a process still hold a file there) and removes the directory.
  ~scoped_tmpfs();
  scoped_tmpfs(const scoped_tmpfs&) = delete;
  scoped_tmpfs& operator=(const scoped_tmpfs&) = delete;

  const std::string& path() const noexcept { return path_; }
  // Bytes in use on the filesystem (statvfs), so a test can see that a failed write left
  // nothing behind.
  std::uint64_t used_bytes() const;

private:
  explicit scoped_tmpfs(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

} // namespace agentrt::test

// tmpfs mount/unmount for disk-full tests.
#include "support/scoped_tmpfs.hpp"

#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "support/runtime_process.hpp"

namespace agentrt::test {

std::unique_ptr<scoped_tmpfs> scoped_tmpfs::mount(std::uint64_t size_bytes, std::string& why) {
  std::string dir = make_temp_dir("agentrt-tmpfs-");
  const std::string opts = "size=" + std::to_string(size_bytes) + ",mode=0755";
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0) {
    why = std::string("cannot mount a tmpfs on ") + dir + ": " + std::strerror(errno);
    ::rmdir(dir.c_str());
    return nullptr;
  }
  return std::unique_ptr<scoped_tmpfs>(new scoped_tmpfs(std::move(dir)));
}

scoped_tmpfs::~scoped_tmpfs() {
  ::umount2(path_.c_str(), MNT_DETACH);
  ::rmdir(path_.c_str());
}

std::uint64_t scoped_tmpfs::used_bytes() const {
  struct statvfs st {};
  if (::statvfs(path_.c_str(), &st) != 0)
    return 0;
  return static_cast<std::uint64_t>(st.f_blocks - st.f_bfree) * st.f_frsize;
}

} // namespace agentrt::test

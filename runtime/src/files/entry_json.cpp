// The JSON object of one entry.
#include "files/entry_json.hpp"

#include "agentrt/protocol/json_builder.hpp"

#include <unistd.h>

#include <cstdio>

namespace agentrt::runtime::files {

const char* entry_type(mode_t mode) noexcept {
  if (S_ISREG(mode))
    return "file";
  if (S_ISDIR(mode))
    return "directory";
  if (S_ISLNK(mode))
    return "symlink";
  return "other";
}

std::string entry_json(const std::string& path, const struct stat& st, int dir_fd,
                       const std::string& name) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  protocol::json_builder o;
  o.add("path", path)
      .add("type", entry_type(st.st_mode))
      .add("size", static_cast<std::int64_t>(st.st_size))
      .add("mode", std::string(mode))
      .add("mtime",
           static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9);
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    const ssize_t n = ::readlinkat(dir_fd, name.c_str(), target, sizeof target);
    if (n >= 0)
      o.add("target", std::string(target, static_cast<std::size_t>(n)));
  }
  return o.str();
}

} // namespace agentrt::runtime::files

// One file-system entry as the files API reports it (stat and list): path, type, size, mode,
// modification time, and a symlink's target.
#pragma once

#include <sys/stat.h>

#include <string>

namespace agentrt::runtime::files {

// "file", "directory", "symlink" or "other".
const char* entry_type(mode_t mode) noexcept;

// dir_fd and name: where the entry is (for a symlink's target); path: what the JSON says.
std::string entry_json(const std::string& path, const struct stat& st, int dir_fd,
                       const std::string& name);

} // namespace agentrt::runtime::files

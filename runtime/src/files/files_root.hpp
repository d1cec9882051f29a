// Where the files API may act, and how a client's path becomes a file descriptor.
//
// A path is absolute ("/work/out.txt"); with --files-root DIR it is taken beneath DIR ("/" is
// DIR itself) and nothing outside DIR is reachable. ".." components, NUL bytes and relative
// paths are refused outright.
//
// Reads (file content, stat and list of the named directory, tar download) follow symlinks:
// without a root freely (the client could name the target itself), with a root only while they
// stay beneath it (openat2 RESOLVE_BENEATH; where the kernel lacks openat2, symlinks are refused).
// Writes (file write, tar upload, mkdir, move, remove) never follow a symlink: the parent is
// reached one component at a time with O_NOFOLLOW from the root, and the last component is acted
// on with *at calls that do not follow it either (a symlink there is replaced or removed, never
// written through).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agentrt/protocol/result.hpp"
#include "files/files_error.hpp"
#include "util/unique_fd.hpp"

namespace agentrt::runtime::files {

// The parent directory of a path, opened, and the last component.
struct parent_and_leaf {
  util::unique_fd dir; // O_DIRECTORY (O_PATH for reads)
  std::string leaf;    // empty when the path is the root itself
};

class files_root {
public:
  // root empty: the whole file system. The errno (generic category) and a text naming root when
  // it cannot be opened.
  protocol::result<void> open(const std::string& root);
  bool confined() const noexcept { return confined_; }

  // The components of a client path, or the error for a refused path.
  protocol::result<std::vector<std::string>> split(std::string_view path) const;

  // Opens the path for reading with flags (O_CLOEXEC added); symlinks as described above. The
  // errno (generic category) on failure.
  protocol::result<util::unique_fd> open_read(const std::vector<std::string>& comps,
                                              int flags) const;

  // The parent of the path for a read-side operation (stat, list entries).
  protocol::result<parent_and_leaf> parent_for_read(const std::vector<std::string>& comps,
                                                    std::string_view shown) const;
  // The parent of the path for a write, walked without following symlinks; missing directories
  // are created (mode 0755 before umask) when create_parents.
  protocol::result<parent_and_leaf> parent_for_write(const std::vector<std::string>& comps,
                                                     bool create_parents,
                                                     std::string_view shown) const;
  // The directory comps names itself, for writing beneath it (tar upload), created if missing.
  protocol::result<util::unique_fd>
  directory_for_write(const std::vector<std::string>& comps) const;

private:
  util::unique_fd root_;
  bool confined_ = false;
};

// comps joined with '/', with a leading '/' (what the client named, normalised).
std::string display_path(const std::vector<std::string>& comps);

} // namespace agentrt::runtime::files

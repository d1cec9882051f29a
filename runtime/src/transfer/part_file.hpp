// A download's destination: a hidden ".<name>.part" file in working_dir, renamed to <name> once
// the body is complete. Both names are used relative to a descriptor of working_dir and never
// followed as symlinks — the part file is created with O_EXCL | O_NOFOLLOW after removing
// whatever was at its name, and renameat replaces a symlink at <name> instead of writing through
// it — the rules the archive extractor follows inside working_dir. working_dir itself is the
// client's choice and is resolved as given (mkdir -p).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <system_error>

#include "util/unique_fd.hpp"

namespace agentrt::runtime::transfer {

// A local step that failed: what ("creating DIR/.x.part") and why.
struct local_failure {
  std::error_code ec;
  std::string what;

  std::string text() const { return what + ": " + ec.message(); }
};

class part_file {
public:
  // Creates working_dir if missing, opens it and creates the part file for name (a plain file
  // name, checked by the caller).
  static std::optional<part_file> create(const std::string& working_dir, const std::string& name,
                                         local_failure& failure);

  part_file(part_file&& other) noexcept;
  part_file& operator=(part_file&& other) noexcept;
  part_file(const part_file&) = delete;
  part_file& operator=(const part_file&) = delete;
  // Removes the part file unless committed.
  ~part_file() { discard(); }

  // Appends data; 0 or an errno value (ENOSPC when the disk takes no more).
  int write(const char* data, std::size_t size) noexcept;
  // Closes the part file (close() may report a deferred write error) and renames it to its final
  // name. On failure the part file is removed.
  std::optional<local_failure> commit();
  // Closes and removes the part file (a failed or cancelled transfer leaves nothing behind).
  void discard() noexcept;

  const std::string& final_path() const noexcept { return final_path_; }

private:
  part_file(util::unique_fd dir, util::unique_fd file, std::string name, std::string part_name,
            std::string final_path, std::string part_path);

  util::unique_fd dir_;
  util::unique_fd file_;
  std::string name_;
  std::string part_name_;
  std::string final_path_; // for messages
  std::string part_path_;  // for messages
  bool open_ = true;       // the part file still exists under part_name_
};

} // namespace agentrt::runtime::transfer

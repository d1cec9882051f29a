// A private directory for one harness run's files: an output-schema file, a system-prompt
// file, a settings overlay, a TMPDIR. Created 0700 in the temp directory and removed, with
// everything in it (symlinks are removed, never followed), when the run lets go of it — which
// process_run does only after the CLI has exited, also after a cancel.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace agentrt::runtime::harness {

class run_dir {
public:
  // parent: where to create it ("" = the temp directory, $TMPDIR or /tmp); prefix names it,
  // e.g. "agentrt-codex" → agentrt-codex-XXXXXX. nullptr and error on failure.
  static std::unique_ptr<run_dir> create(const std::string& prefix, std::string& error,
                                         const std::filesystem::path& parent = {});
  ~run_dir();
  run_dir(const run_dir&) = delete;
  run_dir& operator=(const run_dir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }

private:
  explicit run_dir(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

// Creates path (O_EXCL, mode 0600) holding text; false and error when it cannot.
bool write_private_file(const std::filesystem::path& path, const std::string& text,
                        std::string& error);

} // namespace agentrt::runtime::harness

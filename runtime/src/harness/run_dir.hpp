// A private directory for one harness run's files: an output-schema file, a system-prompt
// file, a settings overlay, a TMPDIR. Created 0700 in the temp directory and removed, with
// everything in it (symlinks are removed, never followed), when the run lets go of it — which
// process_run does only after the CLI has exited, also after a cancel.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "agentrt/protocol/result.hpp"

namespace agentrt::runtime::harness {

class run_dir {
public:
  // parent: where to create it ("" = the temp directory, $TMPDIR or /tmp); prefix names it,
  // e.g. "agentrt-codex" → agentrt-codex-XXXXXX. Fails with mkdtemp's errno.
  static protocol::result<std::unique_ptr<run_dir>>
  create(const std::string& prefix, const std::filesystem::path& parent = {});
  // A new one in the temp directory holding one file, name, with text (write_private_file):
  // for a CLI flag that takes a file (claude's --mcp-config, codex's --output-schema).
  static protocol::result<std::unique_ptr<run_dir>>
  with_file(const std::string& prefix, const std::string& name, const std::string& text);
  ~run_dir();
  run_dir(const run_dir&) = delete;
  run_dir& operator=(const run_dir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }

private:
  explicit run_dir(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

// Creates path (O_EXCL, mode 0600) holding text; fails with open's or write's errno.
protocol::result<void> write_private_file(const std::filesystem::path& path,
                                          const std::string& text);

} // namespace agentrt::runtime::harness

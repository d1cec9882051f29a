// The tar streams of the files client: a local directory written as a tar (ustar headers, pax
// records for long names and large sizes) for upload_directory, and a tar read as it arrives
// and extracted under a local directory for download_directory, treating the stream as hostile:
// no absolute paths, no "..", no symlink that points outside, nothing written through a
// symlink, only files, directories and symlinks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "agentrt/client/files.hpp"

namespace agentrt::client::detail {

// Walks dir (symlinks stored as symlinks, never followed; other special files skipped) and
// passes the tar's bytes to out. False with why when dir cannot be read or out failed.
bool write_tar(const std::string& dir, const std::function<bool(std::string_view)>& out,
               std::string& why);

class tar_extractor {
public:
  // dest is created if missing.
  explicit tar_extractor(std::string dest);
  ~tar_extractor();
  tar_extractor(const tar_extractor&) = delete;
  tar_extractor& operator=(const tar_extractor&) = delete;

  // False with error() set when the stream is refused or a write failed.
  bool feed(const char* data, std::size_t n);
  // True when the stream ended properly (its end blocks, or at least whole entries).
  bool finish();
  const std::string& error() const noexcept { return error_; }

private:
  bool on_header();
  bool begin_entry();
  bool fail(std::string why);

  std::string dest_;
  int root_ = -1;
  std::string header_; // collects 512 bytes
  std::uint64_t data_left_ = 0;
  std::uint64_t pad_left_ = 0;
  char type_ = 0;
  std::string path_;
  std::string link_;
  unsigned mode_ = 0644;
  std::string meta_; // a pax or GNU long-name record's data
  std::string pax_path_, pax_link_;
  std::int64_t pax_size_ = -1;
  int out_fd_ = -1;
  bool ended_ = false;
  std::string error_;
};

} // namespace agentrt::client::detail

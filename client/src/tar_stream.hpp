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
#include <vector>

#include "agentrt/client/files.hpp"
#include "agentrt/protocol/result.hpp"

namespace agentrt::client::detail {

// Walks dir (symlinks stored as symlinks, never followed; other special files skipped) and
// passes the tar's bytes to out. Fails with the errno and the path when dir cannot be read, or
// with errc::connection_failed when out failed.
protocol::result<void> write_tar(const std::string& dir,
                                 const std::function<bool(std::string_view)>& out);

class tar_extractor {
public:
  // dest is created if missing.
  explicit tar_extractor(std::string dest);
  ~tar_extractor();
  tar_extractor(const tar_extractor&) = delete;
  tar_extractor& operator=(const tar_extractor&) = delete;

  // Fails when the stream is refused (protocol::errc::invalid_value: not a tar, an entry
  // outside dest) or a write failed (the errno); the text names the entry. Once failed, every
  // later call fails the same way.
  protocol::result<void> feed(const char* data, std::size_t n);
  // ok() when the stream ended properly (its end blocks, or at least whole entries).
  protocol::result<void> finish();

private:
  protocol::result<void> consume(const char* data, std::size_t n);
  protocol::result<void> on_data(const char* data, std::size_t take);
  protocol::result<void> on_header();
  protocol::result<void> create_entry();
  protocol::result<int> open_parents(const std::vector<std::string>& comps);
  protocol::result<void> create_leaf(int dir, const std::string& leaf, std::size_t depth);
  protocol::result<void> begin_entry();

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
  protocol::error error_; // the first failure; every later call returns it
};

} // namespace agentrt::client::detail

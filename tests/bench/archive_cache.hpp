// The archives the download benchmark fetches: a zip (deflate) and a tar.zst of many files of
// half-random, half-repetitive content (about 2:1, like a source tree with some binaries),
// generated once with libarchive and kept in a cache directory across runs.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

namespace agentrt::bench {

struct archive_file {
  std::string path; // the archive on disk
  std::uint64_t archive_bytes = 0;
  std::uint64_t files = 0;          // regular-file entries
  std::uint64_t unpacked_bytes = 0; // sum of the regular files' sizes
};

enum class archive_kind { zip, tar_zst };

// The cached archive of about unpacked_bytes (rounded to whole files) in cache_dir, created
// when missing. `error` names the failing step.
std::pair<archive_file, std::string> cached_archive(const std::string& cache_dir, archive_kind kind,
                                                    std::uint64_t unpacked_bytes);

} // namespace agentrt::bench

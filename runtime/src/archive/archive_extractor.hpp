// Extraction of downloaded archives (Downloadable in docs/protocol.md; zip for runtimeuse, plus the
// tar family and 7z from the Extensions section) that treats the archive as hostile input:
// nothing is ever created outside the destination, no symlink is followed while writing, no
// device node, FIFO or setuid bit is created, and entry count, size and compression ratio are
// bounded. Synchronous and blocking: the caller runs it on a worker thread.
//
// A refused or failed extraction may leave the entries extracted before the failure inside
// dest_dir (the entry being written when it failed is removed); nothing outside dest_dir is
// touched. Cleaning dest_dir up is the caller's decision: it may have held files of its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "util/cancel_token.hpp"

namespace agentrt::runtime::archive {

enum class extract_errc {
  cancelled = 1,     // the cancel token was cancelled
  not_an_archive,    // unrecognised content, or content that contradicts the file name
  corrupt_archive,   // libarchive failed mid-way (truncated data, bad CRC, encrypted entry)
  unsafe_path,       // absolute path, "..", or a path through a symlink
  unsafe_link,       // symlink or hardlink target outside dest_dir
  unsupported_entry, // device node, FIFO, socket or unknown entry type
  path_conflict,     // e.g. a file entry where a directory exists, a file used as a directory
  too_many_entries,  // extract_limits::max_entries
  too_large,         // extract_limits::max_total_bytes
  ratio_exceeded,    // extract_limits::max_ratio
};

const std::error_category& extract_category() noexcept;
std::error_code make_error_code(extract_errc e) noexcept;

struct extract_limits {
  std::uint64_t max_total_bytes = 8ULL << 30; // uncompressed bytes, sparse holes included
  std::uint64_t max_entries = 200000;
  // Uncompressed bytes so far / archive bytes consumed so far; <= 0 disables the check. It is
  // only checked past ratio_grace_bytes of output so that small, highly compressible archives
  // (a few MB of zeros or of repetitive text) pass.
  double max_ratio = 200.0;
  std::uint64_t ratio_grace_bytes = 1ULL << 20;
};

enum class archive_format { none, zip, tar, tar_gz, tar_bz2, tar_xz, tar_zst, seven_zip };

// "zip", "tar", "tar.gz", ..., "7z"; "none" for none.
std::string_view to_string(archive_format format) noexcept;

// By name only (the last path segment, case-insensitive): .zip .tar .tar.gz .tgz .tar.bz2 .tbz2
// .tar.xz .txz .tar.zst .tzst .7z. Anything else, including a bare .gz, is none.
archive_format format_from_name(std::string_view file_name) noexcept;

// Content sniff for files whose name says nothing (the "by content" extension): true for a zip
// or 7z signature, a ustar header with a valid checksum, or a gzip/bzip2/xz/zstd stream whose
// first decompressed block is such a tar header. Deliberately conservative: false for a name
// ending in a zip-based document or package extension (.jar, .whl, .docx, .apk, ...), which
// the user wants as the file itself.
bool looks_like_archive(const std::string& path);

struct extract_result {
  std::error_code ec;        // extract_errc, or a system errno for I/O failures
  std::string error;         // names the entry and the rule, e.g.
                             // entry "../evil": path escapes the working directory
  std::uint64_t entries = 0; // entries extracted (files, directories, links)
  std::uint64_t bytes = 0;   // uncompressed bytes written
  archive_format format = archive_format::none; // what the content turned out to be

  // An outcome, not an error: ok() rather than a bool conversion (which would read the
  // opposite way to std::error_code's).
  bool ok() const noexcept { return !ec; }
};

// Extracts archive_path into dest_dir (created if missing). The expected format comes from the
// archive's file name (format_from_name); the content must confirm it: a ".zip" that is not a
// zip fails with "not a zip archive". The compression filter is not held to the name (a
// ".tar.gz" that an HTTP layer already decompressed is still a tar). A name without an archive
// extension accepts any supported format. `cancel` is polled between headers and data blocks.
extract_result extract_archive(const std::string& archive_path, const std::string& dest_dir,
                               const extract_limits& limits, util::cancel_token cancel = {});

// Same with the expected format given (e.g. a temporary download name says nothing);
// archive_format::none accepts any supported format.
extract_result extract_archive(const std::string& archive_path, archive_format expected,
                               const std::string& dest_dir, const extract_limits& limits,
                               util::cancel_token cancel = {});

} // namespace agentrt::runtime::archive

namespace std {
template <> struct is_error_code_enum<agentrt::runtime::archive::extract_errc> : true_type {};
} // namespace std

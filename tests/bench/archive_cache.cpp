// Archive generation for the download benchmark (libarchive's write side).
#include "archive_cache.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "byte_pattern.hpp"

namespace agentrt::bench {
namespace {

constexpr std::uint64_t file_bytes = 256 * 1024;
constexpr std::uint64_t files_per_dir = 64;
constexpr std::size_t block_bytes = 4096;
// Bump when the content or layout changes so that stale caches are not reused.
constexpr int layout_version = 1;

// Even blocks random (incompressible), odd blocks the pattern (compresses to nothing).
void fill_file(std::uint64_t file_index, std::vector<char>& out) {
  std::uint64_t x = 0x9E3779B97F4A7C15ull * (file_index + 1);
  for (std::size_t off = 0; off < out.size(); off += block_bytes) {
    const bool random = (off / block_bytes) % 2 == 0;
    for (std::size_t i = off; i < off + block_bytes && i < out.size(); i += 8) {
      if (random) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for (std::size_t b = 0; b < 8 && i + b < out.size(); ++b)
          out[i + b] = static_cast<char>(x >> (8 * b));
      } else {
        for (std::size_t b = 0; b < 8 && i + b < out.size(); ++b)
          out[i + b] = pattern_line[(i + b) % pattern_line.size()];
      }
    }
  }
}

struct archive_closer {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct entry_closer {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

std::string write_archive(const std::string& path, archive_kind kind, std::uint64_t files) {
  std::unique_ptr<archive, archive_closer> a(archive_write_new());
  if (kind == archive_kind::zip) {
    archive_write_set_format_zip(a.get());
    // Level 1 keeps generation quick; unknown to older libarchive, which then uses its default.
    archive_write_set_options(a.get(), "zip:compression=deflate");
    archive_write_set_options(a.get(), "zip:compression-level=1");
  } else {
    archive_write_set_format_pax_restricted(a.get());
    if (archive_write_add_filter_zstd(a.get()) != ARCHIVE_OK)
      return std::string("zstd filter: ") + archive_error_string(a.get());
  }
  if (archive_write_open_filename(a.get(), path.c_str()) != ARCHIVE_OK)
    return std::string("open: ") + archive_error_string(a.get());
  std::vector<char> data(file_bytes);
  const auto add = [&](const std::string& name, bool dir, const std::vector<char>* body) {
    std::unique_ptr<archive_entry, entry_closer> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e.get(), dir ? 0755 : 0644);
    archive_entry_set_mtime(e.get(), 1700000000, 0);
    archive_entry_set_size(e.get(), body ? static_cast<la_int64_t>(body->size()) : 0);
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK)
      return std::string("header ") + name + ": " + archive_error_string(a.get());
    if (body && archive_write_data(a.get(), body->data(), body->size()) !=
                    static_cast<la_ssize_t>(body->size()))
      return std::string("data ") + name + ": " + archive_error_string(a.get());
    return std::string();
  };
  for (std::uint64_t i = 0; i < files; ++i) {
    char dir[32], name[64];
    std::snprintf(dir, sizeof dir, "d%04llu/", static_cast<unsigned long long>(i / files_per_dir));
    std::snprintf(name, sizeof name, "%sf%06llu.bin", dir, static_cast<unsigned long long>(i));
    if (i % files_per_dir == 0)
      if (auto err = add(dir, true, nullptr); !err.empty())
        return err;
    fill_file(i, data);
    if (auto err = add(name, false, &data); !err.empty())
      return err;
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return std::string("close: ") + archive_error_string(a.get());
  return {};
}

} // namespace

std::pair<archive_file, std::string> cached_archive(const std::string& cache_dir, archive_kind kind,
                                                    std::uint64_t unpacked_bytes) {
  archive_file out;
  out.files = std::max<std::uint64_t>(1, unpacked_bytes / file_bytes);
  out.unpacked_bytes = out.files * file_bytes;
  out.path = cache_dir + "/bench-v" + std::to_string(layout_version) + "-" +
             std::to_string(out.files) + "x256k" +
             (kind == archive_kind::zip ? ".zip" : ".tar.zst");
  struct stat st {};
  if (::stat(out.path.c_str(), &st) != 0) {
    std::error_code ignored; // a failure shows when the archive is opened
    std::filesystem::create_directories(cache_dir, ignored);
    std::fprintf(stderr, "agentrt_bench: generating %s (once)\n", out.path.c_str());
    const std::string tmp = out.path + ".tmp" + std::to_string(::getpid());
    if (auto err = write_archive(tmp, kind, out.files); !err.empty()) {
      ::unlink(tmp.c_str());
      return {out, err};
    }
    if (::rename(tmp.c_str(), out.path.c_str()) != 0 || ::stat(out.path.c_str(), &st) != 0)
      return {out, "cannot store " + out.path};
  }
  out.archive_bytes = static_cast<std::uint64_t>(st.st_size);
  return {out, {}};
}

} // namespace agentrt::bench

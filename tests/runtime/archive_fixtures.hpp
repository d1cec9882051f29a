// Archives written with libarchive's write API for the tests that feed archives to the
// extractor: archive_extractor_test.cpp (directly) and files_api_test.cpp (through the files
// API's tar upload), which must refuse exactly the same hostile archives. Header-only (inline)
// because both are in runtime_tests.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "archive/archive_extractor.hpp"

namespace agentrt::test::archive_fixtures {

namespace fs = std::filesystem;
namespace ax = runtime::archive;
using ax::archive_format;
using ax::extract_errc;

struct write_deleter {
  void operator()(::archive* a) const noexcept { archive_write_free(a); }
};
struct entry_deleter {
  void operator()(::archive_entry* e) const noexcept { archive_entry_free(e); }
};
using archive_writer = std::unique_ptr<::archive, write_deleter>;
using entry_ptr = std::unique_ptr<::archive_entry, entry_deleter>;

enum class kind { file, dir, symlink, hardlink, fifo, chardev };

struct spec {
  std::string path;
  kind type = kind::file;
  std::string data = {};   // file contents, or the link target
  unsigned mode = 0644;    // permission bits incl. setuid/setgid/sticky
  std::uint64_t zeros = 0; // when set, the file is this many zero bytes, streamed
  // When set (tar only): a sparse file of `zeros` bytes whose only data is `data` at this
  // offset; everything else is a hole.
  std::int64_t sparse_at = -1;
};

// Deterministic bytes that do not compress, so formats cannot cheat on content.
inline std::string noise(std::size_t n, std::uint32_t seed) {
  std::string out(n, '\0');
  for (char& c : out) {
    seed = seed * 1664525u + 1013904223u;
    c = static_cast<char>(seed >> 24);
  }
  return out;
}

// libarchive converts names to the thread's locale; the test process never calls setlocale, so
// writing a non-ASCII name needs a UTF-8 LC_CTYPE (the extractor sets its own).
class scoped_utf8_locale {
public:
  scoped_utf8_locale() : locale_(::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{})) {
    if (locale_)
      previous_ = ::uselocale(locale_);
  }
  ~scoped_utf8_locale() {
    if (!locale_)
      return;
    ::uselocale(previous_);
    ::freelocale(locale_);
  }
  scoped_utf8_locale(const scoped_utf8_locale&) = delete;
  scoped_utf8_locale& operator=(const scoped_utf8_locale&) = delete;

private:
  locale_t locale_{};
  locale_t previous_{};
};

// Writes `entries` as `format` to `path`. Returns "" on success, "skip: why" when this
// libarchive cannot write the format, else the error.
inline std::string write_archive(const fs::path& path, archive_format format,
                                 const std::vector<spec>& entries, const char* options = nullptr) {
  const scoped_utf8_locale utf8;
  archive_writer a(archive_write_new());
  int r = ARCHIVE_OK;
  switch (format) {
  case archive_format::zip:
    r = archive_write_set_format_zip(a.get());
    break;
  case archive_format::seven_zip:
    r = archive_write_set_format_7zip(a.get());
    break;
  default: {
    // Full pax (not pax_restricted) is the libarchive tar writer that stores sparse maps.
    const bool sparse =
        std::any_of(entries.begin(), entries.end(), [](const spec& s) { return s.sparse_at >= 0; });
    r = sparse ? archive_write_set_format_pax(a.get())
               : archive_write_set_format_pax_restricted(a.get());
  }
  }
  if (r != ARCHIVE_OK)
    return std::string("skip: format: ") + archive_error_string(a.get());
  switch (format) {
  case archive_format::tar_gz:
    r = archive_write_add_filter_gzip(a.get());
    break;
  case archive_format::tar_bz2:
    r = archive_write_add_filter_bzip2(a.get());
    break;
  case archive_format::tar_xz:
    r = archive_write_add_filter_xz(a.get());
    break;
  case archive_format::tar_zst:
    r = archive_write_add_filter_zstd(a.get());
    break;
  default:
    break;
  }
  // ARCHIVE_WARN here means "via an external program": not what we want to test.
  if (r != ARCHIVE_OK) {
    return std::string("skip: libarchive has no built-in ") + std::string(ax::to_string(format)) +
           " writer";
  }
  if (options && archive_write_set_options(a.get(), options) != ARCHIVE_OK) {
    return std::string("options: ") + archive_error_string(a.get());
  }
  if (archive_write_open_filename(a.get(), path.c_str()) != ARCHIVE_OK) {
    return std::string("open: ") + archive_error_string(a.get());
  }
  const std::string zero_chunk(1 << 20, '\0');
  for (const spec& s : entries) {
    entry_ptr e(archive_entry_new());
    archive_entry_set_pathname(e.get(), s.path.c_str());
    archive_entry_set_mtime(e.get(), 1700000000, 0);
    std::uint64_t size = 0;
    switch (s.type) {
    case kind::file:
      archive_entry_set_filetype(e.get(), AE_IFREG);
      size = s.zeros ? s.zeros : s.data.size();
      break;
    case kind::dir:
      archive_entry_set_filetype(e.get(), AE_IFDIR);
      break;
    case kind::symlink:
      archive_entry_set_filetype(e.get(), AE_IFLNK);
      archive_entry_set_symlink(e.get(), s.data.c_str());
      break;
    case kind::hardlink:
      archive_entry_set_filetype(e.get(), AE_IFREG);
      archive_entry_set_hardlink(e.get(), s.data.c_str());
      break;
    case kind::fifo:
      archive_entry_set_filetype(e.get(), AE_IFIFO);
      break;
    case kind::chardev:
      archive_entry_set_filetype(e.get(), AE_IFCHR);
      archive_entry_set_rdev(e.get(), makedev(1, 3));
      break;
    }
    archive_entry_set_perm(e.get(), s.mode);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    if (s.sparse_at >= 0) { // after the size: libarchive drops regions beyond it
      archive_entry_sparse_add_entry(e.get(), s.sparse_at, static_cast<la_int64_t>(s.data.size()));
    }
    if (archive_write_header(a.get(), e.get()) < ARCHIVE_WARN) {
      return "header " + s.path + ": " + archive_error_string(a.get());
    }
    if (s.type != kind::file)
      continue;
    if (s.sparse_at >= 0) {
      // The writer takes the logical contents and stores only the mapped region.
      const std::string before(static_cast<std::size_t>(s.sparse_at), '\0');
      const std::string after(s.zeros - before.size() - s.data.size(), '\0');
      for (const std::string* part : {&before, &s.data, &after}) {
        if (!part->empty() && archive_write_data(a.get(), part->data(), part->size()) < 0) {
          return "data " + s.path + ": " + archive_error_string(a.get());
        }
      }
    } else if (s.zeros) {
      for (std::uint64_t left = s.zeros; left > 0;) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(left, zero_chunk.size()));
        if (archive_write_data(a.get(), zero_chunk.data(), n) < 0) {
          return "data " + s.path + ": " + archive_error_string(a.get());
        }
        left -= n;
      }
    } else if (!s.data.empty() && archive_write_data(a.get(), s.data.data(), s.data.size()) < 0) {
      return "data " + s.path + ": " + archive_error_string(a.get());
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return std::string("close: ") + archive_error_string(a.get());
  }
  return "";
}

// Hostile archives. "{OUT}" in a path or target stands for tmp/outside (absolute, outside
// root/), which must never come into existence.

struct hostile_case {
  const char* label;
  archive_format format;
  std::vector<spec> entries;
  extract_errc expected;
  std::vector<std::string> message_parts;       // each must appear in the error text
  std::vector<std::string> must_not_exist = {}; // relative to dest
};

inline std::ostream& operator<<(std::ostream& os, const hostile_case& c) {
  return os << c.label;
}

inline const hostile_case hostile_cases[] = {
    {"dotdot",
     archive_format::tar,
     {{"../escape", kind::file, "x"}},
     extract_errc::unsafe_path,
     {"entry \"../escape\"", "path escapes the working directory"}},
    {"dotdot_zip",
     archive_format::zip,
     {{"../escape", kind::file, "x"}},
     extract_errc::unsafe_path,
     {"entry \"../escape\"", "path escapes the working directory"}},
    {"absolute",
     archive_format::tar,
     {{"/abs/path", kind::file, "x"}},
     extract_errc::unsafe_path,
     {"entry \"/abs/path\"", "absolute path"}},
    {"absolute_outside",
     archive_format::tar,
     {{"{OUT}", kind::file, "x"}},
     extract_errc::unsafe_path,
     {"absolute path"}},
    {"nested_dotdot",
     archive_format::tar,
     {{"a/../../escape", kind::file, "x"}},
     extract_errc::unsafe_path,
     {"entry \"a/../../escape\"", "escapes the working directory"},
     {"a"}},
    {"dotdot_dir",
     archive_format::tar,
     {{"ok.txt", kind::file, "x"}, {"../d/", kind::dir}},
     extract_errc::unsafe_path,
     {"entry \"../d/\"", "escapes the working directory"}},
    {"symlink_etc",
     archive_format::tar,
     {{"etc", kind::symlink, "/etc"}, {"etc/agentrt-evil", kind::file, "x"}},
     extract_errc::unsafe_link,
     {"entry \"etc\"", "symlink target \"/etc\" is an absolute path"},
     {"etc"}},
    {"symlink_dotdot_dotdot",
     archive_format::tar,
     {{"up", kind::symlink, "../.."}},
     extract_errc::unsafe_link,
     {"entry \"up\"", "points outside the working directory"},
     {"up"}},
    {"symlink_deep_dotdot",
     archive_format::zip,
     {{"a/b/up", kind::symlink, "../../../x"}},
     extract_errc::unsafe_link,
     {"entry \"a/b/up\"", "points outside the working directory"},
     {"a/b/up"}},
    {"symlink_then_write_absolute",
     archive_format::tar,
     {{"link", kind::symlink, "{OUT}"}, {"link/file", kind::file, "pwned"}},
     extract_errc::unsafe_link,
     {"entry \"link\"", "is an absolute path"},
     {"link"}},
    {"symlink_then_write_dotdot",
     archive_format::tar,
     {{"link", kind::symlink, ".."}, {"link/escape", kind::file, "pwned"}},
     extract_errc::unsafe_link,
     {"entry \"link\"", "points outside the working directory"},
     {"link"}},
    {"symlink_then_write_inside",
     archive_format::tar,
     {{"sub/", kind::dir}, {"link", kind::symlink, "sub"}, {"link/file", kind::file, "x"}},
     extract_errc::unsafe_path,
     {"entry \"link/file\"", "symbolic link \"link\"", "writing through symlinks is refused"},
     {"sub/file"}},
    {"symlink_then_write_inside_zip",
     archive_format::zip,
     {{"sub/", kind::dir}, {"link", kind::symlink, "sub"}, {"link/file", kind::file, "x"}},
     extract_errc::unsafe_path,
     {"entry \"link/file\"", "symbolic link \"link\""},
     {"sub/file"}},
    {"symlink_chain",
     archive_format::tar,
     {{"sub/up", kind::symlink, ".."}, {"sub/out", kind::symlink, "up/.."}},
     extract_errc::unsafe_link,
     {"entry \"sub/out\"", "symlink target \"up/..\"", "after a name"},
     {"sub/out"}},
    {"symlink_empty_target",
     archive_format::tar,
     {{"l", kind::symlink, ""}},
     extract_errc::unsafe_link,
     {"entry \"l\"", "no target"}},
    {"hardlink_etc_passwd",
     archive_format::tar,
     {{"h", kind::hardlink, "/etc/passwd"}},
     extract_errc::unsafe_link,
     {"entry \"h\"", "hardlink target \"/etc/passwd\" is an absolute path"},
     {"h"}},
    {"hardlink_outside",
     archive_format::tar,
     {{"h", kind::hardlink, "../outside"}},
     extract_errc::unsafe_link,
     {"entry \"h\"", "is outside the working directory"},
     {"h"}},
    {"hardlink_not_extracted",
     archive_format::tar,
     {{"h", kind::hardlink, "nothere"}},
     extract_errc::unsafe_link,
     {"entry \"h\"", "not a file extracted earlier"},
     {"h"}},
    {"hardlink_to_symlink",
     archive_format::tar,
     {{"s", kind::symlink, "x"}, {"h", kind::hardlink, "s"}},
     extract_errc::unsafe_link,
     {"entry \"h\"", "not a file extracted earlier"},
     {"h"}},
    {"hardlink_to_replaced_file",
     archive_format::tar,
     {{"f", kind::file, "x"}, {"f", kind::symlink, "elsewhere"}, {"h", kind::hardlink, "f"}},
     extract_errc::unsafe_link,
     {"entry \"h\"", "hardlink target \"f\""},
     {"h"}},
    {"fifo",
     archive_format::tar,
     {{"pipe", kind::fifo}},
     extract_errc::unsupported_entry,
     {"entry \"pipe\"", "FIFOs are not extracted"},
     {"pipe"}},
    {"char_device",
     archive_format::tar,
     {{"null", kind::chardev}},
     extract_errc::unsupported_entry,
     {"entry \"null\"", "device nodes are not extracted"},
     {"null"}},
    {"dot_as_file",
     archive_format::tar,
     {{".", kind::file, "x"}},
     extract_errc::path_conflict,
     {"entry \".\"", "names the working directory itself"}},
    {"dot_slash_as_symlink",
     archive_format::tar,
     {{"./", kind::symlink, "elsewhere"}},
     extract_errc::path_conflict,
     {"names the working directory itself"}},
    {"file_over_directory",
     archive_format::tar,
     {{"d/", kind::dir}, {"d", kind::file, "x"}},
     extract_errc::path_conflict,
     {"entry \"d\"", "a directory already exists"}},
    {"file_as_parent",
     archive_format::tar,
     {{"f", kind::file, "x"}, {"f/x", kind::file, "y"}},
     extract_errc::path_conflict,
     {"entry \"f/x\"", "\"f\" exists and is not a directory"}},
};

} // namespace agentrt::test::archive_fixtures

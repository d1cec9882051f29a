// Hostile-input-safe archive extraction on top of libarchive's read API. libarchive only parses;
// every file system operation is done here, relative to a directory fd of dest_dir with
// O_NOFOLLOW on each path component, so that no entry (and no symlink an earlier entry made)
// can redirect a write outside dest_dir — a property archive_write_disk's SECURE_* flags check by
// path strings, which a concurrent or earlier symlink can defeat.
#include "archive/archive_extractor.hpp"

#include "util/unique_fd.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <unordered_set>
#include <utility>
#include <vector>

namespace agentrt::runtime::archive {
namespace {

// libarchive's `struct archive` is spelled ::archive here: inside this namespace the bare name
// means the namespace itself.

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "agentrt.archive"; }

  std::string message(int value) const override {
    switch (static_cast<extract_errc>(value)) {
    case extract_errc::cancelled:
      return "cancelled";
    case extract_errc::not_an_archive:
      return "not a supported archive";
    case extract_errc::corrupt_archive:
      return "corrupt archive";
    case extract_errc::unsafe_path:
      return "unsafe entry path";
    case extract_errc::unsafe_link:
      return "unsafe link target";
    case extract_errc::unsupported_entry:
      return "unsupported entry type";
    case extract_errc::path_conflict:
      return "entry conflicts with an existing path";
    case extract_errc::too_many_entries:
      return "too many entries";
    case extract_errc::too_large:
      return "archive expands beyond the size limit";
    case extract_errc::ratio_exceeded:
      return "archive exceeds the compression ratio limit";
    }
    return "unknown archive error " + std::to_string(value);
  }

  std::error_condition default_error_condition(int value) const noexcept override {
    // Lets callers test `ec == std::errc::operation_canceled` without knowing this category.
    switch (static_cast<extract_errc>(value)) {
    case extract_errc::cancelled:
      return std::errc::operation_canceled;
    case extract_errc::too_large:
      return std::errc::file_too_large;
    default:
      return {value, *this};
    }
  }
};

constexpr std::size_t read_block_size = 64 * 1024;

struct archive_read_deleter {
  void operator()(::archive* a) const noexcept { archive_read_free(a); }
};
using archive_reader = std::unique_ptr<::archive, archive_read_deleter>;

// A name for error messages: quoted, control bytes escaped, bounded in length.
std::string quote_name(std::string_view s) {
  constexpr std::size_t max_shown = 256;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); i++) {
    if (i == max_shown) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      std::array<char, 5> buf{};
      std::snprintf(buf.data(), buf.size(), "\\x%02x", c);
      out += buf.data();
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

enum class path_problem { none, empty, absolute, dot_dot };

// Splits an archive-internal path into components, dropping empty and "." ones.
path_problem split_path(std::string_view path, std::vector<std::string>& out) {
  out.clear();
  if (path.empty())
    return path_problem::empty;
  if (path.front() == '/')
    return path_problem::absolute;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    const std::string_view comp = path.substr(0, slash);
    path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
    if (comp.empty() || comp == ".")
      continue;
    if (comp == "..")
      return path_problem::dot_dot;
    out.emplace_back(comp);
  }
  return path_problem::none;
}

std::string join(const std::vector<std::string>& comps, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; i++) {
    if (i)
      out += '/';
    out += comps[i];
  }
  return out;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view base_name(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The container a format implies; the compression filter is not part of it.
enum class container { none, zip, tar, seven_zip };

container container_of(archive_format f) {
  switch (f) {
  case archive_format::none:
    return container::none;
  case archive_format::zip:
    return container::zip;
  case archive_format::seven_zip:
    return container::seven_zip;
  default:
    return container::tar;
  }
}

// The set of formats and filters accepted anywhere: exactly the ones docs/protocol.md names.
// Filters not compiled into libarchive make it fall back to an external program (ARCHIVE_WARN);
// only a hard failure matters here.
bool enable_supported_formats(::archive* a, bool tar_only) {
  if (!tar_only) {
    if (archive_read_support_format_zip(a) < ARCHIVE_WARN)
      return false;
    if (archive_read_support_format_7zip(a) < ARCHIVE_WARN)
      return false;
  }
  if (archive_read_support_format_tar(a) < ARCHIVE_WARN)
    return false;
  if (archive_read_support_filter_gzip(a) < ARCHIVE_WARN)
    return false;
  if (archive_read_support_filter_bzip2(a) < ARCHIVE_WARN)
    return false;
  if (archive_read_support_filter_xz(a) < ARCHIVE_WARN)
    return false;
  if (archive_read_support_filter_zstd(a) < ARCHIVE_WARN)
    return false;
  return true;
}

// libarchive converts entry names (7z's UTF-16, zip's UTF-8 flag, pax's UTF-8 records) to the
// calling thread's locale. The runtime never calls setlocale, so that is "C" (ASCII) and every
// non-ASCII name would fail to convert. A UTF-8 LC_CTYPE for this thread only, for the duration
// of one call, yields UTF-8 names on disk without touching other threads.
class scoped_utf8_locale {
public:
  scoped_utf8_locale() {
    for (const char* name : {"C.UTF-8", "C.utf8", "en_US.UTF-8"}) {
      locale_ = ::newlocale(LC_CTYPE_MASK, name, locale_t{});
      if (locale_)
        break;
    }
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

std::string archive_error(::archive* a) {
  const char* text = archive_error_string(a);
  return text ? text : "unknown libarchive error";
}

// The errno (generic category) of the pwrite that failed.
std::error_code write_all(int fd, const char* data, std::size_t size, off_t offset) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, offset);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return {errno, std::generic_category()};
    }
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += n;
  }
  return {};
}

// One extraction run: the destination's directory fd, the limits' counters and the set of
// regular files extracted so far (the only things a hardlink may point at).
class archive_extractor {
public:
  archive_extractor(const extract_limits& limits, util::cancel_token cancel)
      : limits_(limits), cancel_(std::move(cancel)) {}

  extract_result run(const std::string& archive_path, archive_format expected,
                     const std::string& dest_dir) {
    archive_name_ = std::string(base_name(archive_path));
    if (cancelled()) {
      fail(extract_errc::cancelled, "cancelled");
      return std::move(result_);
    }
    if (!open_destination(dest_dir) || !open_archive(archive_path, expected))
      return std::move(result_);
    ::archive* a = reader_.get();
    bool first = true;
    std::string previous; // for errors in a header that has no usable name
    for (;;) {
      if (cancelled()) {
        fail(extract_errc::cancelled, "cancelled");
        break;
      }
      ::archive_entry* entry = nullptr;
      const int r = archive_read_next_header(a, &entry);
      if (r == ARCHIVE_EOF) {
        if (first)
          confirm_format(expected);
        break;
      }
      if (r < ARCHIVE_WARN) { // RETRY, FAILED, FATAL: hostile input gets no second chance
        if (first && ::archive_format(a) == 0) {
          fail(extract_errc::not_an_archive, quote_name(archive_name_) + " is " + not_a(expected) +
                                                 " (" + archive_error(a) + ")");
        } else if (!first || confirm_format(expected)) {
          fail(extract_errc::corrupt_archive,
               (first ? quote_name(archive_name_) + ": cannot read the first entry: "
                      : "cannot read the entry after " + quote_name(previous) + ": ") +
                   archive_error(a));
        }
        break;
      }
      if (first) {
        if (!confirm_format(expected))
          break;
        first = false;
      }
      if (!extract_entry(entry))
        break;
      previous = entry_name_;
      result_.entries++;
    }
    return std::move(result_);
  }

private:
  bool cancelled() const { return cancel_.cancelled(); }

  bool fail(std::error_code ec, std::string text) {
    result_.ec = ec;
    result_.error = std::move(text);
    return false;
  }
  bool fail_entry(std::error_code ec, std::string_view rule) {
    return fail(ec, "entry " + quote_name(entry_name_) + ": " + std::string(rule));
  }
  bool fail_errno(int err, std::string_view what) {
    return fail_entry({err, std::system_category()},
                      std::string(what) + ": " + std::generic_category().message(err));
  }

  static std::string not_a(archive_format expected) {
    if (expected == archive_format::none)
      return "not a supported archive (zip, tar, 7z)";
    return "not a " + std::string(to_string(expected)) + " archive";
  }

  bool open_destination(const std::string& dest_dir) {
    std::error_code ec;
    std::filesystem::create_directories(dest_dir, ec);
    if (ec)
      return fail(ec, "cannot create " + quote_name(dest_dir) + ": " + ec.message());
    // dest_dir itself may be reached through symlinks (the caller chose it); below it, nothing.
    root_.reset(::open(dest_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root_) {
      const int err = errno;
      return fail({err, std::system_category()}, "cannot open " + quote_name(dest_dir) + ": " +
                                                     std::generic_category().message(err));
    }
    return true;
  }

  bool open_archive(const std::string& path, archive_format expected) {
    // O_NONBLOCK: opening a FIFO planted at the path must not hang the worker; it is then
    // refused as not a regular file. Reads of regular files ignore the flag.
    archive_fd_.reset(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!archive_fd_) {
      const int err = errno;
      return fail({err, std::system_category()},
                  "cannot open " + quote_name(path) + ": " + std::generic_category().message(err));
    }
    struct stat st {};
    if (::fstat(archive_fd_.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return fail(extract_errc::not_an_archive, quote_name(path) + " is not a regular file");
    }
    reader_.reset(archive_read_new());
    if (!reader_)
      return fail(std::make_error_code(std::errc::not_enough_memory), "out of memory");
    if (!enable_supported_formats(reader_.get(), false)) {
      return fail(extract_errc::not_an_archive, "libarchive: " + archive_error(reader_.get()));
    }
    // Filter and format detection start here: content that is no supported archive fails here.
    if (archive_read_open_fd(reader_.get(), archive_fd_.get(), read_block_size) != ARCHIVE_OK) {
      return fail(extract_errc::not_an_archive, quote_name(archive_name_) + " is " +
                                                    not_a(expected) + " (" +
                                                    archive_error(reader_.get()) + ")");
    }
    return true;
  }

  // Called once libarchive has chosen a format (after the first header): the content must be
  // the container the name promised.
  bool confirm_format(archive_format expected) {
    ::archive* a = reader_.get();
    const int base = ::archive_format(a) & ARCHIVE_FORMAT_BASE_MASK;
    archive_format detected = archive_format::none;
    if (base == ARCHIVE_FORMAT_ZIP) {
      detected = archive_format::zip;
    } else if (base == ARCHIVE_FORMAT_7ZIP) {
      detected = archive_format::seven_zip;
    } else if (base == ARCHIVE_FORMAT_TAR) {
      switch (archive_filter_code(a, 0)) {
      case ARCHIVE_FILTER_GZIP:
        detected = archive_format::tar_gz;
        break;
      case ARCHIVE_FILTER_BZIP2:
        detected = archive_format::tar_bz2;
        break;
      case ARCHIVE_FILTER_XZ:
        detected = archive_format::tar_xz;
        break;
      case ARCHIVE_FILTER_ZSTD:
        detected = archive_format::tar_zst;
        break;
      default:
        detected = archive_format::tar;
      }
    }
    result_.format = detected;
    if (detected == archive_format::none) {
      return fail(extract_errc::not_an_archive,
                  quote_name(archive_name_) + " is " + not_a(expected));
    }
    if (expected != archive_format::none && container_of(expected) != container_of(detected)) {
      return fail(extract_errc::not_an_archive, quote_name(archive_name_) + " is " +
                                                    not_a(expected) + " (its content is a " +
                                                    std::string(to_string(detected)) + " archive)");
    }
    return true;
  }

  bool extract_entry(::archive_entry* entry) {
    const char* name = archive_entry_pathname(entry);
    if (!name)
      name = archive_entry_pathname_utf8(entry);
    entry_name_ = name ? name : "";
    if (result_.entries >= limits_.max_entries) {
      return fail_entry(extract_errc::too_many_entries,
                        "the archive exceeds the entry count limit (" +
                            std::to_string(limits_.max_entries) + ")");
    }
    switch (split_path(entry_name_, comps_)) {
    case path_problem::none:
      break;
    case path_problem::empty:
      return fail_entry(extract_errc::unsafe_path,
                        "entry has no name (or one that is not valid in UTF-8)");
    case path_problem::absolute:
      return fail_entry(extract_errc::unsafe_path, "absolute paths are not extracted");
    case path_problem::dot_dot:
      return fail_entry(extract_errc::unsafe_path, "path escapes the working directory");
    }
    const char* hardlink = archive_entry_hardlink(entry);
    if (!hardlink)
      hardlink = archive_entry_hardlink_utf8(entry);
    if (comps_.empty()) {
      // "." or "./": only a directory entry may name dest_dir itself, and it changes nothing.
      if (!hardlink && archive_entry_filetype(entry) == AE_IFDIR)
        return true;
      return fail_entry(extract_errc::path_conflict, "entry names the working directory itself");
    }
    if (archive_entry_is_encrypted(entry)) {
      return fail_entry(extract_errc::unsupported_entry, "encrypted entries are not supported");
    }
    if (hardlink)
      return extract_hardlink(hardlink);
    switch (archive_entry_filetype(entry)) {
    case AE_IFREG:
      return extract_file(entry);
    case AE_IFDIR:
      return extract_directory(entry);
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(entry);
      if (!target)
        target = archive_entry_symlink_utf8(entry);
      return extract_symlink(target ? target : "");
    }
    case AE_IFCHR:
    case AE_IFBLK:
      return fail_entry(extract_errc::unsupported_entry, "device nodes are not extracted");
    case AE_IFIFO:
      return fail_entry(extract_errc::unsupported_entry, "FIFOs are not extracted");
    case AE_IFSOCK:
      return fail_entry(extract_errc::unsupported_entry, "sockets are not extracted");
    default:
      return fail_entry(extract_errc::unsupported_entry, "unknown entry type");
    }
  }

  // Opens comps[0..count) below dest_dir, creating missing directories, never following a
  // symlink. Returns an invalid descriptor after recording the failure.
  util::unique_fd open_directory_path(const std::vector<std::string>& comps, std::size_t count) {
    util::unique_fd dir(::fcntl(root_.get(), F_DUPFD_CLOEXEC, 0));
    if (!dir) {
      fail_errno(errno, "cannot duplicate the destination's descriptor");
      return {};
    }
    for (std::size_t i = 0; i < count; i++) {
      const char* comp = comps[i].c_str();
      constexpr int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
      int fd = ::openat(dir.get(), comp, flags);
      if (fd < 0 && errno == ENOENT) {
        if (::mkdirat(dir.get(), comp, 0755) != 0 && errno != EEXIST) {
          fail_errno(errno, "cannot create directory " + quote_name(join(comps, i + 1)));
          return {};
        }
        fd = ::openat(dir.get(), comp, flags);
      }
      if (fd < 0) {
        const int err = errno;
        struct stat st {};
        if ((err == ELOOP || err == ENOTDIR) &&
            ::fstatat(dir.get(), comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
          if (S_ISLNK(st.st_mode)) {
            fail_entry(extract_errc::unsafe_path, "path goes through the symbolic link " +
                                                      quote_name(join(comps, i + 1)) +
                                                      " (writing through symlinks is refused)");
          } else {
            fail_entry(extract_errc::path_conflict,
                       quote_name(join(comps, i + 1)) + " exists and is not a directory");
          }
        } else {
          fail_errno(err, "cannot open directory " + quote_name(join(comps, i + 1)));
        }
        return {};
      }
      dir.reset(fd);
    }
    return dir;
  }

  // open_directory_path with a one-entry cache: archives list siblings together, so most
  // entries reuse the previous entry's directory. The mapping cannot go stale during a run
  // because directories are never removed or replaced here.
  int directory_fd(const std::vector<std::string>& comps, std::size_t count) {
    std::string key = join(comps, count);
    if (cached_dir_ && key == cached_dir_path_)
      return cached_dir_.get();
    util::unique_fd dir = open_directory_path(comps, count);
    if (!dir)
      return -1;
    cached_dir_ = std::move(dir);
    cached_dir_path_ = std::move(key);
    return cached_dir_.get();
  }

  // Removes a non-directory that is in the way of a new entry (archives may repeat a name,
  // and the last copy wins, as with tar). unlinkat never follows the name if it is a symlink.
  bool make_room(int dir, const std::string& name, const std::string& relative) {
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return errno == ENOENT ? true : fail_errno(errno, "cannot inspect the existing path");
    }
    if (S_ISDIR(st.st_mode)) {
      return fail_entry(extract_errc::path_conflict, "a directory already exists at this path");
    }
    if (::unlinkat(dir, name.c_str(), 0) != 0 && errno != ENOENT) {
      return fail_errno(errno, "cannot replace the existing file");
    }
    regular_files_.erase(relative);
    return true;
  }

  bool extract_directory(::archive_entry* entry) {
    const int dir = directory_fd(comps_, comps_.size());
    if (dir < 0)
      return false;
    // Always owner-writable and traversable, so later entries and the caller's cleanup work;
    // setgid/sticky bits are dropped.
    if (::fchmod(dir, 0755 | (archive_entry_perm(entry) & 0777)) != 0) {
      return fail_errno(errno, "cannot set the directory's mode");
    }
    return true;
  }

  bool extract_file(::archive_entry* entry) {
    if (archive_entry_size_is_set(entry)) {
      const la_int64_t size = archive_entry_size(entry);
      if (size > 0 && static_cast<std::uint64_t>(size) > limits_.max_total_bytes - result_.bytes) {
        return fail_too_large();
      }
    }
    const int dir = directory_fd(comps_, comps_.size() - 1);
    if (dir < 0)
      return false;
    const std::string& name = comps_.back();
    const std::string relative = join(comps_, comps_.size());
    constexpr int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    // O_EXCL|O_NOFOLLOW: a symlink planted at the name is never opened through.
    util::unique_fd out(::openat(dir, name.c_str(), flags, 0600));
    if (!out && errno == EEXIST) {
      if (!make_room(dir, name, relative))
        return false;
      out.reset(::openat(dir, name.c_str(), flags, 0600));
    }
    if (!out)
      return fail_errno(errno, "cannot create the file");
    if (!copy_data(out.get(), entry) || !finish_file(out, entry)) {
      // Remove the partial file (a half-written bomb, a cancelled download) and keep the error.
      ::unlinkat(dir, name.c_str(), 0);
      return false;
    }
    regular_files_.insert(relative);
    return true;
  }

  bool fail_too_large() {
    return fail_entry(extract_errc::too_large, "extraction exceeds the total size limit (" +
                                                   std::to_string(limits_.max_total_bytes) +
                                                   " bytes)");
  }

  bool copy_data(int fd, ::archive_entry* entry) {
    ::archive* a = reader_.get();
    std::uint64_t end = 0; // logical size so far; blocks of a sparse entry leave holes
    for (;;) {
      if (cancelled())
        return fail(extract_errc::cancelled, "cancelled");
      const void* block = nullptr;
      std::size_t size = 0;
      la_int64_t offset = 0;
      const int r = archive_read_data_block(a, &block, &size, &offset);
      if (r == ARCHIVE_EOF)
        break;
      // A data-level ARCHIVE_WARN is a bad CRC or similar: the bytes are not trustworthy.
      if (r != ARCHIVE_OK) {
        return fail_entry(extract_errc::corrupt_archive,
                          "cannot read the archive: " + archive_error(a));
      }
      if (offset < 0 || static_cast<std::uint64_t>(offset) >
                            static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()) - size) {
        return fail_entry(extract_errc::corrupt_archive, "invalid data offset");
      }
      const std::uint64_t block_end = static_cast<std::uint64_t>(offset) + size;
      if (!account(end, block_end))
        return false;
      if (const std::error_code ec =
              write_all(fd, static_cast<const char*>(block), size, static_cast<off_t>(offset))) {
        return fail_errno(ec.value(), "cannot write the file");
      }
      if (!check_ratio())
        return false;
    }
    // A sparse entry may end in a hole that no data block covers.
    if (archive_entry_sparse_count(entry) > 0 && archive_entry_size_is_set(entry)) {
      const la_int64_t size = archive_entry_size(entry);
      if (size > 0 && static_cast<std::uint64_t>(size) > end) {
        if (!account(end, static_cast<std::uint64_t>(size)))
          return false;
        if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
          return fail_errno(errno, "cannot extend the sparse file");
        }
      }
    }
    return true;
  }

  // Counts the growth of the current entry from `end` to `new_end` against the size limit.
  bool account(std::uint64_t& end, std::uint64_t new_end) {
    if (new_end <= end)
      return true;
    const std::uint64_t growth = new_end - end;
    if (growth > limits_.max_total_bytes - result_.bytes)
      return fail_too_large();
    result_.bytes += growth;
    end = new_end;
    return true;
  }

  // Bytes consumed from the archive file (after seeks, for zip and 7z) against bytes produced:
  // a zip bomb shows a ratio near 1000:1 from its first megabyte, long before it fills a disk.
  bool check_ratio() {
    if (limits_.max_ratio <= 0 || result_.bytes < limits_.ratio_grace_bytes)
      return true;
    const la_int64_t consumed = archive_filter_bytes(reader_.get(), -1);
    if (consumed <= 0)
      return true;
    if (static_cast<double>(result_.bytes) <= limits_.max_ratio * static_cast<double>(consumed)) {
      return true;
    }
    return fail_entry(extract_errc::ratio_exceeded,
                      "the archive exceeds the compression ratio limit (" +
                          std::to_string(result_.bytes / static_cast<std::uint64_t>(consumed)) +
                          ":1 after " + std::to_string(result_.bytes) + " bytes, limit " +
                          std::to_string(static_cast<std::uint64_t>(limits_.max_ratio)) + ":1)");
  }

  bool finish_file(util::unique_fd& out, ::archive_entry* entry) {
    // mode & 0777: setuid, setgid and sticky bits never reach the disk.
    if (::fchmod(out.get(), archive_entry_perm(entry) & 0777) != 0) {
      return fail_errno(errno, "cannot set the file's mode");
    }
    if (archive_entry_mtime_is_set(entry)) {
      const std::array<timespec, 2> times{
          timespec{0, UTIME_OMIT}, timespec{static_cast<time_t>(archive_entry_mtime(entry)),
                                            static_cast<long>(archive_entry_mtime_nsec(entry))}};
      // Best effort: a timestamp the file system rejects is not worth failing the download.
      (void)::futimens(out.get(), times.data());
    }
    if (const int err = out.close(); err != 0)
      return fail_errno(err, "cannot write the file");
    return true;
  }

  bool extract_symlink(const std::string& target) {
    if (target.empty())
      return fail_entry(extract_errc::unsafe_link, "symlink has no target");
    if (target.front() == '/') {
      return fail_entry(extract_errc::unsafe_link,
                        "symlink target " + quote_name(target) + " is an absolute path");
    }
    // Only leading ".." are allowed and they may climb at most to dest_dir. A ".." after a
    // name is refused even when it looks harmless lexically: that name may be (or later become)
    // another symlink, and chains like `sub/up -> ..` + `sub/out -> up/..` escape.
    std::size_t ups = 0;
    bool seen_name = false;
    std::string_view rest = target;
    while (!rest.empty()) {
      const std::size_t slash = rest.find('/');
      const std::string_view comp = rest.substr(0, slash);
      rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
      if (comp.empty() || comp == ".")
        continue;
      if (comp != "..") {
        seen_name = true;
      } else if (seen_name) {
        return fail_entry(extract_errc::unsafe_link,
                          "symlink target " + quote_name(target) +
                              " has \"..\" after a name (it could be redirected by a symlink)");
      } else {
        ups++;
      }
    }
    if (ups > comps_.size() - 1) {
      return fail_entry(extract_errc::unsafe_link, "symlink target " + quote_name(target) +
                                                       " points outside the working directory");
    }
    const int dir = directory_fd(comps_, comps_.size() - 1);
    if (dir < 0)
      return false;
    const std::string& name = comps_.back();
    const std::string relative = join(comps_, comps_.size());
    if (::symlinkat(target.c_str(), dir, name.c_str()) != 0) {
      if (errno != EEXIST)
        return fail_errno(errno, "cannot create the symlink");
      if (!make_room(dir, name, relative))
        return false;
      if (::symlinkat(target.c_str(), dir, name.c_str()) != 0) {
        return fail_errno(errno, "cannot create the symlink");
      }
    }
    regular_files_.erase(relative);
    return true;
  }

  bool extract_hardlink(const std::string& target) {
    std::vector<std::string> target_comps;
    switch (split_path(target, target_comps)) {
    case path_problem::none:
      break;
    case path_problem::empty:
      return fail_entry(extract_errc::unsafe_link, "hardlink has no target");
    case path_problem::absolute:
      return fail_entry(extract_errc::unsafe_link,
                        "hardlink target " + quote_name(target) + " is an absolute path");
    case path_problem::dot_dot:
      return fail_entry(extract_errc::unsafe_link, "hardlink target " + quote_name(target) +
                                                       " is outside the working directory");
    }
    const std::string target_relative = join(target_comps, target_comps.size());
    const std::string relative = join(comps_, comps_.size());
    // Linking to anything not written by this run could expose a file that was already in
    // dest_dir (or linked into it from elsewhere) under an archive-chosen name.
    if (target_comps.empty() || regular_files_.count(target_relative) == 0) {
      return fail_entry(extract_errc::unsafe_link,
                        "hardlink target " + quote_name(target) +
                            " is not a file extracted earlier from this archive");
    }
    if (target_relative == relative)
      return true; // a link to itself: already there
    // The target's directory is held open separately: directory_fd's cache has one slot.
    const util::unique_fd target_dir = open_directory_path(target_comps, target_comps.size() - 1);
    if (!target_dir)
      return false;
    const std::string& target_name = target_comps.back();
    struct stat st {};
    if (::fstatat(target_dir.get(), target_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode)) {
      return fail_entry(extract_errc::unsafe_link,
                        "hardlink target " + quote_name(target) + " is no longer a regular file");
    }
    const int dir = directory_fd(comps_, comps_.size() - 1);
    if (dir < 0)
      return false;
    const std::string& name = comps_.back();
    // linkat without AT_SYMLINK_FOLLOW links the name itself, never what it points to.
    if (::linkat(target_dir.get(), target_name.c_str(), dir, name.c_str(), 0) != 0) {
      if (errno != EEXIST)
        return fail_errno(errno, "cannot create the hardlink");
      if (!make_room(dir, name, relative))
        return false;
      if (::linkat(target_dir.get(), target_name.c_str(), dir, name.c_str(), 0) != 0) {
        return fail_errno(errno, "cannot create the hardlink");
      }
    }
    regular_files_.insert(relative);
    return true;
  }

  extract_limits limits_;
  const util::cancel_token cancel_;
  std::string archive_name_;
  util::unique_fd root_;
  util::unique_fd archive_fd_; // declared before reader_: must outlive it
  archive_reader reader_;
  std::string cached_dir_path_;
  util::unique_fd cached_dir_;
  std::unordered_set<std::string> regular_files_;
  std::string entry_name_;         // the current entry, as the archive spells it
  std::vector<std::string> comps_; // its path components
  extract_result result_;
};

// Zip-based document and package formats: their owners want the file, not its insides.
bool is_zip_based_document(std::string_view file_name) {
  static constexpr std::array<std::string_view, 26> extensions{
      ".jar",  ".war",  ".ear", ".apk", ".aab", ".aar",  ".whl",  ".egg", ".docx",
      ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".odg",  ".epub", ".ipa", ".nupkg",
      ".vsix", ".xpi",  ".crx", ".kmz", ".3mf", ".appx", ".msix", ".xapk"};
  const std::string lower = lowercase(base_name(file_name));
  return std::any_of(extensions.begin(), extensions.end(),
                     [&](std::string_view ext) { return ends_with(lower, ext); });
}

} // namespace

const std::error_category& extract_category() noexcept {
  static const category instance;
  return instance;
}

std::error_code make_error_code(extract_errc e) noexcept {
  return {static_cast<int>(e), extract_category()};
}

std::string_view to_string(archive_format format) noexcept {
  switch (format) {
  case archive_format::none:
    return "none";
  case archive_format::zip:
    return "zip";
  case archive_format::tar:
    return "tar";
  case archive_format::tar_gz:
    return "tar.gz";
  case archive_format::tar_bz2:
    return "tar.bz2";
  case archive_format::tar_xz:
    return "tar.xz";
  case archive_format::tar_zst:
    return "tar.zst";
  case archive_format::seven_zip:
    return "7z";
  }
  return "none";
}

archive_format format_from_name(std::string_view file_name) noexcept {
  static constexpr std::array<std::pair<std::string_view, archive_format>, 11> suffixes{{
      {".tar.gz", archive_format::tar_gz},
      {".tgz", archive_format::tar_gz},
      {".tar.bz2", archive_format::tar_bz2},
      {".tbz2", archive_format::tar_bz2},
      {".tar.xz", archive_format::tar_xz},
      {".txz", archive_format::tar_xz},
      {".tar.zst", archive_format::tar_zst},
      {".tzst", archive_format::tar_zst},
      {".tar", archive_format::tar},
      {".zip", archive_format::zip},
      {".7z", archive_format::seven_zip},
  }};
  const std::string_view name = base_name(file_name);
  for (const auto& [suffix, format] : suffixes) {
    if (name.size() < suffix.size())
      continue;
    const std::string_view tail = name.substr(name.size() - suffix.size());
    const bool same = std::equal(tail.begin(), tail.end(), suffix.begin(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == b;
    });
    if (same)
      return format;
  }
  return archive_format::none;
}

bool looks_like_archive(const std::string& path) {
  if (is_zip_based_document(path))
    return false;
  util::unique_fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)); // see open_archive
  if (!fd)
    return false;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return false;
  std::array<unsigned char, 8> head{};
  const ssize_t n = ::pread(fd.get(), head.data(), head.size(), 0);
  if (n >= 4 && head[0] == 'P' && head[1] == 'K' &&
      ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6))) {
    return true;
  }
  static constexpr std::array<unsigned char, 6> seven_zip{'7', 'z', 0xBC, 0xAF, 0x27, 0x1C};
  if (n >= 6 && std::equal(seven_zip.begin(), seven_zip.end(), head.begin()))
    return true;

  // tar, plain or compressed: let libarchive's tar reader judge the (decompressed) first
  // header, but only accept the ustar/pax/GNU variants that carry a magic string; a bare
  // checksum-valid 512-byte block (pre-POSIX tar) is too weak a signature.
  archive_reader reader(archive_read_new());
  if (!reader || !enable_supported_formats(reader.get(), true))
    return false;
  if (archive_read_open_fd(reader.get(), fd.get(), read_block_size) != ARCHIVE_OK)
    return false;
  ::archive_entry* entry = nullptr;
  if (archive_read_next_header(reader.get(), &entry) < ARCHIVE_WARN)
    return false;
  const int format = ::archive_format(reader.get());
  return (format & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_TAR && format != ARCHIVE_FORMAT_TAR;
}

extract_result extract_archive(const std::string& archive_path, const std::string& dest_dir,
                               const extract_limits& limits, util::cancel_token cancel) {
  return extract_archive(archive_path, format_from_name(archive_path), dest_dir, limits,
                         std::move(cancel));
}

extract_result extract_archive(const std::string& archive_path, archive_format expected,
                               const std::string& dest_dir, const extract_limits& limits,
                               util::cancel_token cancel) {
  const scoped_utf8_locale utf8;
  return archive_extractor(limits, std::move(cancel)).run(archive_path, expected, dest_dir);
}

} // namespace agentrt::runtime::archive

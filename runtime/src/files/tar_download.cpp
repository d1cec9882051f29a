// GET /files?path=DIR&format=tar: DIR's tree as a pax tar, written by libarchive straight into
// the chunked response a block at a time. Symlinks are stored as symlinks (never followed),
// devices, FIFOs and sockets are left out, and entries are opened with O_NOFOLLOW.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "files/handlers.hpp"

namespace agentrt::runtime::files {
namespace {

struct archive_deleter {
  void operator()(::archive* a) const noexcept { archive_write_free(a); }
};
struct entry_deleter {
  void operator()(::archive_entry* e) const noexcept { archive_entry_free(e); }
};
struct dir_closer {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};

la_ssize_t write_cb(::archive*, void* client, const void* buf, std::size_t n) {
  auto* sock = static_cast<http_socket*>(client);
  if (n == 0)
    return 0;
  if (!sock->write_chunk(std::string_view(static_cast<const char*>(buf), n)))
    return -1;
  return static_cast<la_ssize_t>(n);
}

class tar_walker {
public:
  tar_walker(::archive* a) : a_(a), buf_(256 * 1024) {}

  // False when the archive (the connection) failed: the response must be cut.
  bool add_tree(int dir_fd, const std::string& prefix, int depth) {
    const int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      return true;
    std::unique_ptr<DIR, dir_closer> d(::fdopendir(fd));
    if (!d) {
      ::close(fd);
      return true;
    }
    while (const dirent* ent = ::readdir(d.get())) {
      const std::string name = ent->d_name;
      if (name == "." || name == "..")
        continue;
      if (!add_entry(dirfd(d.get()), name, prefix.empty() ? name : prefix + "/" + name, depth))
        return false;
    }
    return true;
  }

private:
  bool add_entry(int dir, const std::string& name, const std::string& path, int depth) {
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return true; // gone meanwhile
    std::unique_ptr<::archive_entry, entry_deleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_perm(e.get(), st.st_mode & 07777);
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (S_ISDIR(st.st_mode)) {
      archive_entry_set_filetype(e.get(), AE_IFDIR);
      if (archive_write_header(a_, e.get()) < ARCHIVE_WARN)
        return false;
      if (depth >= 256)
        return true; // deeper than any sane tree: the directory is stored empty
      util::unique_fd sub(
          ::openat(dir, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      return !sub || add_tree(sub.get(), path, depth + 1);
    }
    if (S_ISLNK(st.st_mode)) {
      std::vector<char> target(4096);
      const ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), target.size() - 1);
      if (n < 0)
        return true;
      target[static_cast<std::size_t>(n)] = '\0';
      archive_entry_set_filetype(e.get(), AE_IFLNK);
      archive_entry_set_symlink(e.get(), target.data());
      return archive_write_header(a_, e.get()) >= ARCHIVE_WARN;
    }
    if (!S_ISREG(st.st_mode))
      return true; // devices, FIFOs, sockets: not content
    util::unique_fd fd(
        ::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    struct stat fst {};
    if (!fd || ::fstat(fd.get(), &fst) != 0 || !S_ISREG(fst.st_mode))
      return true; // unreadable or swapped for something else
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_size(e.get(), fst.st_size);
    if (archive_write_header(a_, e.get()) < ARCHIVE_WARN)
      return false;
    // The header promised st_size bytes: a file that shrinks meanwhile is padded with zeros, one
    // that grows is cut at st_size.
    std::uint64_t left = static_cast<std::uint64_t>(fst.st_size);
    while (left > 0) {
      ssize_t n = ::read(fd.get(), buf_.data(), std::min<std::uint64_t>(left, buf_.size()));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        n = static_cast<ssize_t>(std::min<std::uint64_t>(left, buf_.size()));
        std::fill_n(buf_.data(), n, 0);
      }
      if (archive_write_data(a_, buf_.data(), static_cast<std::size_t>(n)) < 0)
        return false;
      left -= static_cast<std::uint64_t>(n);
    }
    return true;
  }

  ::archive* a_;
  std::vector<char> buf_;
};

} // namespace

void handle_tar_download(request_context& ctx) {
  auto comps = path_param(ctx, "path");
  if (!comps)
    return;
  const std::string shown = display_path(*comps);
  auto opened = ctx.root.open_read(*comps, O_PATH | O_DIRECTORY);
  if (!opened.ok()) {
    const int e = opened.error().code.value();
    ctx.sock.send_error(
        e == ENOTDIR ? make_error(files_errc::not_a_directory,
                                  "not a directory: " + shown + " (omit format=tar to read a file)")
                     : from_errno(e, shown));
    return;
  }
  const util::unique_fd dir = std::move(opened).value();
  std::unique_ptr<::archive, archive_deleter> a(archive_write_new());
  if (!a || archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK) {
    ctx.sock.send_error(make_error(files_errc::io_error, "cannot start a tar stream"));
    return;
  }
  if (!ctx.sock.write_head(
          200, {{"Content-Type", "application/x-tar"}, {"Transfer-Encoding", "chunked"}})) {
    return;
  }
  if (ctx.req.method == "HEAD") {
    ctx.sock.end_chunks();
    return;
  }
  if (archive_write_open(a.get(), &ctx.sock, nullptr, write_cb, nullptr) != ARCHIVE_OK)
    return;
  tar_walker walker(a.get());
  if (!walker.add_tree(dir.get(), "", 0))
    return; // the connection is cut: no terminating chunk, so the client sees a failure
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return;
  ctx.sock.end_chunks();
}

} // namespace agentrt::runtime::files

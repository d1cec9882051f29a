// PUT /files?path=P[&mode=0644]: the request body streamed into a temporary file beside P
// (created O_EXCL | O_NOFOLLOW in the parent reached without following symlinks), then renamed
// over P: readers see the old file or the new one, never a part. Parents are created.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <random>

#include "agentrt/protocol/json_builder.hpp"
#include "files/body_spool.hpp"
#include "files/handlers.hpp"

namespace agentrt::runtime::files {
namespace {

std::string temp_name(const std::string& leaf) {
  static std::atomic<unsigned> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return "." + leaf.substr(0, 200) + ".agentrt-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter++) + "-" + std::to_string(rng() % 1000000007);
}

// Removes the temporary file unless released.
struct temp_guard {
  int dir;
  std::string name;
  bool armed = true;
  ~temp_guard() { discard(); }
  // Before an error answer: a client that reads it must find neither the temporary file nor
  // the space it took (an unlinked file still open keeps its blocks), so fd is closed first.
  void discard(util::unique_fd& fd) {
    fd.reset();
    discard();
  }
  void discard() {
    if (armed)
      ::unlinkat(dir, name.c_str(), 0);
    armed = false;
  }
};

} // namespace

void handle_write(request_context& ctx) {
  auto comps = path_param(ctx, "path");
  if (!comps)
    return;
  const std::string shown = display_path(*comps);
  bool mode_given = false;
  auto requested_mode = mode_param(ctx, 0644, mode_given);
  if (!requested_mode)
    return;
  if (const auto body = ctx.sock.begin_body(ctx.req); !body.ok()) {
    ctx.sock.send_error(body.error());
    return;
  }
  auto parent = ctx.root.parent_for_write(*comps, /*create_parents=*/true, shown);
  if (!parent.ok()) {
    ctx.sock.send_error(parent.error());
    return;
  }
  const int dir = parent->dir.get();
  struct stat old {};
  const bool existed = ::fstatat(dir, parent->leaf.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0;
  if (existed && S_ISDIR(old.st_mode)) {
    ctx.sock.send_error(
        make_error(files_errc::is_a_directory,
                   "is a directory: " + shown + " (add format=tar to upload a tar into it)"));
    return;
  }
  // Replacing a file keeps its permissions unless mode says otherwise.
  const unsigned mode =
      !mode_given && existed && S_ISREG(old.st_mode) ? (old.st_mode & 0777) : *requested_mode;
  if (const auto length = ctx.sock.body_length(); length && *length > 0) {
    struct statvfs vfs {};
    if (::fstatvfs(dir, &vfs) == 0 &&
        static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize < *length) {
      ctx.sock.send_error(
          make_error(files_errc::disk_full, "disk full: " + std::to_string(*length) +
                                                " bytes do not fit beside " + shown));
      return;
    }
  }
  temp_guard temp{dir, temp_name(parent->leaf)};
  util::unique_fd out(
      ::openat(dir, temp.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) {
    temp.armed = false;
    ctx.sock.send_error(from_errno(errno, shown));
    return;
  }
  if (!ctx.sock.send_continue(ctx.req))
    return;
  const spool_result r = spool_body(ctx.sock, out.get(), UINT64_MAX);
  if (r.what == spool_result::outcome::peer_gone)
    return; // the client went away or broke the framing: nothing to answer, temp removed
  if (r.what != spool_result::outcome::done) {
    temp.discard(out);
    ctx.sock.send_error(from_errno(r.err, shown));
    return;
  }
  const std::uint64_t total = r.bytes;
  if (::fchmod(out.get(), mode) != 0) {
    temp.discard(out);
    ctx.sock.send_error(from_errno(errno, shown));
    return;
  }
  if (const int e = out.close(); e != 0) {
    temp.discard(out);
    ctx.sock.send_error(from_errno(e, shown));
    return;
  }
  if (::renameat(dir, temp.name.c_str(), dir, parent->leaf.c_str()) != 0) {
    const int e = errno;
    temp.discard(out);
    ctx.sock.send_error(from_errno(e, shown));
    return;
  }
  temp.armed = false;
  ctx.sock.send_json(existed ? 200 : 201, protocol::json_builder()
                                              .add("path", shown)
                                              .add("size", total)
                                              .add("created", !existed)
                                              .str());
}

} // namespace agentrt::runtime::files

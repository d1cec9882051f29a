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
#include <optional>
#include <random>
#include <string>
#include <system_error>

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

// A body of known length that cannot fit is refused before a byte is written (the check is
// advisory: a body without Content-Length, or a race with another writer, still meets ENOSPC).
protocol::result<void> check_room(int dir, std::optional<std::uint64_t> length,
                                  const std::string& shown) {
  if (!length || *length == 0)
    return {};
  struct statvfs vfs {};
  if (::fstatvfs(dir, &vfs) == 0 &&
      static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize < *length) {
    return make_error(files_errc::disk_full, "disk full: " + std::to_string(*length) +
                                                 " bytes do not fit beside " + shown);
  }
  return {};
}

// Gives the written temporary file its mode and puts it in place of leaf. The errno of the step
// that failed, in std::generic_category().
std::error_code install(util::unique_fd& out, unsigned mode, int dir, const std::string& temp,
                        const std::string& leaf) {
  if (::fchmod(out.get(), mode) != 0)
    return {errno, std::generic_category()};
  // close() can report a deferred write error (ENOSPC on some file systems).
  if (const int e = out.close(); e != 0)
    return {e, std::generic_category()};
  if (::renameat(dir, temp.c_str(), dir, leaf.c_str()) != 0)
    return {errno, std::generic_category()};
  return {};
}

// Where the body goes: the parent directory, reached without following symlinks, and the
// leaf's name in it; whether the leaf existed, and the mode the new file gets.
struct write_target {
  int dir;
  const std::string& leaf;
  bool existed;
  unsigned mode;
};

// The body into a temporary file beside the target, renamed over it; the one answer sent.
void write_and_rename(request_context& ctx, const write_target& target, const std::string& shown) {
  temp_guard temp{target.dir, temp_name(target.leaf)};
  util::unique_fd out(::openat(target.dir, temp.name.c_str(),
                               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) {
    temp.armed = false;
    ctx.sock.send_error(from_errno(errno, shown));
    return;
  }
  if (!ctx.sock.send_continue(ctx.req))
    return;
  // No limit: the body ends or the write fails (too_large cannot happen).
  const auto spooled = spool_body(ctx.sock, out.get(), UINT64_MAX);
  if (!spooled.ok()) {
    const std::error_code& e = spooled.error().code;
    if (e == std::errc::connection_aborted)
      return; // the client went away or broke the framing: nothing to answer, temp removed
    temp.discard(out);
    ctx.sock.send_error(from_errno(e.value(), shown));
    return;
  }
  if (const std::error_code e = install(out, target.mode, target.dir, temp.name, target.leaf)) {
    temp.discard(out);
    ctx.sock.send_error(from_errno(e.value(), shown));
    return;
  }
  temp.armed = false;
  ctx.sock.send_json(target.existed ? 200 : 201, protocol::json_builder()
                                                     .add("path", shown)
                                                     .add("size", spooled.value())
                                                     .add("created", !target.existed)
                                                     .str());
}

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
  if (const auto room = check_room(dir, ctx.sock.body_length(), shown); !room.ok()) {
    ctx.sock.send_error(room.error());
    return;
  }
  write_and_rename(ctx, write_target{dir, parent->leaf, existed, mode}, shown);
}

} // namespace agentrt::runtime::files

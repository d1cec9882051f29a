// stat, list, mkdir, move and remove: the small operations, each one request and one JSON
// answer (list streamed in chunks, so that a large tree costs no memory).
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "agentrt/protocol/json_builder.hpp"
#include "files/entry_json.hpp"
#include "files/handlers.hpp"

namespace agentrt::runtime::files {
namespace {

struct dir_closer {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};
using dir_ptr = std::unique_ptr<DIR, dir_closer>;

// An open directory stream of fd's directory (fd itself is left open).
dir_ptr open_dir_stream(int dir_fd, const char* name) {
  const int fd = ::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return nullptr;
  DIR* d = ::fdopendir(fd);
  if (!d)
    ::close(fd);
  return dir_ptr(d);
}

bool is_dot(const char* n) {
  return n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0));
}

// Buffers list output and sends it as chunks of about 64 KiB.
class chunked_out {
public:
  explicit chunked_out(http_socket& sock) : sock_(sock) {}
  bool add(const std::string& s) {
    buf_ += s;
    if (buf_.size() < 64 * 1024)
      return true;
    const bool ok = sock_.write_chunk(buf_);
    buf_.clear();
    return ok;
  }
  bool finish() { return (buf_.empty() || sock_.write_chunk(buf_)) && sock_.end_chunks(); }

private:
  http_socket& sock_;
  std::string buf_;
};

bool list_into(chunked_out& out, int dir_fd, const std::string& prefix, int depth, bool& first) {
  dir_ptr d = open_dir_stream(dir_fd, ".");
  if (!d)
    return true; // unreadable subdirectory: listed itself, its entries not
  while (const dirent* ent = ::readdir(d.get())) {
    if (is_dot(ent->d_name))
      continue;
    struct stat st {};
    if (::fstatat(dirfd(d.get()), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
      continue; // removed meanwhile
    const std::string rel = prefix.empty() ? ent->d_name : prefix + "/" + ent->d_name;
    if (!out.add((first ? "" : ",") + entry_json(rel, st, dirfd(d.get()), ent->d_name)))
      return false;
    first = false;
    if (S_ISDIR(st.st_mode) && depth > 1) {
      util::unique_fd sub(
          ::openat(dirfd(d.get()), ent->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub && !list_into(out, sub.get(), rel, depth - 1, first))
        return false;
    }
  }
  return true;
}

// Removes name under dir and everything beneath it, never following a symlink.
int remove_tree(int dir, const char* name) {
  if (::unlinkat(dir, name, 0) == 0)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return errno;
  {
    util::unique_fd sub(::openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub)
      return errno;
    dir_ptr d = open_dir_stream(sub.get(), ".");
    if (!d)
      return errno;
    while (const dirent* ent = ::readdir(d.get())) {
      if (is_dot(ent->d_name))
        continue;
      if (const int e = remove_tree(dirfd(d.get()), ent->d_name); e != 0 && e != ENOENT)
        return e;
    }
  }
  return ::unlinkat(dir, name, AT_REMOVEDIR) == 0 ? 0 : errno;
}

} // namespace

void handle_stat(request_context& ctx) {
  auto comps = path_param(ctx, "path");
  if (!comps)
    return;
  const std::string shown = display_path(*comps);
  auto parent = ctx.root.parent_for_read(*comps, shown);
  if (!parent.ok()) {
    ctx.sock.send_error(parent.error());
    return;
  }
  struct stat st {};
  const char* name = parent->leaf.empty() ? "." : parent->leaf.c_str();
  if (::fstatat(parent->dir.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    ctx.sock.send_error(from_errno(errno, shown));
    return;
  }
  ctx.sock.send_json(200, entry_json(shown, st, parent->dir.get(), name));
}

void handle_list(request_context& ctx) {
  auto comps = path_param(ctx, "path");
  if (!comps)
    return;
  const std::string shown = display_path(*comps);
  int depth = 1;
  if (const auto d = ctx.req.param("depth")) {
    if (d->empty() || d->size() > 3 || d->find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(*d) < 1) {
      ctx.sock.send_error(bad_request("depth must be a positive integer"));
      return;
    }
    depth = std::min(std::stoi(*d), ctx.limits.list_max_depth);
  }
  auto opened = ctx.root.open_read(*comps, O_PATH | O_DIRECTORY);
  if (!opened.ok()) {
    const int e = opened.error().code.value();
    if (e == ENOTDIR) {
      ctx.sock.send_error(make_error(files_errc::not_a_directory, "not a directory: " + shown));
      return;
    }
    ctx.sock.send_error(from_errno(e, shown));
    return;
  }
  const util::unique_fd dir = std::move(opened).value();
  if (!ctx.sock.write_head(
          200, {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}})) {
    return;
  }
  // {"path":"/x"} reopened so that the entries array streams after it.
  std::string head = protocol::json_builder().add("path", shown).str();
  head.pop_back();
  chunked_out out(ctx.sock);
  if (!out.add(head + ",\"entries\":["))
    return;
  bool first_entry = true;
  if (!list_into(out, dir.get(), "", depth, first_entry))
    return; // cut short: the client sees no terminating chunk
  if (out.add("]}\n"))
    out.finish();
}

void handle_mkdir(request_context& ctx) {
  auto comps = path_param(ctx, "path");
  if (!comps)
    return;
  const std::string shown = display_path(*comps);
  bool given = false;
  auto mode = mode_param(ctx, 0755, given);
  if (!mode)
    return;
  auto parent = ctx.root.parent_for_write(*comps, /*create_parents=*/true, shown);
  if (!parent.ok()) {
    ctx.sock.send_error(parent.error());
    return;
  }
  bool created = true;
  if (::mkdirat(parent->dir.get(), parent->leaf.c_str(), *mode) != 0) {
    const int e = errno;
    struct stat st {};
    if (e == EEXIST &&
        ::fstatat(parent->dir.get(), parent->leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(st.st_mode)) {
      created = false;
    } else {
      ctx.sock.send_error(
          e == EEXIST ? make_error(files_errc::exists, "exists and is not a directory: " + shown)
                      : from_errno(e, shown));
      return;
    }
  }
  ctx.sock.send_json(created ? 201 : 200,
                     protocol::json_builder().add("path", shown).add("created", created).str());
}

void handle_move(request_context& ctx) {
  auto from = path_param(ctx, "from");
  if (!from)
    return;
  auto to = path_param(ctx, "to");
  if (!to)
    return;
  const std::string from_shown = display_path(*from);
  const std::string to_shown = display_path(*to);
  auto src = ctx.root.parent_for_write(*from, /*create_parents=*/false, from_shown);
  if (!src.ok()) {
    ctx.sock.send_error(src.error());
    return;
  }
  auto dst = ctx.root.parent_for_write(*to, /*create_parents=*/true, to_shown);
  if (!dst.ok()) {
    ctx.sock.send_error(dst.error());
    return;
  }
  const unsigned flags = ctx.req.flag("overwrite") ? 0 : RENAME_NOREPLACE;
  if (::syscall(SYS_renameat2, src->dir.get(), src->leaf.c_str(), dst->dir.get(), dst->leaf.c_str(),
                flags) != 0) {
    const int e = errno;
    ctx.sock.send_error(
        from_errno(e, e == EEXIST || e == ENOTEMPTY || e == EISDIR ? to_shown : from_shown));
    return;
  }
  ctx.sock.send_json(200,
                     protocol::json_builder().add("from", from_shown).add("to", to_shown).str());
}

void handle_remove(request_context& ctx) {
  auto comps = path_param(ctx, "path");
  if (!comps)
    return;
  const std::string shown = display_path(*comps);
  auto parent = ctx.root.parent_for_write(*comps, /*create_parents=*/false, shown);
  if (!parent.ok()) {
    ctx.sock.send_error(parent.error());
    return;
  }
  const int dir = parent->dir.get();
  const char* name = parent->leaf.c_str();
  struct stat st {};
  if (::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    ctx.sock.send_error(from_errno(errno, shown));
    return;
  }
  int e = 0;
  if (!S_ISDIR(st.st_mode))
    e = ::unlinkat(dir, name, 0) == 0 ? 0 : errno;
  else if (ctx.req.flag("recursive"))
    e = remove_tree(dir, name);
  else
    e = ::unlinkat(dir, name, AT_REMOVEDIR) == 0 ? 0 : errno;
  if (e != 0) {
    if (e == ENOTEMPTY || e == EEXIST) {
      ctx.sock.send_error(make_error(files_errc::not_empty,
                                     "directory not empty: " + shown +
                                         " (add recursive=1 to remove it with its contents)"));
      return;
    }
    ctx.sock.send_error(from_errno(e, shown));
    return;
  }
  ctx.sock.send_json(200, protocol::json_builder().add("path", shown).add("removed", true).str());
}

} // namespace agentrt::runtime::files

// GET/HEAD /files?path=P: streams a regular file with sendfile (no copy through user space, no
// buffer at all), honouring one Range.
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include <cerrno>

#include "files/byte_range.hpp"
#include "files/handlers.hpp"

namespace agentrt::runtime::files {

void handle_read(request_context& ctx) {
  auto comps = path_param(ctx, "path");
  if (!comps)
    return;
  const std::string shown = display_path(*comps);
  // O_NONBLOCK: a FIFO must not block the open; it is refused by the type check below.
  auto opened = ctx.root.open_read(*comps, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!opened.ok()) {
    ctx.sock.send_error(from_errno(opened.error().code.value(), shown));
    return;
  }
  util::unique_fd fd = std::move(opened).value();
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    ctx.sock.send_error(from_errno(errno, shown));
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    ctx.sock.send_error(make_error(files_errc::is_a_directory,
                                   "is a directory: " + shown +
                                       " (add format=tar to download it as a tar stream)"));
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    ctx.sock.send_error(path_refused(shown, "is not a regular file"));
    return;
  }
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  const byte_range range = parse_byte_range(ctx.req.header("range"), size);
  if (range.k == byte_range::kind::unsatisfiable) {
    ctx.sock.send_json(416,
                       error_json(make_error(files_errc::range_not_satisfiable,
                                             "the range is past the end of " + shown + " (" +
                                                 std::to_string(size) + " bytes)")),
                       {{"Content-Range", "bytes */" + std::to_string(size)}});
    return;
  }
  std::vector<std::pair<std::string, std::string>> headers{
      {"Content-Type", "application/octet-stream"},
      {"Accept-Ranges", "bytes"},
      {"Content-Length", std::to_string(range.length)},
      // Size and modification time: enough for a resuming client to notice the file changed.
      {"ETag", "\"" + std::to_string(size) + "-" + std::to_string(st.st_mtim.tv_sec) + "." +
                   std::to_string(st.st_mtim.tv_nsec) + "\""}};
  if (range.k == byte_range::kind::partial) {
    headers.emplace_back("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                              std::to_string(range.first + range.length - 1) + "/" +
                                              std::to_string(size));
  }
  if (!ctx.sock.write_head(range.k == byte_range::kind::partial ? 206 : 200, headers))
    return;
  if (ctx.req.method == "HEAD")
    return;
  const int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  off_t offset = static_cast<off_t>(range.first);
  std::uint64_t left = range.length;
  while (left > 0) {
    const std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>(left, 1u << 20));
    const ssize_t n = ::sendfile(ctx.sock.fd(), fd.get(), &offset, step);
    if (n < 0 && errno == EINTR)
      continue;
    // The file shrank (0) or the peer went away: the connection is cut short, which the
    // client sees as fewer bytes than Content-Length.
    if (n <= 0)
      return;
    left -= static_cast<std::uint64_t>(n);
  }
}

} // namespace agentrt::runtime::files

// PUT /files?path=DIR&format=tar: the body is spooled to an unlinked temporary file (the
// extractor needs to read it twice: to sniff and to extract) and extracted under DIR by
// archive::extract_archive, the very extractor downloadables use, with the same limits. DIR is
// reached without following symlinks and handed to the extractor as /proc/self/fd/N, so that a
// symlink swapped in meanwhile cannot redirect the extraction.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "agentrt/protocol/json_builder.hpp"
#include "archive/archive_extractor.hpp"
#include "files/body_spool.hpp"
#include "files/handlers.hpp"

namespace agentrt::runtime::files {
namespace {

files_error extraction_error(const archive::extract_result& r, const std::string& shown) {
  using archive::extract_errc;
  const std::string what = "archive refused for " + shown + ": " + r.error;
  if (r.ec.category() != archive::extract_category())
    return from_errno(r.ec.value(), shown);
  switch (static_cast<extract_errc>(r.ec.value())) {
  case extract_errc::unsafe_path:
  case extract_errc::unsafe_link:
    return make_error(files_errc::path_refused, what);
  case extract_errc::too_many_entries:
  case extract_errc::too_large:
  case extract_errc::ratio_exceeded:
    return make_error(files_errc::too_large, what);
  case extract_errc::not_an_archive:
  case extract_errc::corrupt_archive:
    return make_error(files_errc::bad_archive, what);
  default:
    return make_error(files_errc::archive_refused, what);
  }
}

util::unique_fd spool_file() {
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = tmp && *tmp ? tmp : "/tmp";
  util::unique_fd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd)
    return fd;
  std::string name = dir + "/agentrt-upload-XXXXXX";
  fd.reset(::mkostemp(name.data(), O_CLOEXEC));
  if (fd)
    ::unlink(name.c_str());
  return fd;
}

} // namespace

void handle_tar_upload(request_context& ctx) {
  auto comps = path_param(ctx, "path");
  if (!comps)
    return;
  const std::string shown = display_path(*comps);
  if (const auto body = ctx.sock.begin_body(ctx.req); !body.ok()) {
    ctx.sock.send_error(body.error());
    return;
  }
  if (const auto length = ctx.sock.body_length(); length && *length > ctx.limits.max_upload_bytes) {
    ctx.sock.send_error(
        make_error(files_errc::too_large, "the archive (" + std::to_string(*length) +
                                              " bytes) exceeds --extract-max-bytes"));
    return;
  }
  auto dest_dir = ctx.root.directory_for_write(*comps);
  if (!dest_dir.ok()) {
    ctx.sock.send_error(dest_dir.error());
    return;
  }
  const util::unique_fd dest = std::move(dest_dir).value();
  util::unique_fd spool = spool_file();
  if (!spool) {
    ctx.sock.send_error(from_errno(errno, "the upload's temporary file"));
    return;
  }
  if (!ctx.sock.send_continue(ctx.req))
    return;
  if (const auto spooled = spool_body(ctx.sock, spool.get(), ctx.limits.max_upload_bytes);
      !spooled.ok()) {
    const std::error_code& e = spooled.error().code;
    if (e == std::errc::connection_aborted)
      return;
    if (e == files_errc::too_large) {
      ctx.sock.send_error(
          make_error(files_errc::too_large, "the archive exceeds --extract-max-bytes"));
    } else {
      ctx.sock.send_error(from_errno(e.value(), "the upload's temporary file"));
    }
    return;
  }
  archive::extract_limits limits;
  limits.max_total_bytes = ctx.limits.extract_max_bytes;
  limits.max_entries = ctx.limits.extract_max_entries;
  limits.max_ratio = ctx.limits.extract_max_ratio;
  const std::string spool_path = "/proc/self/fd/" + std::to_string(spool.get());
  const std::string dest_path = "/proc/self/fd/" + std::to_string(dest.get());
  const archive::extract_result r =
      archive::extract_archive(spool_path, archive::archive_format::none, dest_path, limits);
  if (!r.ok()) {
    ctx.sock.send_error(extraction_error(r, shown));
    return;
  }
  ctx.sock.send_json(200, protocol::json_builder()
                              .add("path", shown)
                              .add("entries", r.entries)
                              .add("bytes", r.bytes)
                              .add("format", std::string(archive::to_string(r.format)))
                              .str());
}

} // namespace agentrt::runtime::files

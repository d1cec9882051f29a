// The operations of the files API, one per file (file_read.cpp, file_write.cpp, tar_download.cpp,
// tar_upload.cpp, file_ops.cpp). Each runs on the connection's worker thread, sends exactly one
// response on the socket (or cuts the connection when a streamed body fails half-way), and
// returns. docs/protocol.md, "Files API", documents the requests and answers.
#pragma once

#include <cstdint>

#include "files/files_root.hpp"
#include "files/http_request.hpp"
#include "files/http_socket.hpp"

namespace agentrt::runtime::files {

struct files_limits {
  // Tar uploads: the extractor's limits (--extract-max-*), and the upload itself at most
  // max_upload_bytes.
  std::uint64_t extract_max_bytes = 8ULL << 30;
  std::uint64_t extract_max_entries = 200000;
  double extract_max_ratio = 200.0;
  std::uint64_t max_upload_bytes = 8ULL << 30;
  int list_max_depth = 64;
};

struct request_context {
  http_socket& sock;
  const http_request& req;
  const files_root& root;
  const files_limits& limits;
};

// GET/HEAD /files?path=P: the file's bytes, with Range.
void handle_read(request_context& ctx);
// PUT /files?path=P[&mode=0644]: the body becomes the file (temporary file + rename).
void handle_write(request_context& ctx);
// GET /files?path=DIR&format=tar: the directory as a tar stream.
void handle_tar_download(request_context& ctx);
// PUT /files?path=DIR&format=tar: the body (a tar, optionally compressed, or zip/7z) extracted
// under DIR by the archive extractor.
void handle_tar_upload(request_context& ctx);
// GET /files/stat?path=P
void handle_stat(request_context& ctx);
// GET /files/list?path=DIR[&depth=N]
void handle_list(request_context& ctx);
// POST /files/mkdir?path=P[&mode=0755]
void handle_mkdir(request_context& ctx);
// POST /files/move?from=A&to=B[&overwrite=1]
void handle_move(request_context& ctx);
// DELETE /files?path=P[&recursive=1]
void handle_remove(request_context& ctx);

// The path parameter split by ctx.root; nullopt after sending the error response.
std::optional<std::vector<std::string>> path_param(request_context& ctx, const char* name);
// A mode parameter ("0644", octal, permission bits only); nullopt after sending a 400.
std::optional<unsigned> mode_param(request_context& ctx, unsigned fallback, bool& given);

} // namespace agentrt::runtime::files

// Uploads an artifact: an HTTP PUT of a file's bytes to a presigned URL, streamed from disk
// through curl's fixed upload buffer with an exact Content-Length, on the transfer engine. The
// file is opened for every attempt beneath the directory it was announced under, with no
// symlink followed, without blocking, and only if it is a regular file (util::safe_open): a
// command may swap it for a symlink to /etc/shadow or a FIFO between the announcement and the
// client's answer. The result is delivered on the io_context thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <system_error>

#include <asio/io_context.hpp>

#include "transfer/transfer_engine.hpp"
#include "transfer/transfer_failure.hpp"
#include "transfer/transfer_options.hpp"
#include "util/cancel_token.hpp"

namespace agentrt::runtime::transfer {

// What an upload reads: relative_path beneath base_dir.
struct upload_source {
  std::string base_dir;      // absolute; opened as spelled (see base_may_be_symlink)
  std::string relative_path; // no symlink, no "..", must end at a regular file
  // False: base_dir's own last component must not be a symlink either (it was not one when the
  // directory was registered, so one found there now was swapped in).
  bool base_may_be_symlink = true;

  // base_dir/relative_path, for messages.
  std::string path() const;
  // A file given by its full path: the directory as spelled, the file itself never followed.
  static upload_source file(const std::string& path);
};

struct upload_result {
  transfer_failure failure = transfer_failure::none;
  // Transport, from the last attempt: curl's code (a CURLcode) and its detailed message.
  int curl_code = 0;
  std::string curl_error;
  // The remote's answer on the last attempt; 0 when none arrived.
  long http_status = 0;
  // The start of the last response's body (an object store's error document), at most 1 KiB.
  std::string response_excerpt;
  // Local failure (open, stat, read), with error naming the path.
  std::error_code io_error;
  std::uint64_t bytes = 0; // the file's size as sent
  int attempts = 0;
  // Human-readable, names the file and the URL with its userinfo hidden (callers redact other
  // secrets); empty on success. A refused file says why: "… refused: DIR/x is a symbolic link".
  std::string error;

  bool ok() const noexcept { return failure == transfer_failure::none; }
};

class uploader {
public:
  using done_handler = std::function<void(upload_result)>;

  uploader(asio::io_context& io, transfer_engine& engine) : io_(io), engine_(engine) {}

  // PUTs source to presigned_url (http or https) with "Content-Type: content_type" (omitted
  // when empty); on_done runs on io's thread exactly once (never from inside this call),
  // unless the engine is destroyed first.
  void upload(upload_source source, std::string presigned_url, std::string content_type,
              transfer_options options, util::cancel_token cancel, done_handler on_done);

private:
  asio::io_context& io_;
  transfer_engine& engine_;
};

} // namespace agentrt::runtime::transfer

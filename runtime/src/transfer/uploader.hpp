// Uploads an artifact: an HTTP PUT of a file's bytes to a presigned URL, streamed from disk
// through curl's fixed upload buffer with an exact Content-Length. Runs on the transfer pool;
// the result is delivered on the io_context thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <system_error>

#include <asio/io_context.hpp>

#include "transfer/cancel_token.hpp"
#include "transfer/thread_pool.hpp"
#include "transfer/transfer_failure.hpp"
#include "transfer/transfer_options.hpp"

namespace agentrt::runtime::transfer {

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
  // Human-readable, names the file and the URL verbatim (callers redact secrets); empty on
  // success.
  std::string error;

  bool ok() const noexcept { return failure == transfer_failure::none; }
};

class uploader {
public:
  using done_handler = std::function<void(upload_result)>;

  uploader(asio::io_context& io, thread_pool& pool) : io_(io), pool_(pool) {}

  // PUTs file_path to presigned_url (http or https) with "Content-Type: content_type" (omitted
  // when empty) on the pool; on_done runs on io's thread exactly once, unless the pool is
  // destroyed before the job starts.
  void upload(std::string file_path, std::string presigned_url, std::string content_type,
              transfer_options options, cancel_token cancel, done_handler on_done);

  // The same on the calling thread (a pool job, or a test).
  static upload_result upload_blocking(const std::string& file_path,
                                       const std::string& presigned_url,
                                       const std::string& content_type,
                                       const transfer_options& options, const cancel_token& cancel);

private:
  asio::io_context& io_;
  thread_pool& pool_;
};

} // namespace agentrt::runtime::transfer

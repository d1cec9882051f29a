// Fetches a Downloadable: the URL's last path segment (percent-decoded, refused unless a plain
// file name) is streamed into working_dir through a hidden ".<name>.part" file that is renamed
// into place only when the transfer succeeded (part_file). http and https run on the transfer
// engine, attempt after attempt with backoff; file:// is read by the runtime itself on the
// local pool, opened without blocking and only if it is a regular file (curl would open a FIFO
// named by the URL and wait for a writer forever). The result is delivered on the io_context
// thread. URLs in messages have their userinfo hidden.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <system_error>

#include <asio/io_context.hpp>

#include "agentrt/protocol/result.hpp"
#include "transfer/thread_pool.hpp"
#include "transfer/transfer_engine.hpp"
#include "transfer/transfer_failure.hpp"
#include "transfer/transfer_options.hpp"
#include "util/cancel_token.hpp"

namespace agentrt::runtime::transfer {

struct download_result {
  transfer_failure failure = transfer_failure::none;
  // Transport, from the last attempt: curl's code (a CURLcode) and its detailed message.
  int curl_code = 0;
  std::string curl_error;
  // The remote's answer on the last attempt; 0 when none arrived or for file:// URLs.
  long http_status = 0;
  // Local failure (mkdir, open, write, rename), with error naming the path.
  std::error_code io_error;
  std::string path; // the final file on success
  std::uint64_t bytes = 0;
  int attempts = 0;
  // Human-readable, names the URL with its userinfo hidden (callers redact other secrets);
  // empty on success.
  std::string error;

  bool ok() const noexcept { return failure == transfer_failure::none; }
};

class downloader {
public:
  using done_handler = std::function<void(download_result)>;

  // local_pool reads file:// URLs; engine runs everything else.
  downloader(asio::io_context& io, transfer_engine& engine, thread_pool& local_pool)
      : io_(io), engine_(engine), local_pool_(local_pool) {}

  // Fetches url (http, https or file) into working_dir; on_done runs on io's thread exactly
  // once (never from inside this call), unless the engine or pool is destroyed first.
  void download(std::string url, std::string working_dir, transfer_options options,
                util::cancel_token cancel, done_handler on_done);

  // The file name a URL downloads to: last path segment, query and fragment stripped,
  // percent-decoded; empty, ".", "..", or containing '/' or NUL after decoding is refused
  // (protocol::errc::invalid_value, the reason as the text).
  static protocol::result<std::string> file_name_for(const std::string& url);

private:
  asio::io_context& io_;
  transfer_engine& engine_;
  thread_pool& local_pool_;
};

} // namespace agentrt::runtime::transfer

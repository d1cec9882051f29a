// Fetches a request's Downloadables in order (pre_agent_downloadables /
// pre_execution_downloadables): each is downloaded into its working_dir and, when it is an
// archive (by name, or by content for names that say nothing) and `extract` is not false,
// extracted there safely and the archive file removed. Transfers run on the transfer engine,
// extraction (and file:// copies) on the local pool; results come back on the io_context. URLs
// in texts, metadata and log lines have their userinfo hidden.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "agentrt/protocol/messages.hpp"
#include "archive/archive_extractor.hpp"
#include "transfer/downloader.hpp"
#include "transfer/thread_pool.hpp"
#include "transfer/transfer_engine.hpp"
#include "transfer/transfer_options.hpp"
#include "util/cancel_token.hpp"

namespace agentrt::runtime::execution {

struct downloadables_failure {
  std::string error;         // for error_message.error (the session redacts it)
  std::string metadata_json; // what failed: url, file, entry, status, curl/libarchive text
};

class downloadables_runner : public std::enable_shared_from_this<downloadables_runner> {
public:
  // Called once on the io_context: nullopt when everything was fetched.
  using done_handler = std::function<void(std::optional<downloadables_failure>)>;
  // Progress lines for the request's log ("downloaded URL (N bytes)", "extracted ...").
  using log_handler = std::function<void(const std::string&)>;

  static std::shared_ptr<downloadables_runner>
  start(asio::io_context& io, transfer::transfer_engine& engine, transfer::thread_pool& pool,
        std::vector<protocol::downloadable> downloadables, transfer::transfer_options options,
        archive::extract_limits limits, log_handler on_log, done_handler on_done);

  // Stops the transfer or extraction in progress promptly; the partial file is removed and
  // on_done is not called.
  void cancel();

private:
  downloadables_runner(asio::io_context& io, transfer::transfer_engine& engine,
                       transfer::thread_pool& pool);
  void next();
  void on_downloaded(transfer::download_result r);
  // nullopt: the file was not an archive and is kept as downloaded.
  void on_extracted(std::optional<archive::extract_result> r);
  void fail(downloadables_failure f);

  asio::io_context& io_;
  transfer::thread_pool& pool_;
  transfer::downloader downloader_;
  std::vector<protocol::downloadable> items_;
  std::size_t next_ = 0;
  transfer::transfer_options options_;
  archive::extract_limits limits_;
  // The downloads' and the extraction's: a pool job holds a copy, so it never outlives it.
  util::cancel_token cancel_;
  log_handler on_log_;
  done_handler on_done_;
  std::string current_file_;
};

} // namespace agentrt::runtime::execution

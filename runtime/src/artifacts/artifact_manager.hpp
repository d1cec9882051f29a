// A session's artifacts: watches the directories requests register, announces finished files
// with artifact_upload_request_message, uploads a file only when the client answers for a file
// this session announced, and drains at the end of the session. Upload failures are logged
// (and reported with artifact_upload_result_message to clients that asked), never turned into
// an error_message: the published client takes any error_message as the request's terminal.
// A file is uploaded only as what it is now beneath the directory it was announced under: a
// symlink, a directory swapped for a symlink or a FIFO found there instead is refused.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "agentrt/protocol/messages.hpp"
#include "agentrt/protocol/result.hpp"
#include "artifacts/artifact_watcher.hpp"
#include "log/logger.hpp"
#include "transfer/transfer_engine.hpp"
#include "transfer/transfer_options.hpp"
#include "transfer/uploader.hpp"
#include "util/cancel_token.hpp"

namespace agentrt::runtime::artifacts {

class artifact_manager : public std::enable_shared_from_this<artifact_manager> {
public:
  using send_handler = std::function<void(protocol::message)>;
  using log_handler = std::function<void(log::level level, const std::string& text)>;

  artifact_manager(asio::io_context& io, transfer::transfer_engine& engine,
                   transfer::transfer_options upload_options, send_handler send, log_handler log);
  ~artifact_manager();

  // Watches dirs (created if missing) for the rest of the session. On failure names the dir.
  // announce_existing: the files already in a directory registered for the first time are
  // announced too (runtimeuse's initial scan).
  protocol::result<void> add_directories(const std::vector<std::string>& dirs,
                                         const std::optional<std::string>& ignore_content,
                                         bool announce_existing);
  void set_upload_results(bool on) { upload_results_ = on; }
  void set_log_handler(log_handler log) { log_ = std::move(log); }

  void on_upload_response(const protocol::artifact_upload_response_message& m);
  // artifact_upload_declined_message: no answer will come; the drain stops waiting for it.
  void on_upload_declined(const protocol::artifact_upload_declined_message& m);

  // End of session: waits up to settle for late file events, then up to timeout for the
  // client's answers to outstanding announcements and for uploads in progress; then done.
  void drain(std::chrono::milliseconds settle, std::chrono::milliseconds timeout,
             std::function<void()> done);
  // The socket is gone: nothing more can be announced or answered, the watcher is stopped
  // (its inotify descriptor closed), a pending drain is dropped; uploads already under way may
  // finish within timeout, then are cancelled. on_idle runs on io once no upload is left
  // (posted, also when none was running). The owner keeps the manager alive until then;
  // destroying it earlier cancels the uploads.
  void detach(std::chrono::milliseconds timeout, std::function<void()> on_idle);
  // Runtime shutdown: cancels every upload now instead of letting it run out its timeout.
  void cancel_uploads();
  bool idle() const noexcept { return uploads_in_flight_ == 0; }

private:
  void on_file(std::string path);
  // The registered directory path was announced under and the rest of it; nullopt when none
  // holds it (not expected: the watcher reports paths under their registered spelling).
  std::optional<transfer::upload_source> source_for(const std::string& path) const;
  // Logs why and tells a client that asked for upload results.
  void refuse(const std::string& path, const std::string& why, std::string result_error);
  void on_uploaded(const std::string& path, transfer::upload_result r);
  void on_drain_timeout(const std::error_code& ec);
  void on_detach_timeout(const std::error_code& ec);
  void check_drained();
  // One answer (or decline) for an announced file; false (and refused) when none is owed.
  bool take_announcement(const std::string& path);
  void finish_drain();

  asio::io_context& io_;
  transfer::uploader uploader_;
  transfer::transfer_options upload_options_;
  send_handler send_;
  log_handler log_;
  std::unique_ptr<artifacts::artifact_watcher> watcher_;
  // Registered directories (absolute, normalised as the watcher spells them) and whether each
  // was a symlink when registered: one that turns into a symlink later is not followed.
  std::map<std::string, bool> roots_;
  // Announcements not yet answered, per absolute path: only these may be uploaded, so a client
  // cannot make the runtime upload an arbitrary file such as /etc/shadow.
  std::map<std::string, int> announced_;
  std::size_t awaiting_ = 0;
  std::size_t uploads_in_flight_ = 0;
  util::cancel_token cancel_;
  bool upload_results_ = false;
  bool detached_ = false;
  std::function<void()> drain_done_;
  std::function<void()> on_idle_; // set while detached uploads finish
  asio::steady_timer drain_timer_;
};

} // namespace agentrt::runtime::artifacts

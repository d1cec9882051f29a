// Every curl transfer of the runtime — downloads, artifact uploads, the openai loop's model
// requests — runs on one thread that drives a single curl multi handle. A transfer waiting on
// a slow or silent peer costs a socket and a few KiB, never a thread, so one slow peer delays
// nobody else (a fixed pool of blocking workers let four dripping downloads starve every other
// session's transfers).
//
// A thread of its own rather than the io_context: curl's callbacks write downloads to and read
// uploads from disk, and on the io_context that disk time (and any stall of it) would hold up
// every session's WebSocket traffic. It also keeps curl's sockets away from asio, which must
// never close them.
//
// A transfer is a sequence of attempts; the caller (downloader, uploader, openai loop) decides
// on the io_context whether to retry and starts the next attempt with its backoff as a delay,
// which the engine waits out without a thread of its own either.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <asio/io_context.hpp>
#include <curl/curl.h>

#include "transfer/curl_handle.hpp"
#include "transfer/retry_policy.hpp"
#include "transfer/transfer_options.hpp"
#include "util/cancel_token.hpp"

namespace agentrt::runtime::transfer {

// The transfer-specific part of one attempt: URL, callbacks, headers and the local files they
// read or write. Its callbacks and both hooks run on the engine thread; once on_done has it
// back, it belongs to the io_context thread again.
class curl_attempt {
public:
  virtual ~curl_attempt() = default;
  // Before the attempt starts: opens what it needs locally and sets its own options on easy.
  // The engine has set the shared ones already (timeouts, redirects, http and https only,
  // progress, connection not kept). False ends the attempt without any network I/O; the
  // attempt keeps the reason, and on_done gets a default attempt_result.
  virtual bool prepare(CURL* easy) = 0;
  // After a prepared attempt ended, however it ended (also cancelled, or abandoned because the
  // engine is going away): local finishing work such as closing, renaming or removing files.
  // easy is still valid here for curl_easy_getinfo.
  virtual void finish(CURL* easy, const attempt_result& result) {
    (void)easy;
    (void)result;
  }
};

class transfer_engine {
public:
  using done_handler =
      std::function<void(std::unique_ptr<curl_attempt> attempt, attempt_result result)>;

  // Starts the engine thread; throws std::system_error when it cannot (startup only). When
  // libcurl cannot be initialised, every attempt fails with CURLE_FAILED_INIT instead.
  transfer_engine();
  // Stops the thread. Attempts still waiting or running are abandoned: prepared ones are
  // finished as cancelled (so a download's .part file is removed), and their handlers are
  // destroyed, on the destroying thread, without being called.
  ~transfer_engine();
  transfer_engine(const transfer_engine&) = delete;
  transfer_engine& operator=(const transfer_engine&) = delete;

  // Runs attempt after delay (a retry's backoff; zero for none) within options' limits. on_done
  // runs on io's thread exactly once, with the attempt back and how it ended, unless the engine
  // is destroyed first. A cancel before or during the attempt ends it within about 100 ms with
  // result.cancelled. io is kept from running out of work until then and must outlive the
  // attempt.
  void start(asio::io_context& io, std::unique_ptr<curl_attempt> attempt,
             const transfer_options& options, util::cancel_token cancel,
             std::chrono::milliseconds delay, done_handler on_done);

  // start() with the attempt handed back as its own type.
  template <typename Attempt, typename Handler>
  void run(asio::io_context& io, std::unique_ptr<Attempt> attempt, const transfer_options& options,
           util::cancel_token cancel, std::chrono::milliseconds delay, Handler on_done) {
    start(
        io, std::move(attempt), options, std::move(cancel), delay,
        [on_done = std::move(on_done)](std::unique_ptr<curl_attempt> a, attempt_result r) mutable {
          on_done(std::unique_ptr<Attempt>(static_cast<Attempt*>(a.release())), std::move(r));
        });
  }

  // Attempts started and not yet handed back (waiting for their delay, or running).
  std::size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }

private:
  struct entry;
  using entry_ptr = std::unique_ptr<entry>;

  void run_loop();
  void start_due();
  // nullopt once e runs; else how it ended before it could start.
  std::optional<attempt_result> begin(entry& e);
  void collect_finished();
  void check_limits();
  int poll_timeout_ms() const;
  void end_active(entry* e, CURLcode code, bool too_slow);
  void deliver(entry_ptr e, attempt_result r);
  void abandon_all();
  static int on_progress(void* self, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow);

  multi_handle multi_;
  std::atomic<std::size_t> in_flight_{0};

  std::mutex mutex_;
  std::vector<entry_ptr> incoming_; // guarded by mutex_
  bool stopping_ = false;           // guarded by mutex_

  // Engine thread only (and the destructor, after the join).
  std::vector<entry_ptr> waiting_; // for their delay
  std::vector<entry_ptr> active_;  // added to the multi handle
  std::thread thread_;
};

} // namespace agentrt::runtime::transfer

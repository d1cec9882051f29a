// The engine thread: one curl multi handle, attempts waiting for their delay, and the checks
// curl does not do for us (cancel, our low-speed rule).
#include "transfer/transfer_engine.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <string>

#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>

#include "transfer/curl_global.hpp"

namespace agentrt::runtime::transfer {

namespace {

using clock = std::chrono::steady_clock;

// How often cancels and the low-speed rule are checked while anything is waiting or running,
// which bounds cancel latency even when every peer is silent.
constexpr int check_interval_ms = 100;
// Nothing to do: new work wakes the thread anyway.
constexpr int idle_wait_ms = 60000;

// Our low-speed rule rather than CURLOPT_LOW_SPEED_*: curl averages speed over a window of up to
// 6 s, so a burst followed by a stall is only noticed ~5 s after the configured time, which
// makes short limits meaningless.
class speed_meter {
public:
  void reset(clock::time_point now) {
    moved_ = 0;
    request_bytes_ = 0;
    samples_.assign(1, {now, 0});
  }

  // now_bytes: curl's counters for the current request (both directions).
  void on_progress(std::uint64_t now_bytes) {
    // A smaller count means curl started the next request of a redirect chain.
    if (now_bytes < request_bytes_)
      request_bytes_ = 0;
    moved_ += now_bytes - request_bytes_;
    request_bytes_ = now_bytes;
  }

  bool too_slow(clock::time_point now, const transfer_options& o) {
    if (o.low_speed_limit <= 0 || o.low_speed_time.count() <= 0)
      return false;
    // Sampling at most every check interval bounds the history for fast transfers.
    if (now - samples_.back().at >= std::chrono::milliseconds(check_interval_ms))
      samples_.push_back({now, moved_});
    const auto window_start = now - o.low_speed_time;
    while (samples_.size() >= 2 && samples_[1].at <= window_start)
      samples_.pop_front();
    if (samples_.front().at > window_start)
      return false; // less than a full window so far
    const double needed = static_cast<double>(o.low_speed_limit) *
                          std::chrono::duration<double>(o.low_speed_time).count();
    return static_cast<double>(moved_ - samples_.front().moved) < needed;
  }

private:
  struct sample {
    clock::time_point at;
    std::uint64_t moved;
  };
  // Bytes moved in this attempt across redirects (curl's counters restart per request).
  std::uint64_t moved_ = 0;
  std::uint64_t request_bytes_ = 0;
  // Samples since the latest one at least low_speed_time old.
  std::deque<sample> samples_;
};

attempt_result failed_init(std::string why) {
  attempt_result r;
  r.curl_code = CURLE_FAILED_INIT;
  r.curl_error = std::move(why);
  return r;
}

attempt_result cancelled_result() {
  attempt_result r;
  r.cancelled = true;
  r.curl_code = CURLE_ABORTED_BY_CALLBACK;
  r.curl_error = "cancelled";
  return r;
}

} // namespace

struct transfer_engine::entry {
  entry(asio::io_context& io, std::unique_ptr<curl_attempt> a, const transfer_options& o,
        util::cancel_token c, clock::time_point start_at, done_handler done)
      : attempt(std::move(a)), options(o), cancel(std::move(c)), not_before(start_at),
        on_done(std::move(done)), work(io.get_executor()) {}

  std::unique_ptr<curl_attempt> attempt;
  const transfer_options options;
  const util::cancel_token cancel;
  const clock::time_point not_before;
  done_handler on_done;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  easy_handle easy;
  bool prepared = false;
  char error_buffer[CURL_ERROR_SIZE] = {};
  speed_meter meter;
};

transfer_engine::transfer_engine() {
  if (curl_global::ensure())
    multi_.reset(curl_multi_init());
  if (multi_)
    thread_ = std::thread([this] { run_loop(); });
}

transfer_engine::~transfer_engine() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    curl_multi_wakeup(multi_.get());
    thread_.join();
  }
  // The handlers (and whatever they hold) are destroyed here, on the destroying thread, never
  // on the engine thread while the io_context may still be running.
  incoming_.clear();
  waiting_.clear();
  active_.clear();
}

void transfer_engine::start(asio::io_context& io, std::unique_ptr<curl_attempt> attempt,
                            const transfer_options& options, util::cancel_token cancel,
                            std::chrono::milliseconds delay, done_handler on_done) {
  auto e = std::make_unique<entry>(io, std::move(attempt), options, std::move(cancel),
                                   clock::now() + delay, std::move(on_done));
  if (!multi_) {
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    deliver(std::move(e), failed_init("could not initialise libcurl"));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_)
      return;
    // Counted before the engine thread can see it, so it is never handed back uncounted.
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    incoming_.push_back(std::move(e));
  }
  curl_multi_wakeup(multi_.get());
}

void transfer_engine::run_loop() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_)
        break;
      for (auto& e : incoming_)
        waiting_.push_back(std::move(e));
      incoming_.clear();
    }
    start_due();
    if (!active_.empty()) {
      int running = 0;
      const CURLMcode mc = curl_multi_perform(multi_.get(), &running);
      collect_finished();
      if (mc != CURLM_OK) {
        // Only allocation failures get here; nothing running can be trusted to progress.
        while (!active_.empty())
          end_active(active_.front().get(), CURLE_OUT_OF_MEMORY, false);
      }
    }
    check_limits();
    if (curl_multi_poll(multi_.get(), nullptr, 0, poll_timeout_ms(), nullptr) != CURLM_OK) {
      // Not expected (poll() itself failed); waiting a little keeps it from spinning.
      std::this_thread::sleep_for(std::chrono::milliseconds(check_interval_ms));
    }
  }
  abandon_all();
}

void transfer_engine::start_due() {
  if (waiting_.empty())
    return;
  const auto now = clock::now();
  std::vector<entry_ptr> still_waiting;
  for (auto& e : waiting_) {
    if (e->cancel.cancelled()) {
      deliver(std::move(e), cancelled_result());
    } else if (e->not_before > now) {
      still_waiting.push_back(std::move(e));
    } else if (auto failure = begin(*e)) {
      entry_ptr done = std::move(e);
      if (done->prepared)
        done->attempt->finish(done->easy.get(), *failure);
      done->easy.reset();
      deliver(std::move(done), std::move(*failure));
    } else {
      active_.push_back(std::move(e));
    }
  }
  waiting_ = std::move(still_waiting);
}

std::optional<attempt_result> transfer_engine::begin(entry& e) {
  e.easy.reset(curl_easy_init());
  if (!e.easy)
    return failed_init("could not initialise libcurl");
  CURL* h = e.easy.get();
  const transfer_options& o = e.options;
  bool ok = true;
  auto set = [&ok](CURLcode c) { ok = ok && c == CURLE_OK; };
  // Signals would hit whichever thread; curl's timeout via SIGALRM is unusable off the main one.
  set(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L));
  set(curl_easy_setopt(h, CURLOPT_PRIVATE, static_cast<void*>(&e)));
  set(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, e.error_buffer));
  // file:// is read by the downloader itself (it could name a FIFO and block this thread), and
  // a redirect must never reach file:// (or anything else) on our own disk.
  set(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https"));
  set(curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
  set(curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L));
  set(curl_easy_setopt(h, CURLOPT_MAXREDIRS, o.max_redirects));
  set(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count())));
  if (o.attempt_timeout.count() > 0)
    set(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(o.attempt_timeout.count())));
  set(curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L));
  // Each attempt closes its connection, as a private handle did: nothing idles in a cache
  // between attempts of different sessions, and a retry never reuses a broken connection.
  set(curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L));
  set(curl_easy_setopt(h, CURLOPT_USERAGENT, "agentrt/" AGENTRT_VERSION));
  set(curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L));
  set(curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &transfer_engine::on_progress));
  set(curl_easy_setopt(h, CURLOPT_XFERINFODATA, static_cast<void*>(&e)));
  if (!ok)
    return failed_init("could not initialise libcurl");
  if (!e.attempt->prepare(h))
    return attempt_result();
  e.prepared = true;
  e.meter.reset(clock::now());
  if (const CURLMcode mc = curl_multi_add_handle(multi_.get(), h); mc != CURLM_OK)
    return failed_init(curl_multi_strerror(mc));
  return std::nullopt;
}

int transfer_engine::on_progress(void* self, curl_off_t, curl_off_t dlnow, curl_off_t,
                                 curl_off_t ulnow) {
  auto* e = static_cast<entry*>(self);
  e->meter.on_progress(static_cast<std::uint64_t>(std::max<curl_off_t>(0, dlnow + ulnow)));
  // Non-zero makes curl abort with CURLE_ABORTED_BY_CALLBACK from inside a long read loop.
  return e->cancel.cancelled() ? 1 : 0;
}

void transfer_engine::collect_finished() {
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &queued)) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    // Read before the handle is removed: that invalidates msg.
    const CURLcode code = msg->data.result;
    char* priv = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    end_active(reinterpret_cast<entry*>(priv), code, false);
  }
}

void transfer_engine::check_limits() {
  const auto now = clock::now();
  for (std::size_t i = 0; i < active_.size();) {
    entry* e = active_[i].get();
    if (e->cancel.cancelled()) {
      end_active(e, CURLE_ABORTED_BY_CALLBACK, false);
    } else if (e->meter.too_slow(now, e->options)) {
      end_active(e, CURLE_OPERATION_TIMEDOUT, true);
    } else {
      ++i;
    }
  }
}

int transfer_engine::poll_timeout_ms() const {
  if (!active_.empty())
    return check_interval_ms;
  if (waiting_.empty())
    return idle_wait_ms;
  auto next = waiting_.front()->not_before;
  for (const auto& e : waiting_)
    next = std::min(next, e->not_before);
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(next - clock::now()).count() + 1;
  return static_cast<int>(std::clamp<long long>(left, 0, check_interval_ms));
}

void transfer_engine::end_active(entry* raw, CURLcode code, bool too_slow) {
  const auto it = std::find_if(active_.begin(), active_.end(),
                               [raw](const entry_ptr& p) { return p.get() == raw; });
  if (it == active_.end())
    return;
  entry_ptr e = std::move(*it);
  active_.erase(it);
  curl_multi_remove_handle(multi_.get(), e->easy.get());

  attempt_result r;
  r.curl_code = code;
  long status = 0;
  if (curl_easy_getinfo(e->easy.get(), CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
    r.http_status = status;
  if (code == CURLE_ABORTED_BY_CALLBACK && e->cancel.cancelled()) {
    r.cancelled = true;
    r.curl_error = "cancelled";
  } else if (too_slow) {
    // Reported as curl's own timeout so callers and the retry policy treat both alike.
    r.curl_error = "Operation too slow: less than " + std::to_string(e->options.low_speed_limit) +
                   " bytes/s transferred during the last " +
                   std::to_string(e->options.low_speed_time.count()) + " ms";
  } else if (code != CURLE_OK) {
    r.curl_error = e->error_buffer[0] != '\0' ? e->error_buffer : curl_easy_strerror(code);
  }
  e->attempt->finish(e->easy.get(), r);
  e->easy.reset();
  deliver(std::move(e), std::move(r));
}

void transfer_engine::deliver(entry_ptr e, attempt_result r) {
  auto work = std::move(e->work);
  asio::post(work.get_executor(),
             [on_done = std::move(e->on_done), attempt = std::move(e->attempt),
              r = std::move(r)]() mutable { on_done(std::move(attempt), std::move(r)); });
  work.reset();
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
}

void transfer_engine::abandon_all() {
  const attempt_result r = cancelled_result();
  for (auto& e : active_) {
    curl_multi_remove_handle(multi_.get(), e->easy.get());
    e->attempt->finish(e->easy.get(), r);
    e->easy.reset();
  }
}

} // namespace agentrt::runtime::transfer

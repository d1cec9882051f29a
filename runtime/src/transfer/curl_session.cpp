// A single curl attempt driven through a private multi handle, and the retry policy.
#include "transfer/curl_session.hpp"

#include <algorithm>

#include "transfer/curl_global.hpp"

namespace agentrt::runtime::transfer {

namespace {

// curl_easy_perform waits up to a second between its own wake-ups when the peer is silent; a
// shorter poll here is what bounds cancel latency.
constexpr int poll_interval_ms = 100;

} // namespace

curl_session::curl_session(const transfer_options& options, const cancel_token& cancel,
                           const char* protocols)
    : options_(options), cancel_(cancel) {
  if (!curl_global::ensure())
    return;
  easy_.reset(curl_easy_init());
  multi_.reset(curl_multi_init());
  if (!easy_ || !multi_)
    return;
  CURL* h = easy_.get();
  bool ok = true;
  auto set = [&ok](CURLcode c) { ok = ok && c == CURLE_OK; };
  // Signals would hit whichever thread; curl's timeout via SIGALRM is unusable with a pool.
  set(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L));
  set(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer_));
  set(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols));
  // A redirect must never reach file:// (or anything else) on our own disk.
  set(curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
  set(curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L));
  set(curl_easy_setopt(h, CURLOPT_MAXREDIRS, options.max_redirects));
  set(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                       static_cast<long>(options.connect_timeout.count())));
  if (options.attempt_timeout.count() > 0) {
    set(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                         static_cast<long>(options.attempt_timeout.count())));
  }
  set(curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L));
  set(curl_easy_setopt(h, CURLOPT_USERAGENT, "agentrt/" AGENTRT_VERSION));
  set(curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L));
  set(curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &curl_session::on_progress));
  set(curl_easy_setopt(h, CURLOPT_XFERINFODATA, this));
  setup_ok_ = ok;
}

int curl_session::on_progress(void* self, curl_off_t, curl_off_t dlnow, curl_off_t,
                              curl_off_t ulnow) {
  auto* s = static_cast<curl_session*>(self);
  const auto now_bytes = static_cast<std::uint64_t>(std::max<curl_off_t>(0, dlnow + ulnow));
  // A smaller count means curl started the next request of a redirect chain.
  if (now_bytes < s->request_bytes_)
    s->request_bytes_ = 0;
  s->moved_ += now_bytes - s->request_bytes_;
  s->request_bytes_ = now_bytes;
  // Non-zero makes curl abort with CURLE_ABORTED_BY_CALLBACK from inside a long read loop
  // (file:// reads the whole file in one step) where our poll loop never gets control.
  return s->cancel_.cancelled() ? 1 : 0;
}

bool curl_session::too_slow(clock::time_point now) {
  if (options_.low_speed_limit <= 0 || options_.low_speed_time.count() <= 0)
    return false;
  // Sampling at most every poll interval bounds the history for fast transfers, which come
  // back from curl_multi_poll thousands of times a second.
  if (now - samples_.back().at >= std::chrono::milliseconds(poll_interval_ms)) {
    samples_.push_back({now, moved_});
  }
  const auto window_start = now - options_.low_speed_time;
  while (samples_.size() >= 2 && samples_[1].at <= window_start)
    samples_.pop_front();
  if (samples_.front().at > window_start)
    return false; // less than a full window so far
  const double needed = static_cast<double>(options_.low_speed_limit) *
                        std::chrono::duration<double>(options_.low_speed_time).count();
  return static_cast<double>(moved_ - samples_.front().moved) < needed;
}

attempt_result curl_session::perform() {
  attempt_result r;
  error_buffer_[0] = '\0';
  CURL* h = easy_.get();
  CURLM* m = multi_.get();
  if (CURLMcode mc = curl_multi_add_handle(m, h); mc != CURLM_OK) {
    r.curl_code = CURLE_FAILED_INIT;
    r.curl_error = curl_multi_strerror(mc);
    return r;
  }
  moved_ = 0;
  request_bytes_ = 0;
  samples_.assign(1, {clock::now(), 0});
  int running = 1;
  bool finished = false;
  bool slow = false;
  for (;;) {
    CURLMcode mc = curl_multi_perform(m, &running);
    if (mc == CURLM_OK && running == 0) {
      finished = true;
      break;
    }
    if (mc == CURLM_OK && cancel_.cancelled()) {
      r.cancelled = true;
      break;
    }
    if (mc == CURLM_OK && too_slow(clock::now())) {
      slow = true;
      break;
    }
    if (mc == CURLM_OK)
      mc = curl_multi_poll(m, nullptr, 0, poll_interval_ms, nullptr);
    if (mc != CURLM_OK) {
      r.curl_code = CURLE_FAILED_INIT;
      r.curl_error = curl_multi_strerror(mc);
      break;
    }
  }
  if (finished) {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(m, &queued)) {
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
        r.curl_code = msg->data.result;
    }
  }
  curl_multi_remove_handle(m, h);

  long status = 0;
  if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
    r.http_status = status;
  if (r.curl_code == CURLE_ABORTED_BY_CALLBACK && cancel_.cancelled())
    r.cancelled = true;
  if (r.cancelled) {
    r.curl_code = CURLE_ABORTED_BY_CALLBACK;
    r.curl_error = "cancelled";
  } else if (slow) {
    // Reported as curl's own timeout so callers and the retry policy treat both alike.
    r.curl_code = CURLE_OPERATION_TIMEDOUT;
    r.curl_error = "Operation too slow: less than " + std::to_string(options_.low_speed_limit) +
                   " bytes/s transferred during the last " +
                   std::to_string(options_.low_speed_time.count()) + " ms";
  } else if (r.curl_code != CURLE_OK && r.curl_error.empty()) {
    r.curl_error = error_buffer_[0] != '\0' ? error_buffer_ : curl_easy_strerror(r.curl_code);
  }
  return r;
}

bool should_retry(const attempt_result& a) noexcept {
  if (a.cancelled)
    return false;
  switch (a.curl_code) {
  case CURLE_OK:
  case CURLE_HTTP_RETURNED_ERROR:
    return a.http_status >= 500 && a.http_status <= 599;
  // DNS is included because a sandbox's resolver may come up after the runtime does.
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_PARTIAL_FILE:
  case CURLE_GOT_NOTHING:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return true;
  default:
    return false;
  }
}

std::chrono::milliseconds backoff_delay(const transfer_options& options, int retry) noexcept {
  auto delay = options.initial_backoff;
  for (int i = 0; i < retry && delay < options.max_backoff; ++i)
    delay *= 2;
  return std::min(delay, options.max_backoff);
}

std::string describe_transport_error(const attempt_result& a) {
  return a.curl_error + " (curl error " + std::to_string(static_cast<int>(a.curl_code)) + ")";
}

std::string attempts_suffix(int attempts) {
  return attempts > 1 ? ", after " + std::to_string(attempts) + " attempts" : std::string();
}

} // namespace agentrt::runtime::transfer

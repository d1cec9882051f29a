// One cancellable curl transfer attempt, shared by the downloader and the uploader: an easy
// handle with the common limits (timeouts, low-speed check, redirects, allowed protocols)
// driven by a private multi handle, so a cancel is noticed within a poll interval even while
// the server is silent. The retry policy that sits around attempts lives here too.
//
// The low-speed check is ours rather than CURLOPT_LOW_SPEED_*: curl averages speed over a
// window of up to 6 s, so a burst followed by a stall is only noticed ~5 s after the
// configured time, which makes short limits meaningless.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>

#include <curl/curl.h>

#include "transfer/cancel_token.hpp"
#include "transfer/curl_handle.hpp"
#include "transfer/transfer_options.hpp"

namespace agentrt::runtime::transfer {

struct attempt_result {
  CURLcode curl_code = CURLE_OK;
  std::string curl_error; // curl's detailed message, else its generic text; empty on success
  long http_status = 0;   // 0 when no HTTP answer arrived (or for file://)
  bool cancelled = false;

  bool transport_ok() const noexcept { return curl_code == CURLE_OK && !cancelled; }
};

class curl_session {
public:
  // protocols: curl's CURLOPT_PROTOCOLS_STR list, e.g. "http,https,file". Redirects are only
  // ever followed to http and https.
  curl_session(const transfer_options& options, const cancel_token& cancel, const char* protocols);
  curl_session(const curl_session&) = delete;
  curl_session& operator=(const curl_session&) = delete;

  // False when curl could not be initialised or allocate the handles.
  bool valid() const noexcept { return easy_ && multi_ && setup_ok_; }
  // For the caller's transfer-specific options (URL, callbacks, headers).
  CURL* easy() const noexcept { return easy_.get(); }

  // Runs the configured transfer until it completes, fails, times out or is cancelled.
  attempt_result perform();

private:
  using clock = std::chrono::steady_clock;
  struct progress_sample {
    clock::time_point at;
    std::uint64_t moved;
  };

  static int on_progress(void* self, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow);
  bool too_slow(clock::time_point now);

  const transfer_options options_;
  const cancel_token& cancel_;
  easy_handle easy_;
  multi_handle multi_;
  bool setup_ok_ = false;
  char error_buffer_[CURL_ERROR_SIZE] = {};
  // Bytes moved in this attempt across redirects (curl's counters restart per request).
  std::uint64_t moved_ = 0;
  std::uint64_t request_bytes_ = 0;
  // Samples since the latest one at least low_speed_time old.
  std::deque<progress_sample> samples_;
};

// Whether another attempt could succeed: connection failures, timeouts, truncated transfers
// and HTTP 5xx. Never 4xx, cancels or local problems.
bool should_retry(const attempt_result& a) noexcept;
// Delay before retry number retry (0-based): initial_backoff doubled per retry, capped.
std::chrono::milliseconds backoff_delay(const transfer_options& options, int retry) noexcept;
// "Failed to connect to ... (curl error 7)".
std::string describe_transport_error(const attempt_result& a);
// ", after 4 attempts" when more than one attempt was made, else "".
std::string attempts_suffix(int attempts);

} // namespace agentrt::runtime::transfer

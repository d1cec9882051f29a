// What one transfer attempt ended with, and the retry policy that sits around attempts: which
// outcomes are worth another attempt, the backoff between them, and the texts that describe a
// failed transport.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <curl/curl.h>

#include "transfer/transfer_failure.hpp"
#include "transfer/transfer_options.hpp"

namespace agentrt::runtime::transfer {

struct attempt_result {
  CURLcode curl_code = CURLE_OK;
  std::string curl_error; // curl's detailed message, else its generic text; empty on success
  long http_status = 0;   // 0 when no HTTP answer arrived
  bool cancelled = false;

  bool transport_ok() const noexcept { return curl_code == CURLE_OK && !cancelled; }
};

// Whether another attempt could succeed: connection failures, timeouts, truncated transfers
// and HTTP 5xx. Never 4xx, cancels or local problems.
bool should_retry(const attempt_result& a) noexcept;
// Delay before retry number retry (0-based): initial_backoff doubled per retry, capped.
std::chrono::milliseconds backoff_delay(const transfer_options& options, int retry) noexcept;
// After attempts attempts, the last of which ended as a: the delay before the next one, or
// nullopt when a is final (a success, not worth retrying, or options.max_retries used up).
std::optional<std::chrono::milliseconds>
retry_after(const transfer_options& options, const attempt_result& a, int attempts) noexcept;
// Whether a failed attempt got an answer from the server (an HTTP error status) rather than a
// transport failure.
bool http_answer(const attempt_result& a) noexcept;
// Why a transfer failed for good after attempts attempts: "HTTP 503, after 4 attempts" for an
// answer, else "Failed to connect to ... (curl error 7), after 3 attempts".
std::string final_failure_text(const attempt_result& a, int attempts);
// Result (download_result, upload_result) after its final failed attempt a, whose curl_error it
// already holds as it may be shown: an http_status or transport failure, with the error text
// "PREFIX failed: <final_failure_text>".
template <typename Result>
Result failed_for_good(Result r, const attempt_result& a, const std::string& prefix) {
  attempt_result shown = a;
  shown.curl_error = r.curl_error;
  r.failure = http_answer(a) ? transfer_failure::http_status : transfer_failure::transport;
  r.error = prefix + " failed: " + final_failure_text(shown, r.attempts);
  return r;
}
// "Failed to connect to ... (curl error 7)".
std::string describe_transport_error(const attempt_result& a);
// ", after 4 attempts" when more than one attempt was made, else "".
std::string attempts_suffix(int attempts);

} // namespace agentrt::runtime::transfer

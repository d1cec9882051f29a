// The retry policy shared by downloads, uploads and the openai loop's model requests.
#include "transfer/retry_policy.hpp"

#include <algorithm>

namespace agentrt::runtime::transfer {

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

std::optional<std::chrono::milliseconds>
retry_after(const transfer_options& options, const attempt_result& a, int attempts) noexcept {
  if (attempts - 1 >= options.max_retries || !should_retry(a))
    return std::nullopt;
  return backoff_delay(options, attempts - 1);
}

bool http_answer(const attempt_result& a) noexcept {
  // CURLE_HTTP_RETURNED_ERROR: the status line of an answer with CURLOPT_FAILONERROR.
  return a.transport_ok() || a.curl_code == CURLE_HTTP_RETURNED_ERROR;
}

std::string final_failure_text(const attempt_result& a, int attempts) {
  return (http_answer(a) ? "HTTP " + std::to_string(a.http_status) : describe_transport_error(a)) +
         attempts_suffix(attempts);
}

std::string describe_transport_error(const attempt_result& a) {
  return a.curl_error + " (curl error " + std::to_string(static_cast<int>(a.curl_code)) + ")";
}

std::string attempts_suffix(int attempts) {
  return attempts > 1 ? ", after " + std::to_string(attempts) + " attempts" : std::string();
}

} // namespace agentrt::runtime::transfer

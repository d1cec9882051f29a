// The HTTP side of the openai loop: the chat completions URL, one POST of a chat completion as
// a transfer_engine attempt (its body streamed into a chat_stream, an error answer's body kept
// apart), the server's Retry-After, and the API's error text.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <curl/curl.h>

#include "agentrt/protocol/result.hpp"
#include "harness/chat_stream.hpp"
#include "transfer/curl_handle.hpp"
#include "transfer/retry_policy.hpp"
#include "transfer/transfer_engine.hpp"
#include "transfer/transfer_options.hpp"

namespace agentrt::runtime::harness {

// A server's Retry-After longer than this fails the request instead of holding it.
constexpr std::chrono::seconds max_retry_after{120};

// {base}/chat/completions, with /v1 appended to a base without it; "" = OpenAI's own API.
std::string completions_url(std::string base);

// Retry-After as seconds or an HTTP date; nullopt when absent or unreadable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value);

// The API's own error text: {"error":{"message":...}} or the body's start.
std::string api_error_text(const std::string& body);

// The limits of every chat request: a model may think for minutes before its first token, so
// only a silent connection counts as stalled.
transfer::transfer_options chat_options(int max_retries);

struct chat_response {
  std::optional<std::chrono::milliseconds> retry_after; // the server's Retry-After header
  transfer::attempt_result attempt;
  chat_stream stream;
  std::string error_body; // the body of a non-2xx answer
  int attempts = 0;
  bool line_too_long = false;
};

// One POST of a chat completion. The body callbacks run on the engine thread and fill response;
// the run reads it back on the io_context.
class chat_attempt final : public transfer::curl_attempt {
public:
  chat_attempt(const std::string& url, const std::string& api_key,
               std::shared_ptr<const std::string> body);

  // transfer_engine's hook, whose contract is a bool: the reason of a failure stays in
  // preparation().
  bool prepare(CURL* h) override;

  // How preparing went: a failure until prepare() succeeded, so an attempt the engine never
  // prepared (it could not create the curl handle) reads as failed with the same text.
  const protocol::result<void>& preparation() const noexcept { return preparation_; }
  chat_response response;

private:
  protocol::result<void> set_options(CURL* h);
  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user);
  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user);

  const std::string url_;
  const std::string api_key_;
  const std::shared_ptr<const std::string> body_;
  transfer::slist_handle headers_;
  long status_ = 0;
  std::size_t pending_ = 0; // bytes since the last newline, to bound a line without JSON
  protocol::result<void> preparation_;
};

} // namespace agentrt::runtime::harness

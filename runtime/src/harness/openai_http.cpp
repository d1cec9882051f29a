#include "harness/openai_http.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <system_error>
#include <utility>

#include "harness/json_support.hpp"

namespace agentrt::runtime::harness {

namespace {

constexpr std::size_t max_sse_line = 16 * 1024 * 1024;
constexpr std::size_t max_error_body = 64 * 1024;

// Why an attempt has no options set: a header that could not be allocated, or (before
// prepare()) a curl handle the engine could not create, which is an allocation failure too
// unless libcurl failed to initialise at all.
protocol::error not_initialised() {
  return {std::make_error_code(std::errc::not_enough_memory), "could not initialise curl"};
}

} // namespace

std::string completions_url(std::string base) {
  if (base.empty())
    base = "https://api.openai.com/v1";
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  // OpenAI's own SDKs take the base with /v1; many local servers are configured without it.
  if (base.size() < 3 || base.compare(base.size() - 3, 3, "/v1") != 0)
    base += "/v1";
  return base + "/chat/completions";
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  if (value.empty())
    return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    if (value.size() > 9)
      return std::chrono::milliseconds(std::chrono::hours(24 * 365));
    return std::chrono::seconds(std::strtoll(std::string(value).c_str(), nullptr, 10));
  }
  const time_t when = curl_getdate(std::string(value).c_str(), nullptr);
  if (when < 0)
    return std::nullopt;
  const time_t now = std::time(nullptr);
  return std::chrono::seconds(when > now ? when - now : 0);
}

std::string api_error_text(const std::string& body) {
  rapidjson::Document doc;
  if (json::parse(body, doc) && doc.IsObject()) {
    if (const auto* e = json::member(doc, "error")) {
      if (e->IsObject()) {
        if (auto m = json::string_member(*e, "message"))
          return *m;
      } else if (e->IsString()) {
        return e->GetString();
      }
    }
  }
  return body.substr(0, 500);
}

transfer::transfer_options chat_options(int max_retries) {
  transfer::transfer_options options;
  options.max_retries = max_retries;
  options.connect_timeout = std::chrono::seconds(30);
  options.low_speed_limit = 1;
  options.low_speed_time = std::chrono::seconds(300);
  options.max_redirects = 3;
  return options;
}

chat_attempt::chat_attempt(const std::string& url, const std::string& api_key,
                           std::shared_ptr<const std::string> body)
    : url_(url), api_key_(api_key), body_(std::move(body)), preparation_(not_initialised()) {}

bool chat_attempt::prepare(CURL* h) {
  preparation_ = set_options(h);
  return preparation_.ok();
}

protocol::result<void> chat_attempt::set_options(CURL* h) {
  bool ok = headers_.append("Content-Type: application/json") &&
            headers_.append("Accept: text/event-stream") && headers_.append("Expect:");
  if (ok && !api_key_.empty())
    ok = headers_.append(("Authorization: Bearer " + api_key_).c_str());
  if (!ok)
    return not_initialised();
  curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body_->c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_->size()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &chat_attempt::on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, static_cast<void*>(this));
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &chat_attempt::on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, static_cast<void*>(this));
  return {};
}

std::size_t chat_attempt::on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* self = static_cast<chat_attempt*>(user);
  const std::size_t bytes = size * n;
  auto& r = self->response;
  // The body of an error answer is kept apart so that it is never parsed as a stream.
  if (self->status_ >= 400) {
    if (r.error_body.size() < max_error_body)
      r.error_body.append(data, std::min(bytes, max_error_body - r.error_body.size()));
    return bytes;
  }
  const std::string_view chunk(data, bytes);
  const auto nl = chunk.rfind('\n');
  self->pending_ = nl == std::string_view::npos ? self->pending_ + bytes : bytes - nl - 1;
  if (self->pending_ > max_sse_line) {
    r.line_too_long = true;
    return 0; // aborts the transfer (CURLE_WRITE_ERROR)
  }
  r.stream.write(chunk);
  return bytes;
}

// Records the status line as soon as headers arrive so the body callback knows whether it is
// reading a stream or an error document.
std::size_t chat_attempt::on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* self = static_cast<chat_attempt*>(user);
  const std::string_view line(data, size * n);
  if (line.size() > 12 && (line[0] == 'R' || line[0] == 'r') &&
      std::equal(line.begin(), line.begin() + 12, "retry-after:", [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == b;
      })) {
    self->response.retry_after = parse_retry_after(line.substr(12));
  }
  if (line.rfind("HTTP/", 0) == 0) {
    self->response.retry_after.reset(); // a new header block (after a redirect or 100)
    const auto sp = line.find(' ');
    if (sp != std::string_view::npos)
      self->status_ = std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
  }
  return size * n;
}

} // namespace agentrt::runtime::harness

// Native agent loop against an OpenAI-compatible chat completions endpoint.
#include "harness/openai_harness.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <random>
#include <sstream>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <curl/curl.h>

#include "harness/adapter_support.hpp"
#include "harness/edit_tool.hpp"
#include "harness/event_sink.hpp"
#include "harness/immediate_run.hpp"
#include "harness/json_support.hpp"
#include "process/child_process.hpp"
#include "transfer/cancel_token.hpp"
#include "transfer/curl_handle.hpp"
#include "transfer/retry_policy.hpp"
#include "transfer/transfer_engine.hpp"
#include "util/url_text.hpp"

namespace agentrt::runtime::harness {

namespace {

const char* const harness_name = "openai";
constexpr std::size_t max_sse_line = 16 * 1024 * 1024;
constexpr std::size_t max_error_body = 64 * 1024;
constexpr std::size_t max_tool_output = 32 * 1024;
constexpr std::size_t max_stored_sessions = 64;

const char* const shell_tool_json =
    R"({"type":"function","function":{"name":"shell","description":"Run a shell command )"
    R"((/bin/sh -c) in the working directory and return its combined stdout and stderr and its )"
    R"(exit code.","parameters":{"type":"object","properties":{"command":{"type":"string",)"
    R"("description":"the command line"}},"required":["command"]}}})";
// A server's Retry-After longer than this fails the request instead of holding it.
constexpr std::chrono::seconds max_retry_after{120};

std::string tools_json() {
  return std::string("[") + shell_tool_json + "," + edit_tool_json() + "]";
}

// Retry-After as seconds or an HTTP date; nullopt when absent or unreadable.
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

std::string new_session_id() {
  std::random_device rd;
  std::ostringstream out;
  out << "openai-" << std::hex << rd() << rd();
  return out.str();
}

// The API's own error text: {"error":{"message":...}} or the body's start.
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
               std::shared_ptr<const std::string> body)
      : url_(url), api_key_(api_key), body_(std::move(body)) {}

  bool prepare(CURL* h) override {
    bool ok = headers_.append("Content-Type: application/json") &&
              headers_.append("Accept: text/event-stream") && headers_.append("Expect:");
    if (ok && !api_key_.empty())
      ok = headers_.append(("Authorization: Bearer " + api_key_).c_str());
    if (!ok)
      return false;
    curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body_->c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_->size()));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &chat_attempt::on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, static_cast<void*>(this));
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &chat_attempt::on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, static_cast<void*>(this));
    prepared_ = true;
    return true;
  }

  bool prepared() const noexcept { return prepared_; }
  chat_response response;

private:
  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
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
  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
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

  const std::string url_;
  const std::string api_key_;
  const std::shared_ptr<const std::string> body_;
  transfer::slist_handle headers_;
  long status_ = 0;
  std::size_t pending_ = 0; // bytes since the last newline, to bound a line without JSON
  bool prepared_ = false;
};

transfer::transfer_options chat_options(int max_retries) {
  transfer::transfer_options options;
  options.max_retries = max_retries;
  options.connect_timeout = std::chrono::seconds(30);
  // A model may think for minutes before its first token; only a silent connection counts.
  options.low_speed_limit = 1;
  options.low_speed_time = std::chrono::seconds(300);
  options.max_redirects = 3;
  return options;
}

} // namespace

void chat_stream::write(std::string_view bytes) {
  partial_.append(bytes);
  std::size_t start = 0;
  for (;;) {
    const auto nl = partial_.find('\n', start);
    if (nl == std::string::npos)
      break;
    std::string_view line(partial_.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.rfind("data:", 0) == 0) {
      line.remove_prefix(5);
      if (!line.empty() && line.front() == ' ')
        line.remove_prefix(1);
      on_data(line);
    }
    start = nl + 1;
  }
  partial_.erase(0, start);
}

void chat_stream::on_data(std::string_view data) {
  if (data == "[DONE]") {
    done_ = true;
    return;
  }
  rapidjson::Document doc;
  if (!json::parse(data, doc) || !doc.IsObject())
    return;
  if (const auto* e = json::member(doc, "error")) {
    error = e->IsObject() ? json::string_or_empty(*e, "message") : json::text_of(*e);
    if (error.empty())
      error = json::dump(*e);
    return;
  }
  if (const auto* usage = json::member(doc, "usage"); usage && usage->IsObject()) {
    if (auto p = json::token_count(*usage, "prompt_tokens"))
      prompt_tokens = *p;
    if (auto c = json::token_count(*usage, "completion_tokens"))
      completion_tokens = *c;
  }
  const auto* choices = json::member(doc, "choices");
  if (!choices || !choices->IsArray() || choices->Empty())
    return;
  const auto& choice = (*choices)[0];
  if (auto fr = json::string_member(choice, "finish_reason"))
    finish_reason = *fr;
  const auto* delta = json::member(choice, "delta");
  if (!delta)
    delta = json::member(choice, "message"); // servers that ignore stream:true
  if (!delta || !delta->IsObject())
    return;
  if (auto c = json::string_member(*delta, "content"))
    content += *c;
  if (auto r = json::string_member(*delta, "reasoning_content"))
    reasoning += *r;
  if (auto r = json::string_member(*delta, "reasoning"))
    reasoning += *r;
  const auto* calls = json::member(*delta, "tool_calls");
  if (!calls || !calls->IsArray())
    return;
  for (const auto& call : calls->GetArray()) {
    // Deltas of one call share its index; only the first carries id and name.
    std::size_t index = tool_calls.size();
    if (const auto* i = json::member(call, "index"); i && i->IsUint())
      index = i->GetUint();
    if (index > 1024)
      continue;
    if (index >= tool_calls.size())
      tool_calls.resize(index + 1);
    auto& tc = tool_calls[index];
    if (auto id = json::string_member(call, "id"))
      tc.id += *id;
    if (const auto* fn = json::member(call, "function")) {
      if (auto n = json::string_member(*fn, "name"))
        tc.name += *n;
      if (auto a = json::string_member(*fn, "arguments"))
        tc.arguments += *a;
    }
  }
}

void openai_harness::session_store::put(const std::string& id, std::string messages_json) {
  if (messages.find(id) == messages.end())
    order.push_back(id);
  messages[id] = std::move(messages_json);
  while (order.size() > max_stored_sessions) {
    messages.erase(order.front());
    order.pop_front();
  }
}

const std::string* openai_harness::session_store::find(const std::string& id) const {
  auto it = messages.find(id);
  return it == messages.end() ? nullptr : &it->second;
}

namespace {

class openai_run : public harness_run, public std::enable_shared_from_this<openai_run> {
public:
  openai_run(asio::io_context& io, process::process_reaper& reaper, process::process_scope& scope,
             transfer::transfer_engine& engine, const harness_config& config,
             std::shared_ptr<openai_harness::session_store> sessions, event_sink sink,
             harness::done_handler on_done)
      : io_(io), reaper_(reaper), scope_(scope), engine_(engine), config_(config),
        sessions_(std::move(sessions)), sink_(std::move(sink)), on_done_(std::move(on_done)),
        timer_(io), started_(std::chrono::steady_clock::now()) {}

  // Starts the first request; a failure is reported through on_done, posted.
  void begin(const invocation& inv, std::shared_ptr<const output_schema> schema) {
    schema_ = std::move(schema);
    budget_from_invocation_ = inv.settings.token_budget.has_value();
    url_ = completions_url(env_value(inv, "OPENAI_BASE_URL"));
    api_key_ = env_value(inv, "OPENAI_API_KEY");
    model_ = !inv.model.empty() ? inv.model : env_value(inv, "OPENAI_MODEL");
    if (model_.empty())
      model_ = "gpt-4o-mini";
    workdir_ = workdir_of(config_, inv);
    env_ = inv.agent_env;
    messages_.SetArray();
    auto& a = messages_.GetAllocator();
    if (inv.resume_session_id) {
      const std::string* stored = sessions_->find(*inv.resume_session_id);
      if (!stored) {
        asio::post(io_, [self = shared_from_this(), id = *inv.resume_session_id] {
          self->fail("openai: no stored session \"" + id + "\" to resume", chat_response());
        });
        return;
      }
      rapidjson::Document old;
      json::parse(*stored, old);
      messages_.CopyFrom(old, a);
      session_id_ = *inv.resume_session_id;
    } else {
      session_id_ = new_session_id();
      if (!inv.system_prompt.empty())
        add_message("system", inv.system_prompt);
    }
    add_message("user", inv.user_prompt);
    sink_.event(
        "session",
        json::object_writer().add("session_id", session_id_).add("harness", harness_name).str());
    if (config_.timeout.count() > 0) {
      timer_.expires_after(config_.timeout);
      std::weak_ptr<openai_run> weak = shared_from_this();
      timer_.async_wait([weak](const std::error_code& ec) {
        if (auto s = weak.lock(); s && !ec)
          s->on_timeout();
      });
    }
    request();
  }

  void cancel() override {
    if (finished_)
      return;
    finished_ = true;
    on_done_ = nullptr;
    sink_.clear();
    stop_work();
  }

private:
  void add_message(const char* role, const std::string& content) {
    auto& a = messages_.GetAllocator();
    rapidjson::Value m(rapidjson::kObjectType);
    m.AddMember("role", rapidjson::StringRef(role), a);
    m.AddMember(
        "content",
        rapidjson::Value(content.c_str(), static_cast<rapidjson::SizeType>(content.size()), a), a);
    messages_.PushBack(m, a);
  }

  std::string request_body() const {
    rapidjson::Document body(rapidjson::kObjectType);
    auto& a = body.GetAllocator();
    body.AddMember("model", rapidjson::Value(model_.c_str(), a), a);
    rapidjson::Value msgs;
    msgs.CopyFrom(messages_, a);
    body.AddMember("messages", msgs, a);
    body.AddMember("stream", true, a);
    rapidjson::Value opts(rapidjson::kObjectType);
    opts.AddMember("include_usage", true, a);
    body.AddMember("stream_options", opts, a);
    rapidjson::Document tools(&a);
    json::parse(tools_json(), tools);
    rapidjson::Value tools_copy;
    tools_copy.CopyFrom(tools, a);
    body.AddMember("tools", tools_copy, a);
    if (schema_) {
      rapidjson::Document schema(&a);
      json::parse(schema_->schema_json(), schema);
      rapidjson::Value js(rapidjson::kObjectType);
      js.AddMember("name", "structured_output", a);
      rapidjson::Value schema_copy;
      schema_copy.CopyFrom(schema, a);
      js.AddMember("schema", schema_copy, a);
      rapidjson::Value rf(rapidjson::kObjectType);
      rf.AddMember("type", "json_schema", a);
      rf.AddMember("json_schema", js, a);
      body.AddMember("response_format", rf, a);
    }
    return json::dump(body);
  }

  void request() {
    ++turns_;
    request_attempts_ = 0;
    request_body_ = std::make_shared<const std::string>(request_body());
    send_request(std::chrono::milliseconds(0));
  }

  // One attempt of the current turn's request; retried with backoff on connection errors,
  // timeouts and 5xx like any transfer.
  void send_request(std::chrono::milliseconds delay) {
    engine_.run(
        io_, std::make_unique<chat_attempt>(url_, api_key_, request_body_), request_options(),
        cancel_, delay,
        [self = shared_from_this()](std::unique_ptr<chat_attempt> a, transfer::attempt_result r) {
          self->on_attempt(*a, std::move(r));
        });
  }

  transfer::transfer_options request_options() const {
    return chat_options(config_.openai_max_retries);
  }

  void on_attempt(chat_attempt& a, transfer::attempt_result r) {
    if (finished_)
      return;
    chat_response response = std::move(a.response);
    if (!a.prepared() && !r.cancelled) {
      r.curl_code = CURLE_FAILED_INIT;
      r.curl_error = "could not initialise curl";
    }
    response.attempt = std::move(r);
    response.attempts = ++request_attempts_;
    if (!response.line_too_long) {
      if (const auto delay = retry_delay(response))
        return send_request(*delay);
    }
    on_response(std::move(response));
  }

  // Connection errors and 5xx are retried like any transfer, and so is 429 (rate limited);
  // a Retry-After the server sends is waited for when it is longer than the backoff (up to
  // max_retry_after: a longer one fails the turn at once, quoting it).
  std::optional<std::chrono::milliseconds> retry_delay(const chat_response& r) const {
    const auto options = request_options();
    std::optional<std::chrono::milliseconds> delay;
    if (r.attempt.http_status == 429 && !r.attempt.cancelled) {
      if (request_attempts_ <= options.max_retries)
        delay = transfer::backoff_delay(options, request_attempts_ - 1);
    } else {
      delay = transfer::retry_after(options, r.attempt, request_attempts_);
    }
    if (delay && r.retry_after) {
      if (*r.retry_after > max_retry_after)
        return std::nullopt;
      delay = std::max(*delay, *r.retry_after);
    }
    return delay;
  }

  void on_response(chat_response r) {
    if (finished_)
      return;
    if (r.attempt.cancelled)
      return; // cancel() or the timeout already reported
    if (r.line_too_long)
      return fail("openai: the server sent an SSE line longer than 16 MiB", r);
    if (r.attempt.http_status >= 400) {
      std::string text = "openai API error (HTTP " + std::to_string(r.attempt.http_status) +
                         "): " + api_error_text(r.error_body) +
                         transfer::attempts_suffix(r.attempts);
      if (r.retry_after && *r.retry_after > max_retry_after)
        text += " (the server asked to retry after " +
                std::to_string(
                    std::chrono::duration_cast<std::chrono::seconds>(*r.retry_after).count()) +
                " s)";
      return fail(text, r);
    }
    if (!r.attempt.transport_ok())
      return fail("openai request to " + util::redact_url_userinfo(url_) +
                      " failed: " + transfer::describe_transport_error(r.attempt) +
                      transfer::attempts_suffix(r.attempts),
                  r);
    if (!r.stream.error.empty())
      return fail("openai API error: " + r.stream.error, r);

    auto& s = r.stream;
    if (s.prompt_tokens >= 0)
      json::add_tokens(input_tokens_, s.prompt_tokens);
    if (s.completion_tokens >= 0)
      json::add_tokens(output_tokens_, s.completion_tokens);
    if (sink_.wants_events()) {
      if (!s.reasoning.empty())
        sink_.event("reasoning", json::object_writer().add("text", s.reasoning).str());
      if (s.prompt_tokens >= 0 || s.completion_tokens >= 0)
        sink_.event("usage",
                    json::object_writer()
                        .add("input_tokens", std::max<std::int64_t>(0, s.prompt_tokens))
                        .add("output_tokens", std::max<std::int64_t>(0, s.completion_tokens))
                        .str());
    }
    if (!s.content.empty())
      sink_.assistant({s.content});

    // The assistant turn goes into the history exactly as the API expects it back.
    auto& a = messages_.GetAllocator();
    rapidjson::Value m(rapidjson::kObjectType);
    m.AddMember("role", "assistant", a);
    if (s.content.empty() && !s.tool_calls.empty()) {
      m.AddMember("content", rapidjson::Value(), a);
    } else {
      m.AddMember("content",
                  rapidjson::Value(s.content.c_str(),
                                   static_cast<rapidjson::SizeType>(s.content.size()), a),
                  a);
    }
    pending_calls_.clear();
    if (!s.tool_calls.empty()) {
      rapidjson::Value calls(rapidjson::kArrayType);
      for (auto& tc : s.tool_calls) {
        if (tc.name.empty())
          continue;
        if (tc.id.empty())
          tc.id = "call_" + std::to_string(turns_) + "_" + std::to_string(calls.Size());
        rapidjson::Value c(rapidjson::kObjectType);
        c.AddMember("id", rapidjson::Value(tc.id.c_str(), a), a);
        c.AddMember("type", "function", a);
        rapidjson::Value fn(rapidjson::kObjectType);
        fn.AddMember("name", rapidjson::Value(tc.name.c_str(), a), a);
        fn.AddMember("arguments",
                     rapidjson::Value(tc.arguments.c_str(),
                                      static_cast<rapidjson::SizeType>(tc.arguments.size()), a),
                     a);
        c.AddMember("function", fn, a);
        calls.PushBack(c, a);
        pending_calls_.push_back(tc);
      }
      if (!calls.Empty())
        m.AddMember("tool_calls", calls, a);
    }
    messages_.PushBack(m, a);

    if (pending_calls_.empty())
      return succeed(s.content);
    if (config_.openai_token_budget > 0 &&
        input_tokens_ + output_tokens_ > config_.openai_token_budget) {
      return fail("openai: token budget of " + std::to_string(config_.openai_token_budget) +
                      " tokens used up after " + std::to_string(turns_) + " turns (" +
                      std::to_string(input_tokens_ + output_tokens_) +
                      " used) before a final answer (" +
                      (budget_from_invocation_ ? "harness_settings.token_budget"
                                               : "--openai-token-budget") +
                      ")",
                  r);
    }
    if (turns_ >= config_.max_turns) {
      return fail("openai: turn limit reached (" + std::to_string(config_.max_turns) +
                      " turns) before a final answer",
                  r);
    }
    next_call_ = 0;
    run_next_tool();
  }

  void run_next_tool() {
    if (finished_)
      return;
    if (next_call_ >= pending_calls_.size())
      return request();
    const auto& tc = pending_calls_[next_call_];
    rapidjson::Document args;
    const bool args_ok =
        json::parse(tc.arguments.empty() ? "{}" : tc.arguments, args) && args.IsObject();
    if (sink_.wants_events()) {
      json::object_writer w;
      w.add("id", tc.id).add("name", tc.name);
      if (args_ok)
        w.add_value("input", args);
      else
        w.add("input", tc.arguments);
      sink_.event("tool_use", w.str());
    }
    if (tc.name == "edit_file") {
      auto result = args_ok ? run_edit_tool(workdir_, args)
                            : edit_tool_result{"edit_file needs a JSON object argument", true};
      return tool_done(std::move(result.output), -1, result.is_error);
    }
    const auto command = args_ok ? json::string_member(args, "command") : std::nullopt;
    if (tc.name != "shell" || !command) {
      const std::string why =
          tc.name != "shell" ? "unknown tool \"" + tc.name + "\"; the tools are shell and edit_file"
                             : "shell needs a JSON object argument with a string \"command\"";
      return tool_done(why, -1, true);
    }
    process::spawn_options opts;
    opts.argv = {"/bin/sh", "-c", *command};
    opts.cwd = workdir_;
    opts.env = env_;
    tool_output_.clear();
    tool_output_dropped_ = 0;
    // Weak: the run owns child_; strong captures would keep both alive in a cycle if the
    // io_context stopped before the tool was reaped.
    std::weak_ptr<openai_run> weak = shared_from_this();
    auto [child, ec] = process::child_process::spawn(
        io_, reaper_, scope_, opts,
        [weak](process::output_stream, std::string_view chunk) {
          if (auto self = weak.lock())
            self->on_tool_output(chunk);
        },
        [weak](process::exit_status st) {
          if (auto self = weak.lock())
            self->on_tool_exit(st);
        });
    if (ec)
      return tool_done("failed to start the command: " + ec.message(), -1, true);
    child_ = std::move(child);
  }

  void on_tool_output(std::string_view chunk) {
    // Keeps the tail: the end of a long output (errors, summaries) is what the model needs.
    tool_output_.append(chunk);
    if (tool_output_.size() > 2 * max_tool_output) {
      tool_output_dropped_ += tool_output_.size() - max_tool_output;
      tool_output_.erase(0, tool_output_.size() - max_tool_output);
    }
  }

  void on_tool_exit(process::exit_status st) {
    child_.reset();
    if (finished_)
      return;
    if (tool_output_.size() > max_tool_output) {
      tool_output_dropped_ += tool_output_.size() - max_tool_output;
      tool_output_.erase(0, tool_output_.size() - max_tool_output);
    }
    std::string out;
    if (tool_output_dropped_ > 0)
      out = "[" + std::to_string(tool_output_dropped_) + " earlier bytes omitted]\n";
    out += tool_output_;
    if (!out.empty() && out.back() != '\n')
      out += '\n';
    out += "[exit code " + std::to_string(st.exit_code) + "]";
    tool_done(std::move(out), st.exit_code, st.exit_code != 0);
  }

  void tool_done(std::string output, int exit_code, bool is_error) {
    const auto& tc = pending_calls_[next_call_];
    if (sink_.wants_events()) {
      json::object_writer w;
      w.add("id", tc.id).add("output", output).add("is_error", is_error);
      if (exit_code >= 0)
        w.add("exit_code", exit_code);
      sink_.event("tool_result", w.str());
    }
    auto& a = messages_.GetAllocator();
    rapidjson::Value m(rapidjson::kObjectType);
    m.AddMember("role", "tool", a);
    m.AddMember("tool_call_id", rapidjson::Value(tc.id.c_str(), a), a);
    m.AddMember(
        "content",
        rapidjson::Value(output.c_str(), static_cast<rapidjson::SizeType>(output.size()), a), a);
    messages_.PushBack(m, a);
    ++next_call_;
    // Posted so that a long chain of failing calls cannot recurse.
    asio::post(io_, [self = shared_from_this()] { self->run_next_tool(); });
  }

  std::string metadata() const {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started_);
    return json::object_writer()
        .add("harness", harness_name)
        .add("model", model_)
        .add("session_id", session_id_)
        .add("num_turns", turns_)
        .add("duration_ms", static_cast<std::int64_t>(ms.count()))
        .add_raw("usage", json::object_writer()
                              .add("input_tokens", input_tokens_)
                              .add("output_tokens", output_tokens_)
                              .str())
        .str();
  }

  void succeed(const std::string& answer) {
    sessions_->put(session_id_, json::dump(messages_));
    finish(final_answer(harness_name, answer, schema_.get(), metadata()));
  }

  void fail(std::string error, const chat_response& r) {
    harness_outcome out;
    out.ok = false;
    out.error = std::move(error);
    json::object_writer w;
    w.add("harness", harness_name)
        .add("url", util::redact_url_userinfo(url_))
        .add("session_id", session_id_)
        .add("num_turns", turns_);
    if (r.attempt.http_status > 0)
      w.add("http_status", static_cast<std::int64_t>(r.attempt.http_status));
    if (!r.attempt.transport_ok() && !r.attempt.curl_error.empty())
      w.add("curl_error", r.attempt.curl_error);
    out.error_metadata_json = w.str();
    finish(std::move(out));
  }

  void on_timeout() {
    if (finished_)
      return;
    stop_work();
    const auto secs = static_cast<double>(config_.timeout.count()) / 1000.0;
    std::ostringstream text;
    text << "openai timed out after " << secs << " s";
    fail(text.str(), chat_response());
  }

  void stop_work() {
    cancel_.cancel();
    timer_.cancel();
    if (child_)
      child_->terminate(config_.kill_grace);
  }

  void finish(harness_outcome out) {
    if (finished_)
      return;
    finished_ = true;
    cancel_.cancel();
    timer_.cancel();
    sink_.clear();
    auto done = std::move(on_done_);
    on_done_ = nullptr;
    if (done)
      done(std::move(out));
  }

  asio::io_context& io_;
  process::process_reaper& reaper_;
  process::process_scope& scope_;
  transfer::transfer_engine& engine_;
  harness_config config_;
  bool budget_from_invocation_ = false; // the budget is harness_settings.token_budget
  std::shared_ptr<openai_harness::session_store> sessions_;
  event_sink sink_;
  harness::done_handler on_done_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point started_;
  transfer::cancel_token cancel_;
  std::shared_ptr<const std::string> request_body_; // the current turn's, shared by its attempts
  int request_attempts_ = 0;
  std::shared_ptr<const output_schema> schema_;
  std::string url_, api_key_, model_, workdir_, session_id_;
  std::map<std::string, std::string> env_;
  rapidjson::Document messages_;
  std::vector<chat_tool_call> pending_calls_;
  std::size_t next_call_ = 0;
  std::shared_ptr<process::child_process> child_;
  std::string tool_output_;
  std::size_t tool_output_dropped_ = 0;
  int turns_ = 0;
  std::int64_t input_tokens_ = 0;
  std::int64_t output_tokens_ = 0;
  bool finished_ = false;
};

} // namespace

openai_harness::openai_harness(harness_config config)
    : config_(std::move(config)), sessions_(std::make_shared<session_store>()) {}

openai_harness::~openai_harness() = default;

std::shared_ptr<harness_run>
openai_harness::start(asio::io_context& io, process::process_reaper& reaper,
                      process::process_scope& scope, const invocation& inv,
                      harness_callbacks callbacks, done_handler on_done) {
  std::string error;
  auto schema = requested_schema(inv, error);
  if (!error.empty())
    return immediate_run::fail(io, immediate_run::failure(error), std::move(on_done));
  // The native loop enforces its own limits; permissions, tools lists, MCP and CLI arguments
  // have nothing to apply to.
  error = unsupported_setting(harness_name, inv,
                              {setting::max_turns, setting::timeout_s, setting::token_budget});
  if (!error.empty()) {
    return immediate_run::fail(
        io,
        immediate_run::failure(std::move(error),
                               json::object_writer().add("harness", harness_name).str()),
        std::move(on_done));
  }
  auto run = std::make_shared<openai_run>(
      io, reaper, scope, engine_, effective_config(config_, inv), sessions_,
      event_sink(std::move(callbacks), inv.agent_events), std::move(on_done));
  run->begin(inv, std::move(schema));
  return run;
}

} // namespace agentrt::runtime::harness

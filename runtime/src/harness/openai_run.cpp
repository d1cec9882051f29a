#include "harness/openai_run.hpp"

#include <algorithm>
#include <random>
#include <sstream>
#include <utility>

#include <asio/post.hpp>

#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/json_builder.hpp"
#include "harness/adapter_support.hpp"
#include "harness/edit_tool.hpp"
#include "harness/harness_errc.hpp"
#include "util/url_text.hpp"
#include "util/weak_bind.hpp"

namespace agentrt::runtime::harness {

namespace {

std::string tools_json() {
  return std::string("[") + shell_tool_json() + "," + edit_tool_json() + "]";
}

std::string new_session_id() {
  std::random_device rd;
  std::ostringstream out;
  out << "openai-" << std::hex << rd() << rd();
  return out.str();
}

} // namespace

openai_run::openai_run(asio::io_context& io, process::process_reaper& reaper,
                       process::process_scope& scope, transfer::transfer_engine& engine,
                       const harness_config& config, std::shared_ptr<openai_session_store> sessions,
                       event_sink sink, harness::done_handler on_done)
    : io_(io), reaper_(reaper), scope_(scope), engine_(engine), config_(config),
      sessions_(std::move(sessions)), sink_(std::move(sink)), on_done_(std::move(on_done)),
      timer_(io), started_(std::chrono::steady_clock::now()) {}

void openai_run::begin(const invocation& inv, std::shared_ptr<const output_schema> schema) {
  schema_ = std::move(schema);
  budget_from_invocation_ = inv.settings.token_budget.has_value();
  url_ = completions_url(env_value(inv, "OPENAI_BASE_URL"));
  api_key_ = env_value(inv, "OPENAI_API_KEY");
  model_ = !inv.model.empty() ? inv.model : env_value(inv, "OPENAI_MODEL");
  if (model_.empty())
    model_ = "gpt-4o-mini";
  workdir_ = workdir_of(config_, inv);
  env_ = inv.agent_env;
  if (!open_conversation(inv))
    return;
  sink_.event("session", protocol::json_builder()
                             .add("session_id", session_id_)
                             .add("harness", openai_harness_name)
                             .str());
  start_timer();
  request();
}

bool openai_run::open_conversation(const invocation& inv) {
  messages_.SetArray();
  if (inv.resume_session_id) {
    const std::string* stored = sessions_->find(*inv.resume_session_id);
    if (!stored) {
      asio::post(io_, [self = shared_from_this(), id = *inv.resume_session_id] {
        self->fail(
            {protocol::errc::invalid_value, "openai: no stored session \"" + id + "\" to resume"},
            chat_response());
      });
      return false;
    }
    rapidjson::Document old;
    json::parse(*stored, old);
    messages_.CopyFrom(old, messages_.GetAllocator());
    session_id_ = *inv.resume_session_id;
  } else {
    session_id_ = new_session_id();
    if (!inv.system_prompt.empty())
      add_message("system", inv.system_prompt);
  }
  add_message("user", inv.user_prompt);
  return true;
}

void openai_run::start_timer() {
  if (config_.timeout.count() <= 0)
    return;
  timer_.expires_after(config_.timeout);
  std::weak_ptr<openai_run> weak = shared_from_this();
  timer_.async_wait([weak](const std::error_code& ec) {
    if (auto s = weak.lock(); s && !ec)
      s->on_timeout();
  });
}

void openai_run::cancel() {
  if (finished_)
    return;
  finished_ = true;
  on_done_ = nullptr;
  sink_.clear();
  stop_work();
}

void openai_run::add_message(const char* role, const std::string& content) {
  auto& a = messages_.GetAllocator();
  rapidjson::Value m(rapidjson::kObjectType);
  m.AddMember("role", rapidjson::StringRef(role), a);
  m.AddMember(
      "content",
      rapidjson::Value(content.c_str(), static_cast<rapidjson::SizeType>(content.size()), a), a);
  messages_.PushBack(m, a);
}

std::string openai_run::request_body() const {
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

void openai_run::request() {
  ++turns_;
  request_attempts_ = 0;
  request_body_ = std::make_shared<const std::string>(request_body());
  send_request(std::chrono::milliseconds(0));
}

// One attempt of the current turn's request; retried with backoff on connection errors,
// timeouts and 5xx like any transfer.
void openai_run::send_request(std::chrono::milliseconds delay) {
  engine_.run(
      io_, std::make_unique<chat_attempt>(url_, api_key_, request_body_), request_options(),
      cancel_, delay,
      [self = shared_from_this()](std::unique_ptr<chat_attempt> a, transfer::attempt_result r) {
        self->on_attempt(*a, std::move(r));
      });
}

transfer::transfer_options openai_run::request_options() const {
  return chat_options(config_.openai_max_retries);
}

void openai_run::on_attempt(chat_attempt& a, transfer::attempt_result r) {
  if (finished_)
    return;
  chat_response response = std::move(a.response);
  if (const auto& prepared = a.preparation(); !prepared.ok() && !r.cancelled) {
    r.curl_code = CURLE_FAILED_INIT;
    r.curl_error = prepared.error().message();
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
std::optional<std::chrono::milliseconds> openai_run::retry_delay(const chat_response& r) const {
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

void openai_run::on_response(chat_response r) {
  if (finished_)
    return;
  if (r.attempt.cancelled)
    return; // cancel() or the timeout already reported
  if (auto error = response_error(r))
    return fail(std::move(error), r);
  auto& s = r.stream;
  report_turn(s);
  append_assistant_turn(s);
  if (pending_calls_.empty())
    return succeed(s.content);
  if (auto error = limit_error())
    return fail(std::move(error), r);
  next_call_ = 0;
  run_next_tool();
}

protocol::error openai_run::response_error(const chat_response& r) const {
  if (r.line_too_long)
    return {harness_errc::agent_failed, "openai: the server sent an SSE line longer than 16 MiB"};
  if (r.attempt.http_status >= 400) {
    std::string text = "openai API error (HTTP " + std::to_string(r.attempt.http_status) +
                       "): " + api_error_text(r.error_body) + transfer::attempts_suffix(r.attempts);
    if (r.retry_after && *r.retry_after > max_retry_after)
      text +=
          " (the server asked to retry after " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*r.retry_after).count()) +
          " s)";
    return {harness_errc::agent_failed, std::move(text)};
  }
  if (!r.attempt.transport_ok()) {
    return {harness_errc::agent_failed,
            "openai request to " + util::redact_url_userinfo(url_) +
                " failed: " + transfer::describe_transport_error(r.attempt) +
                transfer::attempts_suffix(r.attempts)};
  }
  if (!r.stream.error.empty())
    return {harness_errc::agent_failed, "openai API error: " + r.stream.error};
  return {};
}

// Token counts, and what the client sees of the turn: reasoning and usage events, the text.
void openai_run::report_turn(const chat_stream& s) {
  if (s.prompt_tokens >= 0)
    json::add_tokens(input_tokens_, s.prompt_tokens);
  if (s.completion_tokens >= 0)
    json::add_tokens(output_tokens_, s.completion_tokens);
  if (sink_.wants_events()) {
    if (!s.reasoning.empty())
      sink_.event("reasoning", protocol::json_builder().add("text", s.reasoning).str());
    if (s.prompt_tokens >= 0 || s.completion_tokens >= 0)
      sink_.event("usage", protocol::json_builder()
                               .add("input_tokens", std::max<std::int64_t>(0, s.prompt_tokens))
                               .add("output_tokens", std::max<std::int64_t>(0, s.completion_tokens))
                               .str());
  }
  if (!s.content.empty())
    sink_.assistant({s.content});
}

// The assistant turn goes into the history exactly as the API expects it back; its named tool
// calls (ids given to those without) become pending_calls_.
void openai_run::append_assistant_turn(chat_stream& s) {
  auto& a = messages_.GetAllocator();
  rapidjson::Value m(rapidjson::kObjectType);
  m.AddMember("role", "assistant", a);
  if (s.content.empty() && !s.tool_calls.empty()) {
    m.AddMember("content", rapidjson::Value(), a);
  } else {
    m.AddMember(
        "content",
        rapidjson::Value(s.content.c_str(), static_cast<rapidjson::SizeType>(s.content.size()), a),
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
}

protocol::error openai_run::limit_error() const {
  if (config_.openai_token_budget > 0 &&
      input_tokens_ + output_tokens_ > config_.openai_token_budget) {
    return {
        harness_errc::limit_reached,
        "openai: token budget of " + std::to_string(config_.openai_token_budget) +
            " tokens used up after " + std::to_string(turns_) + " turns (" +
            std::to_string(input_tokens_ + output_tokens_) + " used) before a final answer (" +
            (budget_from_invocation_ ? "harness_settings.token_budget" : "--openai-token-budget") +
            ")"};
  }
  if (turns_ >= config_.max_turns) {
    return {harness_errc::limit_reached, "openai: turn limit reached (" +
                                             std::to_string(config_.max_turns) +
                                             " turns) before a final answer"};
  }
  return {};
}

void openai_run::run_next_tool() {
  if (finished_)
    return;
  if (next_call_ >= pending_calls_.size())
    return request();
  const auto& tc = pending_calls_[next_call_];
  rapidjson::Document args;
  const bool args_ok =
      json::parse(tc.arguments.empty() ? "{}" : tc.arguments, args) && args.IsObject();
  report_tool_use(tc, args, args_ok);
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
  run_shell(*command);
}

void openai_run::report_tool_use(const chat_tool_call& tc, const rapidjson::Document& args,
                                 bool args_ok) {
  if (!sink_.wants_events())
    return;
  protocol::json_builder w;
  w.add("id", tc.id).add("name", tc.name);
  if (args_ok)
    w.add_raw("input", json::dump(args));
  else
    w.add("input", tc.arguments);
  sink_.event("tool_use", w.str());
}

void openai_run::run_shell(const std::string& command) {
  // Weak: the run owns shell_; a strong capture would keep both alive in a cycle if the
  // io_context stopped before the command was reaped.
  std::weak_ptr<openai_run> weak = shared_from_this();
  auto shell = shell_command::start(io_, reaper_, scope_, command, workdir_, env_,
                                    util::weak_bind(weak, &openai_run::on_shell_exit));
  if (!shell.ok())
    return tool_done("failed to start the command: " + shell.error().code.message(), -1, true);
  shell_ = std::move(shell).value();
}

void openai_run::on_shell_exit(std::string output, int exit_code) {
  shell_.reset();
  if (finished_)
    return;
  tool_done(std::move(output), exit_code, exit_code != 0);
}

void openai_run::tool_done(std::string output, int exit_code, bool is_error) {
  const auto& tc = pending_calls_[next_call_];
  if (sink_.wants_events()) {
    protocol::json_builder w;
    w.add("id", tc.id).add("output", output).add("is_error", is_error);
    if (exit_code >= 0)
      w.add("exit_code", exit_code);
    sink_.event("tool_result", w.str());
  }
  auto& a = messages_.GetAllocator();
  rapidjson::Value m(rapidjson::kObjectType);
  m.AddMember("role", "tool", a);
  m.AddMember("tool_call_id", rapidjson::Value(tc.id.c_str(), a), a);
  m.AddMember("content",
              rapidjson::Value(output.c_str(), static_cast<rapidjson::SizeType>(output.size()), a),
              a);
  messages_.PushBack(m, a);
  ++next_call_;
  // Posted so that a long chain of failing calls cannot recurse.
  asio::post(io_, [self = shared_from_this()] { self->run_next_tool(); });
}

std::string openai_run::metadata() const {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started_);
  return protocol::json_builder()
      .add("harness", openai_harness_name)
      .add("model", model_)
      .add("session_id", session_id_)
      .add("num_turns", turns_)
      .add("duration_ms", static_cast<std::int64_t>(ms.count()))
      .add_raw("usage", protocol::json_builder()
                            .add("input_tokens", input_tokens_)
                            .add("output_tokens", output_tokens_)
                            .str())
      .str();
}

void openai_run::succeed(const std::string& answer) {
  sessions_->put(session_id_, json::dump(messages_));
  finish(final_answer(openai_harness_name, answer, schema_.get(), metadata()));
}

void openai_run::fail(protocol::error error, const chat_response& r) {
  harness_outcome out;
  out.error = std::move(error);
  protocol::json_builder w;
  w.add("harness", openai_harness_name)
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

void openai_run::on_timeout() {
  if (finished_)
    return;
  stop_work();
  const auto secs = static_cast<double>(config_.timeout.count()) / 1000.0;
  std::ostringstream text;
  text << "openai timed out after " << secs << " s";
  fail({protocol::errc::timed_out, text.str()}, chat_response());
}

void openai_run::stop_work() {
  cancel_.cancel();
  timer_.cancel();
  if (shell_)
    shell_->terminate(config_.kill_grace);
}

void openai_run::finish(harness_outcome out) {
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

} // namespace agentrt::runtime::harness

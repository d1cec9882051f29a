// One invocation of the openai loop: request a completion, show its text, run the tool calls it
// asks for (shell_tool.hpp, edit_tool.hpp), send the results back, until the model answers
// without tool calls or a limit (turns, token budget, timeout) ends it. Lives on the
// io_context thread; its requests run on the harness's transfer engine.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "harness/chat_stream.hpp"
#include "harness/event_sink.hpp"
#include "harness/harness.hpp"
#include "harness/json_support.hpp"
#include "harness/openai_http.hpp"
#include "harness/openai_session_store.hpp"
#include "harness/schema_validator.hpp"
#include "harness/shell_tool.hpp"
#include "transfer/transfer_engine.hpp"
#include "util/cancel_token.hpp"

namespace agentrt::runtime::harness {

inline constexpr const char* openai_harness_name = "openai";

class openai_run : public harness_run, public std::enable_shared_from_this<openai_run> {
public:
  openai_run(asio::io_context& io, process::process_reaper& reaper, process::process_scope& scope,
             transfer::transfer_engine& engine, const harness_config& config,
             std::shared_ptr<openai_session_store> sessions, event_sink sink,
             harness::done_handler on_done);

  // Starts the first request; a failure is reported through on_done, posted.
  void begin(const invocation& inv, std::shared_ptr<const output_schema> schema);
  void cancel() override;

private:
  // The conversation so far: a resumed one, or the system prompt; then the user prompt.
  bool open_conversation(const invocation& inv);
  void start_timer();
  void add_message(const char* role, const std::string& content);
  std::string request_body() const;

  // One turn: a request and its retries.
  void request();
  void send_request(std::chrono::milliseconds delay);
  transfer::transfer_options request_options() const;
  void on_attempt(chat_attempt& a, transfer::attempt_result r);
  std::optional<std::chrono::milliseconds> retry_delay(const chat_response& r) const;

  // A turn's answer: an error, or text and tool calls.
  void on_response(chat_response r);
  protocol::error response_error(const chat_response& r) const; // none: the answer is usable
  void report_turn(const chat_stream& s);
  void append_assistant_turn(chat_stream& s);
  protocol::error limit_error() const; // none while turns and tokens remain

  // The tool calls of the last answer, one after another.
  void run_next_tool();
  void report_tool_use(const chat_tool_call& tc, const rapidjson::Document& args, bool args_ok);
  void run_shell(const std::string& command);
  void on_shell_exit(std::string output, int exit_code);
  void tool_done(std::string output, int exit_code, bool is_error);

  std::string metadata() const;
  void succeed(const std::string& answer);
  void fail(protocol::error error, const chat_response& r);
  void on_timeout();
  void stop_work();
  void finish(harness_outcome out);

  asio::io_context& io_;
  process::process_reaper& reaper_;
  process::process_scope& scope_;
  transfer::transfer_engine& engine_;
  harness_config config_;
  bool budget_from_invocation_ = false; // the budget is harness_settings.token_budget
  std::shared_ptr<openai_session_store> sessions_;
  event_sink sink_;
  harness::done_handler on_done_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point started_;
  util::cancel_token cancel_;
  std::shared_ptr<const std::string> request_body_; // the current turn's, shared by its attempts
  int request_attempts_ = 0;
  std::shared_ptr<const output_schema> schema_;
  std::string url_, api_key_, model_, workdir_, session_id_;
  std::map<std::string, std::string> env_;
  rapidjson::Document messages_;
  std::vector<chat_tool_call> pending_calls_;
  std::size_t next_call_ = 0;
  std::shared_ptr<shell_command> shell_;
  int turns_ = 0;
  std::int64_t input_tokens_ = 0;
  std::int64_t output_tokens_ = 0;
  bool finished_ = false;
};

} // namespace agentrt::runtime::harness

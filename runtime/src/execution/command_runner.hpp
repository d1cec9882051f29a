// Runs one protocol Command: /bin/sh -c in its own process group, output through the streaming
// redactor and UTF-8 sanitizer into command_output_message chunks, the tail of stdout kept for
// the result item, and the extension fields timeout_s and stdin.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "agentrt/protocol/messages.hpp"
#include "agentrt/protocol/redactor.hpp"
#include "agentrt/protocol/result.hpp"
#include "execution/output_tail.hpp"
#include "execution/text_stream.hpp"
#include "process/child_process.hpp"

namespace agentrt::runtime::execution {

struct command_limits {
  std::size_t stdout_cap_bytes = 1024 * 1024;
  std::chrono::milliseconds kill_grace{5000};
  std::chrono::milliseconds drain_idle{200};
};

struct command_outcome {
  protocol::command_result result; // command text unredacted; stdout already redacted
  process::exit_status status;
  bool timed_out = false;
};

class command_runner : public std::enable_shared_from_this<command_runner> {
public:
  using output_handler = std::function<void(protocol::command_output_message&&)>;
  using done_handler = std::function<void(command_outcome&&)>;

  // Starts the command. On a spawn failure nothing is called back and the error is the
  // spawn's code with a description (which cwd, which errno). The caller owns the runner:
  // destroying it drops the handlers and SIGKILLs the command's process group if it has not
  // exited.
  static protocol::result<std::shared_ptr<command_runner>>
  start(asio::io_context& io, process::process_reaper& reaper, process::process_scope& scope,
        const protocol::command& cmd, std::shared_ptr<const protocol::redactor> redactor,
        const command_limits& limits, output_handler on_output, done_handler on_done);

  void pause_output();
  void resume_output();
  // From now on output is read and thrown away unprocessed (a cancelled request: its pipes
  // must still be drained, cheaply). The result still comes.
  void discard_output() noexcept { discard_ = true; }
  // Kills the command's process group (SIGTERM, SIGKILL after the grace period).
  void terminate();

  ~command_runner();
  command_runner(const command_runner&) = delete;
  command_runner& operator=(const command_runner&) = delete;

private:
  struct stream_pipeline {
    explicit stream_pipeline(const protocol::redactor& r) : filter(r) {}
    text_stream filter;
    std::string text; // the next message's text
  };

  command_runner(asio::io_context& io, const protocol::command& cmd,
                 std::shared_ptr<const protocol::redactor> redactor, const command_limits& limits,
                 output_handler on_output, done_handler on_done);
  void on_output(process::output_stream stream, std::string_view chunk);
  void on_exit(process::exit_status status);
  void on_timeout(const std::error_code& ec);
  void emit(process::output_stream stream, std::string& text);

  std::string command_;
  // Owned here because output can still arrive after the request that started us is gone.
  std::shared_ptr<const protocol::redactor> redactor_;
  command_limits limits_;
  output_handler on_output_;
  done_handler on_done_;
  std::shared_ptr<process::child_process> child_;
  asio::steady_timer timeout_timer_;
  stream_pipeline stdout_;
  stream_pipeline stderr_;
  output_tail stdout_tail_;
  bool timed_out_ = false;
  bool terminated_ = false;   // terminate(): the request is cancelled or abandoned
  bool exit_counted_ = false; // in /metrics' agentrt_command_exits_total
  bool discard_ = false;
};

} // namespace agentrt::runtime::execution

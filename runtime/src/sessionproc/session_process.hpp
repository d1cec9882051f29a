// One session process (docs/processes.md): a /bin/sh -c command in its own process scope, on
// pipes or a pseudo-terminal, its output redacted and streamed as process_output_message, its
// stdin fed within a window and acknowledged, optional readiness and timeout, and its exit
// status kept until the session collects it. Everything runs on the runtime's io thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "agentrt/protocol/messages.hpp"
#include "agentrt/protocol/redactor.hpp"
#include "agentrt/protocol/result.hpp"
#include "execution/text_stream.hpp"
#include "process/child_process.hpp"
#include "process/process_reaper.hpp"
#include "process/process_scope.hpp"
#include "sessionproc/readiness_check.hpp"

namespace agentrt::runtime::sessionproc {

struct process_settings {
  std::chrono::milliseconds kill_grace{5000};
  std::chrono::milliseconds drain_idle{200};
  std::size_t stdin_window = 1024 * 1024;
};

class session_process : public std::enable_shared_from_this<session_process> {
public:
  // Messages for the client (output, readiness, stdin acks), in order.
  using send_handler = std::function<void(protocol::message)>;
  // Called once: the process has exited and all its output has been handed to send.
  using exit_handler = std::function<void(const std::string& id)>;

  // Starts m's command. On failure nothing is called back and the error is the spawn's (a
  // system error: the cwd, exec, out of processes).
  static protocol::result<std::shared_ptr<session_process>>
  start(asio::io_context& io, process::process_reaper& reaper, std::string id,
        const protocol::process_start_message& m, const process_settings& settings,
        send_handler send, exit_handler on_exit);

  ~session_process();
  session_process(const session_process&) = delete;
  session_process& operator=(const session_process&) = delete;

  const std::string& id() const noexcept { return id_; }
  bool exited() const noexcept { return status_.has_value(); }
  std::uint64_t stdin_window() const noexcept;
  protocol::process_info info() const;
  // Once exited().
  protocol::process_exit_message exit_message(std::optional<std::string> ref) const;

  // process_errc on refusal (see docs/processes.md for what each means here).
  std::error_code write_stdin(std::string_view data, bool eof);
  std::error_code send_signal(int sig);
  std::error_code resize(int cols, int rows);

  // The send bound (the session's): stop and restart reading the process's output.
  void pause_output();
  void resume_output();

  // Kills the process's whole tree: SIGTERM, SIGKILL after grace; on_done once none of it is
  // alive. No output is sent after this.
  void terminate(std::chrono::milliseconds grace, std::function<void()> on_done);
  // SIGKILL to the whole tree now (the runtime exiting past its deadline).
  void kill_now();
  // Nothing of the process's tree is alive.
  bool gone() const;

private:
  session_process(asio::io_context& io, process::process_reaper& reaper, std::string id,
                  const protocol::process_start_message& m, const process_settings& settings,
                  send_handler send, exit_handler on_exit);
  void on_output(process::output_stream stream, std::string_view chunk);
  void on_stdin_progress(std::uint64_t written, bool closed);
  void on_exit(process::exit_status status);
  void on_ready(const protocol::result<void>& readiness);
  void arm_timeout(double seconds);
  void emit(const char* stream, std::string data);

  asio::io_context& io_;
  process::process_reaper& reaper_;
  std::string id_;
  std::string command_;
  std::shared_ptr<const protocol::redactor> redactor_;
  bool pty_ = false;
  bool stdin_open_ = false;
  process_settings settings_;
  send_handler send_;
  exit_handler on_exit_;
  std::shared_ptr<process::process_scope> scope_;
  std::shared_ptr<process::child_process> child_;
  execution::text_stream stdout_;
  execution::text_stream stderr_;
  protocol::stream_redactor terminal_;
  std::shared_ptr<readiness_check> readiness_;
  std::optional<bool> ready_;
  std::chrono::steady_clock::time_point started_;
  asio::steady_timer timeout_timer_;
  bool timed_out_ = false;
  bool terminating_ = false;
  std::optional<process::exit_status> status_;
  pid_t pid_ = 0;
  // stdin: accepted_ bytes were handed to the child, acked_ of them reported written.
  std::uint64_t accepted_ = 0;
  std::uint64_t acked_ = 0;
  bool stdin_closed_ = false; // nothing more is accepted
  bool closed_acked_ = false; // the client was told
};

} // namespace agentrt::runtime::sessionproc

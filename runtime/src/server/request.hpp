// What every request of a session has in common (command_request, invocation_request): its
// secrets and process scope, fetching downloadables and registering artifact directories, running
// a list of commands, heartbeats, and how it ends — a terminal once nothing it started is left
// alive, or no terminal at all when its connection is gone.
//
// A request never touches the connection. It hands messages to its host (the session), which
// redacts them with the request's redactor and sends them, and asks the request to pause its
// output while the client is not reading (the send bound, send_flow.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/steady_timer.hpp>

#include "agentrt/protocol/messages.hpp"
#include "agentrt/protocol/redactor.hpp"
#include "agentrt/protocol/result.hpp"
#include "execution/command_runner.hpp"
#include "execution/downloadables_runner.hpp"
#include "metrics/runtime_metrics.hpp"
#include "process/process_scope.hpp"
#include "server/server_state.hpp"

namespace agentrt::runtime::server {

// What a request needs from the session that runs it. Called on the io thread only.
class request_host {
public:
  // Sends a message of the request (redacted with the request's secrets by the host).
  virtual void send_for_request(protocol::message m) = 0;
  // Registers artifact directories for the rest of the session; the error names the directory.
  // announce_existing: also the files already in a directory registered for the first time.
  virtual protocol::result<void> add_artifact_dirs(const std::vector<std::string>& dirs,
                                                   const std::optional<std::string>& ignore_content,
                                                   bool announce_existing, bool upload_results) = 0;
  // The request is over: terminal is its last message (nullopt when it was abandoned).
  virtual void request_done(std::uint64_t request_id,
                            std::optional<protocol::message> terminal) = 0;

protected:
  ~request_host() = default;
};

class request : public std::enable_shared_from_this<request> {
public:
  enum class state {
    preparing,  // downloadables being fetched
    running,    // commands or the harness
    finishing,  // the terminal is known; killing what the request left running
    cancelling, // cancel_message or a lost connection: killing everything, then done
    done,
  };

  struct params {
    std::uint64_t id = 0;
    std::optional<std::string> source_id;
    std::vector<std::string> secrets;
    std::vector<std::string> client_capabilities;
    std::vector<std::string> artifacts_dirs;
    std::optional<std::string> artifacts_ignore_content;
    bool announce_existing_artifacts = true; // runtimeuse's initial scan, unless turned off
    std::vector<protocol::downloadable> downloadables;
  };

  request(server_state& state, request_host& host, params p);
  virtual ~request();
  request(const request&) = delete;
  request& operator=(const request&) = delete;

  // Registers artifact dirs and fetches downloadables, then runs the request's body.
  void start();
  // cancel_message: kills everything, then the terminal "Request cancelled". No-op once the
  // request is finishing or already cancelling.
  void cancel();
  // The connection is gone (or the runtime is shutting down): kills everything within grace and
  // ends without a terminal. Repeating it with a shorter grace hurries it along.
  void abandon(std::chrono::milliseconds grace);
  // SIGKILL to everything now (the runtime exiting past its shutdown deadline).
  void kill_now();

  // The send bound: stop / start reading the producer of output (the command's pipes, the
  // harness's stdout). Remembered before start() (producers then start paused); a no-op once
  // the request's output is no longer wanted (a killed producer drains its pipes itself).
  void pause_output();
  void resume_output();

  std::uint64_t id() const noexcept { return id_; }
  state current_state() const noexcept { return state_; }
  const std::string& source_id() const noexcept { return source_id_; }
  const std::shared_ptr<const protocol::redactor>& redactor() const noexcept { return redactor_; }
  bool has_capability(const char* name) const;
  // Whether output of this request is still wanted (not cancelling, finishing or done).
  bool live() const noexcept { return state_ == state::preparing || state_ == state::running; }

  // Log lines of the request: its source_id, its secrets redacted.
  void log_info(const std::string& text) const;
  void log_warn(const std::string& text) const;

protected:
  // The request's own work, once downloadables are in place.
  virtual void run() = 0;
  // For /metrics.
  virtual metrics::request_kind kind() const noexcept = 0;
  // The harness run, for pause/cancel; empty for a command request.
  virtual void on_abort() {}
  virtual void on_pause_output() {}
  virtual void on_resume_output() {}

  // Runs commands in order. then(results) is called when all succeeded, or — without a phase
  // (command_execution_message) — when the first non-zero exit stopped the rest (its result is
  // the last one). A command that cannot be started, or a non-zero exit in a phase (an
  // invocation's pre/post commands), finishes the request with an error_message instead.
  void run_commands(std::vector<protocol::command> commands, std::string phase,
                    std::function<void(std::vector<protocol::command_result>)> then);

  // Kills whatever the request left running, then hands the terminal to the host.
  void finish(protocol::message terminal);
  void send(protocol::message m) { host_.send_for_request(std::move(m)); }
  // A callback's guard: the request, if it still exists and its output is still wanted.
  std::function<std::shared_ptr<request>()> live_guard();

  server_state& server_;
  request_host& host_;

private:
  struct command_list {
    std::vector<protocol::command> commands;
    std::size_t next = 0;
    std::string phase; // empty for command_execution_message's commands
    std::vector<protocol::command_result> results;
    std::function<void(std::vector<protocol::command_result>)> then;
  };

  void on_downloads_done(std::optional<execution::downloadables_failure> failure);
  void run_next_command();
  void on_command_output(protocol::command_output_message&& m);
  void on_command_done(execution::command_outcome&& outcome);
  void end(std::optional<protocol::message> terminal);
  void stop_producers();
  void arm_heartbeat();
  void on_heartbeat(const std::error_code& ec);

  std::uint64_t id_;
  std::string source_id_;
  std::shared_ptr<const protocol::redactor> redactor_;
  std::vector<std::string> capabilities_;
  std::vector<std::string> artifacts_dirs_;
  std::optional<std::string> artifacts_ignore_content_;
  bool announce_existing_artifacts_;
  std::vector<protocol::downloadable> downloadables_;
  std::shared_ptr<process::process_scope> scope_;
  std::shared_ptr<execution::downloadables_runner> downloads_;
  std::shared_ptr<execution::command_runner> runner_;
  command_list commands_;
  std::chrono::steady_clock::time_point started_;
  state state_ = state::preparing;
  bool output_paused_ = false;
  asio::steady_timer heartbeat_timer_;

protected:
  process::process_scope& scope() { return *scope_; }
  bool output_paused() const noexcept { return output_paused_; }
  std::chrono::steady_clock::time_point started() const noexcept { return started_; }
};

} // namespace agentrt::runtime::server

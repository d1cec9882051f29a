// The openai loop's `shell` tool: its definition for the API, and one run of it — /bin/sh -c
// in the request's process scope, like a protocol command — whose combined output is kept as a
// bounded tail (the end of a long output, errors and summaries, is what the model needs).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <asio/io_context.hpp>

#include "agentrt/protocol/result.hpp"
#include "process/child_process.hpp"
#include "process/process_reaper.hpp"
#include "process/process_scope.hpp"

namespace agentrt::runtime::harness {

// The tool's entry in a chat request's "tools" array (JSON text).
const char* shell_tool_json();

class shell_command : public std::enable_shared_from_this<shell_command> {
public:
  // output: the tail of stdout and stderr, a note of how many bytes were dropped before it, and
  // "[exit code N]". Called once, on the io_context thread, unless the shell_command is
  // destroyed first (which kills the command).
  using done_handler = std::function<void(std::string output, int exit_code)>;

  // Starts command; the spawn's error when it could not be started (on_done is then never
  // called). reaper and scope must outlive the shell_command.
  static protocol::result<std::shared_ptr<shell_command>>
  start(asio::io_context& io, process::process_reaper& reaper, process::process_scope& scope,
        const std::string& command, const std::string& cwd,
        const std::map<std::string, std::string>& env, done_handler on_done);

  // SIGTERM, then SIGKILL after grace; on_done still follows the exit.
  void terminate(std::chrono::milliseconds grace);

  explicit shell_command(done_handler on_done) : on_done_(std::move(on_done)) {}

private:
  void on_output(std::string_view chunk);
  void on_exit(process::exit_status st);
  void drop_head(); // keeps the last max_tool_output bytes

  done_handler on_done_;
  std::shared_ptr<process::child_process> child_;
  std::string tail_;
  std::size_t dropped_ = 0;
};

} // namespace agentrt::runtime::harness

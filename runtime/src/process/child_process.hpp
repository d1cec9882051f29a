// One child process started with /bin/sh -c (or an argv), its own process group, non-blocking
// output pipes read on the io_context through fixed-size buffers, and an exit report.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <asio/io_context.hpp>

#include "process/process_reaper.hpp"
#include "process/process_scope.hpp"

namespace agentrt::runtime::process {

enum class output_stream { stdout_stream, stderr_stream };

struct spawn_options {
  std::vector<std::string> argv;             // e.g. {"/bin/sh", "-c", "echo hi"}
  std::string cwd;                           // empty = runtime's cwd; created if missing
  std::map<std::string, std::string> env;    // merged over the runtime's environment
  std::optional<std::string> stdin_data;     // fed then closed; absent = /dev/null
  std::size_t read_buffer_bytes = 64 * 1024; // per pipe
  // After the main process exits, pipes still held open by a background process are read
  // until they stay silent this long, then closed so the command can finish.
  std::chrono::milliseconds drain_idle{200};
};

class child_process : public std::enable_shared_from_this<child_process> {
public:
  // Receives output chunks in order per stream; the view is valid only during the call.
  using output_handler = std::function<void(output_stream, std::string_view)>;
  // Called once, after the process has exited and its output has been delivered.
  using exit_handler = std::function<void(exit_status)>;

  // Starts the process. On failure (cwd not creatable, exec failure such as a missing
  // binary) returns a null pointer and the error; no handler is ever called then.
  // An argv[0] without '/' is looked up in the runtime's PATH (posix_spawnp), not in
  // options.env. reaper and scope must outlive the child_process.
  static std::pair<std::shared_ptr<child_process>, std::error_code>
  spawn(asio::io_context& io, process_reaper& reaper, process_scope& scope,
        const spawn_options& options, output_handler on_output, exit_handler on_exit);

  // A process that has not exited yet is killed (SIGKILL to its group); no handler is called
  // afterwards. Background processes left by an exited one are process_scope's business.
  ~child_process();

  pid_t pid() const noexcept;

  // Backpressure: stop / restart reading the pipes (the child blocks once the pipe fills).
  // A read already in flight when pause_output() is called may still deliver one more chunk
  // per stream. While paused, the drain_idle clock does not run.
  void pause_output();
  void resume_output();
  bool output_paused() const noexcept;

  // SIGTERM to the process group now, SIGKILL after grace if it is still alive. The exit
  // handler still runs once the process is reaped.
  void terminate(std::chrono::milliseconds grace);

private:
  child_process() = default;
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace agentrt::runtime::process

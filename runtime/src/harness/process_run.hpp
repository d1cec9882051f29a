// One harness run as a child process whose stdout is JSON lines: spawning through
// child_process (own process group, in the request's scope), bounded line splitting, the
// stderr tail for error messages, the harness timeout, and cancel. What the lines mean is the
// adapter's event_parser; everything else about the process is shared here.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "harness/event_sink.hpp"
#include "harness/harness.hpp"
#include "harness/line_splitter.hpp"
#include "process/child_process.hpp"

namespace agentrt::runtime::harness {

// How the process ended, for the parser's verdict.
struct process_end {
  process::exit_status status;
  std::string stderr_tail;       // the last lines of stderr, at most a few KiB
  std::size_t ignored_lines = 0; // stdout lines that were not events
};

// An adapter's understanding of one CLI's event stream. Fed line by line, then asked for the
// outcome; pure (no I/O) so that recorded streams can be replayed in unit tests.
class event_parser {
public:
  virtual ~event_parser() = default;
  // One stdout line without its newline. False when the line is not an event of this harness
  // (it is then logged and ignored).
  virtual bool on_line(std::string_view line) = 0;
  virtual harness_outcome finish(const process_end& end) = 0;
};

struct process_run_options {
  std::string harness_name; // "claude", "handler", ...: the subject of error messages
  process::spawn_options spawn;
  std::chrono::milliseconds timeout{0};
  std::chrono::milliseconds kill_grace{5000};
  std::size_t max_line_bytes = default_max_line_bytes;
  // Whatever the process needs on disk (a run_dir): released with the run. Its owner keeps
  // the run until the process has exited — also after a cancel, when the CLI may still be
  // reading it (the session holds it until the request's scope is terminated).
  std::shared_ptr<const void> keep_alive;
};

// What every process-based adapter starts from: its name, the working directory, the
// invocation's environment, and the configured timeout and kill grace; the adapter adds argv.
process_run_options base_process_options(const std::string& harness_name,
                                         const harness_config& config, const invocation& inv);

// what (with no text: "claude exited with status 1" / "... was killed by signal 9"; with no
// code: harness_errc::agent_exited), then ": " and the last stderr lines when there are any;
// metadata names the harness, exit code, signal and stderr tail.
harness_outcome process_failure(const std::string& harness_name, const process_end& end,
                                protocol::error what = {});

class process_run : public harness_run, public std::enable_shared_from_this<process_run> {
public:
  // Never fails synchronously: a spawn failure is reported through on_done, posted on io.
  static std::shared_ptr<process_run> start(asio::io_context& io, process::process_reaper& reaper,
                                            process::process_scope& scope,
                                            process_run_options options,
                                            std::unique_ptr<event_parser> parser, event_sink sink,
                                            harness::done_handler on_done);
  void cancel() override;
  // Stop / restart reading the process's stdout and stderr (child_process::pause_output).
  void pause_output() override;
  void resume_output() override;

private:
  process_run(asio::io_context& io, process_run_options options,
              std::unique_ptr<event_parser> parser, event_sink sink, harness::done_handler on_done);
  void on_output(process::output_stream stream, std::string_view chunk);
  void on_stdout_line(std::string_view line);
  void on_stderr(std::string_view chunk, bool final);
  void on_exit(process::exit_status status);
  void on_timeout(const std::error_code& ec);
  void finish(harness_outcome outcome);

  process_run_options options_;
  std::unique_ptr<event_parser> parser_;
  event_sink sink_;
  harness::done_handler on_done_;
  std::shared_ptr<process::child_process> child_;
  asio::steady_timer timer_;
  line_splitter stdout_lines_;
  std::string stderr_partial_;
  std::deque<std::string> stderr_tail_;
  std::size_t stderr_tail_bytes_ = 0;
  std::size_t ignored_lines_ = 0;
  bool timed_out_ = false;
  bool overflowed_ = false;
  bool cancelled_ = false;
};

} // namespace agentrt::runtime::harness

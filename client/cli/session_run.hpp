// The parts of a run that exec, query and attach share: the connection (with --wait-ready),
// the output callbacks, how a request's error is reported, and the end of the session (bounded:
// never the runtime's whole drain for an upload this client declined), the artifacts' outcomes
// and --summary-json.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "agentrt/client/async_session.hpp"
#include "agentrt/client/io_loop.hpp"
#include "artifacts.hpp"
#include "options.hpp"
#include "output.hpp"
#include "run_control.hpp"
#include "summary.hpp"

namespace agentrt::cli {

std::chrono::milliseconds to_ms(double seconds);

client::connect_options connect_options_for(const cli_options& o);

// Connects; with --wait-ready S, connection failures are retried until S seconds passed (an
// authentication refusal or a signal ends the wait at once).
std::pair<std::shared_ptr<client::async_session>, client::client_error>
connect_session(client::io_loop& loop, const cli_options& o, const run_control& control);

// Command output to stdout/stderr (or JSON lines), heartbeats as JSON lines; output restarts
// the idle clock.
void set_output_callbacks(client::request_callbacks& callbacks, const cli_options& o,
                          run_control& control);

// --dead-after S: the library's idle timeout, which counts every frame (heartbeats too); the
// cancel that follows waits at most S for the runtime's answer.
void set_dead_after(client::request_limits& limits, const cli_options& o);

// A request's error as reported: a cancel by the idle clock is an idle timeout (124), and
// `running` (when not empty) names the command that was running.
cli_error request_error(const client::client_error& e, const run_control& control,
                        const std::string& running = "");

// Ends the session (when `handshake`: the end-session handshake, given up once only uploads
// this client declined are left), settles and reports the artifacts, writes --summary-json.
// Returns the exit status: `status`, or the first failure of these steps when status is 0.
int finish_run(std::shared_ptr<client::async_session>& session, bool handshake, artifacts* arts,
               const cli_options& o, run_control& control, int status, run_summary& summary);

// One run of exec, query or attach: its artifacts, signal/idle control, I/O loop and session,
// in the order they must be made (signals are blocked before the loop's thread starts) and
// destroyed (the session before its loop).
struct cli_run {
  cli_run(const cli_options& options, const std::string& mode);

  // When the artifacts could not be set up (--upload-to), reports it and returns exit_usage.
  std::optional<int> check_setup() const;
  // Checks the artifacts' set-up and connects: nullopt when the session is open, else the exit
  // status (reported, --summary-json written).
  std::optional<int> open();
  // Reports a request's error (a runtime error as the runtime's own message with --json),
  // records it in the summary and returns its exit status.
  int fail(const client::client_error& e, const std::string& running = "");
  // finish_run with this run's parts.
  int finish(bool handshake, int status);

  const cli_options& o;
  run_summary summary;
  protocol::result<artifacts> arts; // open() and finish() only once it is ok()
  run_control control;
  client::io_loop loop;
  std::shared_ptr<client::async_session> session;
};

} // namespace agentrt::cli

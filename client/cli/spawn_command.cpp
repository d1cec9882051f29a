// agentrt-client spawn: start a background process on a new durable session, wait until it is
// ready when asked to (not ready: kill it, exit 1), print the session's handle with the
// process id, and detach: the process keeps running for the runtime's detached window, and
// ps, kill and wait reach it through the handle.
#include <future>

#include "session_handle_text.hpp"
#include "session_run.hpp"
#include "subcommands.hpp"

namespace agentrt::cli {

namespace ac = agentrt::client;
using namespace std::chrono_literals;

namespace {

// Waits for f, giving up when the user interrupts (SIGINT/SIGTERM).
template <typename T> std::optional<T> wait_interruptible(std::future<T>& f, run_control& c) {
  while (f.wait_for(50ms) != std::future_status::ready)
    if (c.interrupted())
      return std::nullopt;
  return f.get();
}

// Refuses a runtime without a part spawn needs (`what`), ending the session; the exit status.
int refuse(ac::async_session& s, const cli_options& o, const std::string& what, ac::errc code) {
  report(cli_error{ac::errc_name(code),
                   "spawn needs a runtime with " + what + "; " + o.url +
                       " did not offer them (nothing was started)",
                   "{}", exit_connection},
         o.json);
  s.end().wait_for(10s);
  return exit_connection;
}

ac::process_options process_options_for(const cli_options& o) {
  ac::process_options po;
  po.command = o.commands.front();
  po.cwd = o.cwd;
  if (!o.env.empty())
    po.env = o.env;
  po.secrets_to_redact = o.secrets;
  po.timeout_s = o.command_timeout_s;
  if (o.ready_port || o.ready_probe) {
    po.ready.emplace();
    po.ready->tcp_port = o.ready_port;
    po.ready->probe = o.ready_probe;
    if (o.ready_timeout_s)
      po.ready->timeout_s = *o.ready_timeout_s;
  }
  return po;
}

// Waits until the process is ready. When it does not become ready (or the user interrupts),
// kills it, ends the session, reports why and returns the exit status.
std::optional<int> await_ready(ac::async_session& s, ac::process_handle& p,
                               const ac::process_options& po, const cli_options& o,
                               run_control& control) {
  auto f = std::async(std::launch::async, [p = p] { return p.wait_ready(); });
  auto outcome = wait_interruptible(f, control);
  std::string why;
  if (!outcome)
    why = "interrupted";
  else if (outcome->second)
    why = outcome->second.message;
  else if (!outcome->first.ready)
    why = outcome->first.error;
  if (why.empty())
    return std::nullopt;
  // Not ready: nothing should keep running. Ending the session kills it (whole tree).
  p.async_kill(nullptr);
  s.end().wait_for(10s);
  report(cli_error{"not_ready",
                   "process " + p.process_id() + " (" + po.command +
                       ") did not become ready: " + why + "; it was killed",
                   "{}", outcome ? 1 : exit_cancelled},
         o.json);
  return outcome ? 1 : exit_cancelled;
}

// The session's handle with the process's id and pid: a JSON line, or shell assignments (and
// the JSON line as a comment).
void print_handle(const ac::session_handle& handle, const ac::process_handle& p,
                  const cli_options& o) {
  std::string json = handle_json(handle);
  json.insert(json.size() - 1, ",\"process_id\":" + json_string(p.process_id()) +
                                   ",\"pid\":" + std::to_string(p.pid()));
  if (o.json)
    print(stdout, json + "\n");
  else
    print(stdout, handle_shell(handle) + " AGENTRT_PROCESS=" + shell_quote(p.process_id()) +
                      "\n# " + json + "\n");
}

} // namespace

int run_spawn(const cli_options& o) {
  run_control control(std::nullopt); // before the loop: its thread inherits the signal mask
  ac::io_loop loop;
  auto [s, connect_error] = connect_session(loop, o, control);
  if (!s)
    return report_failure(connect_error, o.json);
  if (!s->durable())
    return refuse(*s, o, "durable sessions", ac::errc::not_durable);
  if (!s->supports_processes())
    return refuse(*s, o, "session processes", ac::errc::not_supported);

  const ac::process_options po = process_options_for(o);
  auto [p, start_error] = s->start_process(po).get();
  if (start_error) {
    report(start_error, o.json);
    s->end().wait_for(10s);
    return from_client_error(start_error).exit_code;
  }
  if (po.ready)
    if (auto status = await_ready(*s, p, po, o, control))
      return *status;
  auto [handle, detach_error] = s->detach().get();
  if (detach_error)
    return report_failure(detach_error, o.json);
  // The process's output so far is not shown here; ps, kill and wait skip it too.
  print_handle(handle, p, o);
  return 0;
}

} // namespace agentrt::cli

// exec/query --detach: send the request and detach at once (the two go out back to back, so
// nothing of the request is acknowledged: attaching with last_seq 0 gets all of it), then print
// the handle.
#include <iostream>

#include "output.hpp"
#include "session_handle_text.hpp"
#include "session_run.hpp"
#include "subcommands.hpp"

namespace agentrt::cli {

namespace ac = agentrt::client;

int run_detached(const cli_options& o, const request_starter& start) {
  run_control control(std::nullopt); // before the loop: its thread inherits the signal mask
  ac::io_loop loop;
  auto [s, connect_error] = connect_session(loop, o, control);
  if (!s)
    return report_failure(connect_error, o.json);
  if (!s->durable()) {
    report(cli_error{ac::errc_name(ac::errc::not_durable),
                     "--detach needs a runtime with durable sessions; " + o.url +
                         " did not make the session durable (nothing was sent)",
                     "{}", exit_connection},
           o.json);
    return exit_connection;
  }
  std::future<ac::client_error> request = start(*s);
  auto [handle, detach_error] = s->detach().get();
  const ac::client_error request_error = request.get();
  if (detach_error)
    return report_failure(detach_error, o.json);
  // The request may have been refused before it started (e.g. busy): then there is nothing to
  // attach to.
  if (request_error && request_error.code != ac::errc::detached)
    return report_failure(request_error, o.json);
  handle.last_seq = 0; // nothing of the request was printed here
  if (o.json)
    print(stdout, handle_json(handle) + "\n");
  else
    print(stdout, handle_shell(handle) + "\n# " + handle_json(handle) + "\n");
  return 0;
}

} // namespace agentrt::cli

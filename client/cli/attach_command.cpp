// agentrt-client attach [HANDLE]: resume a detached session from its start, stream the rest of
// its request, answer its uploads, and exit as exec/query would have.
#include "session_handle_text.hpp"
#include "session_run.hpp"
#include "subcommands.hpp"

namespace agentrt::cli {

namespace ac = agentrt::client;

int run_attach(const cli_options& o) {
  const auto handle = handle_from(o.handle_text);
  if (!handle.ok()) {
    print(stderr, "agentrt-client: " + handle.error().message() +
                      "\nRun 'agentrt-client attach --help' for the "
                      "options.\n");
    return exit_usage;
  }
  cli_run run(o, "attach");
  if (auto status = run.check_setup())
    return *status;
  auto& control = run.control;
  auto& summary = run.summary;
  ac::attach_options callbacks;
  set_output_callbacks(callbacks, o, control);
  set_agent_callbacks(callbacks.on_assistant_message, callbacks.on_agent_event, o, control);
  // The request's artifact directories were registered by whoever sent it: any upload
  // announcement is answered when there is a way to.
  run.arts->attach(callbacks);
  if (o.timeout_s)
    callbacks.timeout = to_ms(*o.timeout_s);
  set_dead_after(callbacks, o);
  std::promise<std::pair<std::shared_ptr<ac::async_session>, ac::client_error>> attached;
  std::promise<std::pair<ac::attach_result, ac::client_error>> done;
  control.begin_request();
  ac::async_session::attach(
      run.loop, connect_options_for(o), handle.value(), callbacks,
      [&](std::shared_ptr<ac::async_session> s, ac::client_error e) {
        attached.set_value({std::move(s), std::move(e)});
      },
      [&](ac::attach_result r, ac::client_error e) {
        done.set_value({std::move(r), e});
      });
  auto [session, attach_error] = attached.get_future().get();
  run.session = session;
  if (session)
    control.watch(session);
  auto [result, e] = done.get_future().get();
  control.end_request();
  if (!session)
    return run.finish(false, run.fail(attach_error));
  int status = 0;
  if (e) {
    status = run.fail(e);
  } else if (result.type == ac::attach_result::kind::execute) {
    if (o.json) {
      protocol::command_execution_result_message m;
      m.results = result.execute.results;
      emit(m);
    }
    for (const auto& r : result.execute.results) {
      summary.commands.push_back({r.command, r.exit_code, 0});
      if (r.exit_code != 0 && !o.json)
        print(stderr, "agentrt-client: command failed with exit code " +
                          std::to_string(r.exit_code) + ": " + r.command + "\n");
    }
    const int code = result.execute.failed_exit_code();
    status = code == 0 ? 0 : (code > 0 && code < 256 ? code : 1);
  } else if (result.type == ac::attach_result::kind::query) {
    print_query_result(result.query, o.json);
  } else {
    print(stderr,
          "agentrt-client: no request was in flight in session " + handle->session_id + "\n");
  }
  return run.finish(!e || e.code == ac::errc::runtime_error, status);
}

} // namespace agentrt::cli

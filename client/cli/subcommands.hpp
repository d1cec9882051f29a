// The subcommands, one file each: exec_command.cpp, query_command.cpp, attach_command.cpp,
// detach.cpp for exec/query --detach, exec_tty.cpp for exec --tty, spawn_command.cpp and
// process_commands.cpp (ps, kill, wait). Each returns the process's exit status.
#pragma once

#include <functional>
#include <future>

#include "agentrt/client/async_session.hpp"
#include "options.hpp"
#include "run_control.hpp"

namespace agentrt::cli {

int run_exec(const cli_options& o);
int run_query(const cli_options& o);
int run_attach(const cli_options& o);
int run_exec_tty(const cli_options& o);
int run_spawn(const cli_options& o);
int run_process_command(const cli_options& o); // ps, kill, wait

// exec/query --detach: `start` sends the request on the new session; then detach at once and
// print the handle.
using request_starter = std::function<std::future<client::client_error>(client::async_session&)>;
int run_detached(const cli_options& o, const request_starter& start);

// Shared by query and attach (query_command.cpp): assistant messages to stderr (or JSON lines;
// agent events too), restarting the idle clock; the result to stdout.
void set_agent_callbacks(std::function<void(const protocol::assistant_message&)>& on_assistant,
                         std::function<void(const protocol::agent_event_message&)>& on_event,
                         const cli_options& o, run_control& control);
void print_query_result(const client::query_result& result, bool json);

} // namespace agentrt::cli

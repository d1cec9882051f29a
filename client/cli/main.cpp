// agentrt-client: run commands or a query in an agentrt (or runtimeuse) runtime from a shell or
// a CI job. Output streams as it arrives; the exit code tells the outcomes apart (see --help).
#include "files_cli.hpp"
#include "options.hpp"
#include "subcommands.hpp"

int main(int argc, char** argv) {
  // put, get, ls, rm, mkdir: the files API, with a command line of their own.
  if (auto rc = agentrt::cli::run_files_subcommand(argc, argv))
    return *rc;
  agentrt::cli::cli_options o;
  if (auto rc = agentrt::cli::parse_options(argc, argv, o))
    return *rc;
  if (o.mode == "exec")
    return agentrt::cli::run_exec(o);
  if (o.mode == "query")
    return agentrt::cli::run_query(o);
  if (o.mode == "spawn")
    return agentrt::cli::run_spawn(o);
  if (o.mode == "ps" || o.mode == "kill" || o.mode == "wait")
    return agentrt::cli::run_process_command(o);
  return agentrt::cli::run_attach(o);
}

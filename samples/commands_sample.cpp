// Sample: run shell commands in a runtime through agentrt::client and stream their output.
//
//   commands_sample URL [--token T] [-- COMMAND...]
//
// Exit status: 0 when every command succeeded, the failing command's exit code otherwise,
// 2 when the connection fails, 1 for any other error.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "agentrt/client/client.hpp"
#include "support/sample_util.hpp"

namespace {

int usage(const char* argv0, std::ostream& out = std::cerr, int code = 2) {
  out << "usage: " << argv0 << " URL [--token T] [-- COMMAND...]\n"
      << "(the token also from AGENTRT_TOKEN)\nagentrt client " << agentrt::client::version()
      << "\n";
  return code;
}

} // namespace

int main(int argc, char** argv) {
  if (agentrt::samples::print_version_if_asked(argc, argv, "commands_sample"))
    return 0;
  if (agentrt::samples::help_asked(argc, argv))
    return usage(argv[0], std::cout, 0);
  namespace client = agentrt::client;
  using agentrt::samples::print_error;

  client::connect_options connect;
  connect.token = agentrt::samples::env_token();
  std::vector<agentrt::protocol::command> commands;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) {
        agentrt::protocol::command c;
        c.command = argv[i];
        commands.push_back(std::move(c));
      }
    } else if (arg == "--token" && i + 1 < argc) {
      connect.token = argv[++i];
    } else if (connect.url.empty() && arg.rfind("-", 0) != 0) {
      connect.url = arg;
    } else {
      return usage(argv[0]);
    }
  }
  if (connect.url.empty())
    return usage(argv[0]);
  if (commands.empty()) {
    for (const char* text : {"uname -a", "echo hello from agentrt", "ls /"}) {
      agentrt::protocol::command c;
      c.command = text;
      commands.push_back(std::move(c));
    }
  }

  auto [session, connect_error] = client::session::connect(connect);
  if (!session) {
    print_error("connection failed", connect_error);
    return 2;
  }

  client::execute_options options;
  options.on_command_output = [](const agentrt::protocol::command_output_message& chunk) {
    std::FILE* out = chunk.stream == "stderr" ? stderr : stdout;
    std::fwrite(chunk.text.data(), 1, chunk.text.size(), out);
    std::fflush(out);
  };
  auto [result, error] = session->execute_commands(commands, options);

  int status = 0;
  for (const auto& r : result.results) {
    std::cout << "[exit " << r.exit_code << "] " << r.command << "\n";
    if (r.exit_code != 0 && status == 0)
      status = agentrt::samples::exit_status_of(r.exit_code);
  }
  // The runtime stops at the first failing command; say which ones it never ran.
  for (std::size_t i = result.results.size(); i < commands.size() && !error; ++i)
    std::cout << "[skipped] " << commands[i].command << "\n";
  std::cout.flush();
  if (error) {
    print_error("request failed", error);
    if (status == 0)
      status = 1;
  }

  if (auto end_error = session->end(); end_error)
    print_error("ending the session", end_error);
  return status;
}

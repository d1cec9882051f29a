// A user's program over the installed client library, built by tests/package both through
// find_package(agentrt) and through pkg-config: runs one command on the runtime at URL and
// prints the library's version and the command's output.
//
//   consumer URL TEXT    prints "agentrt client VERSION", then TEXT as echoed by the runtime
#include <iostream>
#include <optional>
#include <string>
#include <utility>

#include "agentrt/client/client.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: consumer URL TEXT\n";
    return 2;
  }
  namespace ac = agentrt::client;
  std::cout << "agentrt client " << ac::version() << "\n";

  ac::client c({argv[1], /*token=*/std::nullopt});
  agentrt::protocol::command echo;
  echo.command = std::string("echo ") + argv[2];
  ac::execute_options options;
  std::string output;
  options.on_command_output = [&output](const agentrt::protocol::command_output_message& m) {
    output += m.text;
  };
  auto [result, error] = c.execute_commands({echo}, options);
  if (error) {
    std::cerr << "execute_commands: " << error.message << "\n";
    return 1;
  }
  std::cout << output;
  return result.results.size() == 1 && result.results[0].exit_code == 0 ? 0 : 1;
}

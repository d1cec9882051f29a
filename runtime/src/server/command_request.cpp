// command_execution_message (see command_request.hpp).
#include "server/command_request.hpp"

#include <utility>

namespace agentrt::runtime::server {

command_request::command_request(server_state& state, request_host& host, params p,
                                 std::vector<protocol::command> commands)
    : request(state, host, std::move(p)), commands_to_run_(std::move(commands)) {}

void command_request::run() {
  run_commands(std::move(commands_to_run_), {},
               [this](std::vector<protocol::command_result> results) {
                 finish(protocol::command_execution_result_message{std::move(results)});
               });
}

} // namespace agentrt::runtime::server

// command_execution_message: downloadables, then the commands in order; the first non-zero exit
// stops the rest. Its terminal is command_execution_result_message with one item per command
// that ran (or an error_message when a command could not be started).
#pragma once

#include <vector>

#include "server/request.hpp"

namespace agentrt::runtime::server {

class command_request final : public request {
public:
  command_request(server_state& state, request_host& host, params p,
                  std::vector<protocol::command> commands);

private:
  void run() override;
  metrics::request_kind kind() const noexcept override { return metrics::request_kind::command; }

  std::vector<protocol::command> commands_to_run_;
};

} // namespace agentrt::runtime::server

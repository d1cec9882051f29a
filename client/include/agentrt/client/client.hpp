// Everything a user of the agentrt C++ client needs, in one include, and `client`: the
// counterpart of the published Python client, one connection (and end-session handshake) per
// call.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agentrt/client/async_session.hpp"
#include "agentrt/client/errors.hpp"
#include "agentrt/client/io_loop.hpp"
#include "agentrt/client/options.hpp"
#include "agentrt/client/results.hpp"
#include "agentrt/client/session.hpp"
#include "agentrt/client/version.hpp"

namespace agentrt::client {

class client {
public:
  explicit client(connect_options options);

  // Each call connects, sends one request, waits for its terminal, then ends the session (so
  // that late artifact uploads are answered) and closes.
  std::pair<query_result, client_error> query(const std::string& prompt,
                                              const query_options& options = {});
  std::pair<execute_result, client_error>
  execute_commands(const std::vector<protocol::command>& commands,
                   const execute_options& options = {});

  // A persistent session for many sequential calls on one connection.
  std::pair<std::unique_ptr<session>, client_error> connect() const;

private:
  connect_options options_;
};

} // namespace agentrt::client

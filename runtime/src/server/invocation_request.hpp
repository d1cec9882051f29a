// invocation_message: downloadables -> pre-commands -> the harness -> post-commands ->
// result_message. A failing pre/post command or a harness error ends it with error_message.
#pragma once

#include <memory>

#include "harness/harness.hpp"
#include "server/request.hpp"

namespace agentrt::runtime::server {

class invocation_request final : public request {
public:
  invocation_request(server_state& state, request_host& host, params p,
                     protocol::invocation_message m);

private:
  void run() override;
  metrics::request_kind kind() const noexcept override { return metrics::request_kind::invocation; }
  void on_abort() override;
  void on_pause_output() override;
  void on_resume_output() override;
  void run_harness();
  void on_harness_done(harness::harness_outcome&& outcome);

  protocol::invocation_message message_;
  std::shared_ptr<harness::harness_run> harness_run_;
};

} // namespace agentrt::runtime::server

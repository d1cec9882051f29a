// The start() shared by the child-process adapters.
#include "harness/process_harness.hpp"

#include "agentrt/protocol/json_builder.hpp"
#include "harness/adapter_support.hpp"
#include "harness/immediate_run.hpp"
#include "harness/json_support.hpp"

namespace agentrt::runtime::harness {

std::shared_ptr<harness_run>
process_harness::start(asio::io_context& io, process::process_reaper& reaper,
                       process::process_scope& scope, const invocation& inv,
                       harness_callbacks callbacks, done_handler on_done) {
  const std::string harness_name = name();
  std::string error;
  auto schema = requested_schema(inv, error);
  if (!error.empty())
    return immediate_run::fail(io, immediate_run::failure(error), std::move(on_done));
  if (error = unsupported_setting(harness_name, inv, supported_settings()); !error.empty()) {
    return immediate_run::fail(
        io,
        immediate_run::failure(std::move(error),
                               protocol::json_builder().add("harness", harness_name).str()),
        std::move(on_done));
  }
  event_sink sink(std::move(callbacks), inv.agent_events);
  process_run_options opts =
      base_process_options(harness_name, effective_config(config_, inv), inv);
  prepared p = prepare(inv, std::move(schema), sink, opts);
  if (!p.parser) {
    return immediate_run::fail(
        io,
        immediate_run::failure(std::move(p.error),
                               protocol::json_builder().add("harness", harness_name).str()),
        std::move(on_done));
  }
  return process_run::start(io, reaper, scope, std::move(opts), std::move(p.parser), sink,
                            std::move(on_done));
}

} // namespace agentrt::runtime::harness

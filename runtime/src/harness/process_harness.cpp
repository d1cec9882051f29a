// The start() shared by the child-process adapters.
#include "harness/process_harness.hpp"

#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/json_builder.hpp"
#include "harness/adapter_support.hpp"
#include "harness/harness_errc.hpp"
#include "harness/immediate_run.hpp"
#include "harness/json_support.hpp"

namespace agentrt::runtime::harness {

std::shared_ptr<harness_run>
process_harness::start(asio::io_context& io, process::process_reaper& reaper,
                       process::process_scope& scope, const invocation& inv,
                       harness_callbacks callbacks, done_handler on_done) {
  const std::string harness_name = name();
  auto schema = requested_schema(inv);
  if (!schema.ok())
    return immediate_run::fail(io, harness_outcome::failure(std::move(schema).error()),
                               std::move(on_done));
  if (auto settings = check_settings(harness_name, inv, supported_settings()); !settings.ok()) {
    return immediate_run::fail(
        io,
        harness_outcome::failure(std::move(settings).error(),
                                 protocol::json_builder().add("harness", harness_name).str()),
        std::move(on_done));
  }
  event_sink sink(std::move(callbacks), inv.agent_events);
  process_run_options opts =
      base_process_options(harness_name, effective_config(config_, inv), inv);
  prepared p = prepare(inv, std::move(schema).value(), sink, opts);
  if (!p.ok()) {
    return immediate_run::fail(
        io,
        harness_outcome::failure(std::move(p).error(),
                                 protocol::json_builder().add("harness", harness_name).str()),
        std::move(on_done));
  }
  return process_run::start(io, reaper, scope, std::move(opts), std::move(p).value(), sink,
                            std::move(on_done));
}

} // namespace agentrt::runtime::harness

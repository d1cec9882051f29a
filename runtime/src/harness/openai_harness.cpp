// The openai harness: checks an invocation's settings and starts an openai_run for it on the
// harness's own transfer engine, sharing the stored conversations between runs.
#include "harness/openai_harness.hpp"

#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/json_builder.hpp"
#include "harness/adapter_support.hpp"
#include "harness/harness_errc.hpp"
#include "harness/immediate_run.hpp"
#include "harness/json_support.hpp"
#include "harness/openai_run.hpp"

namespace agentrt::runtime::harness {

openai_harness::openai_harness(harness_config config)
    : config_(std::move(config)), sessions_(std::make_shared<openai_session_store>()) {}

openai_harness::~openai_harness() = default;

std::shared_ptr<harness_run>
openai_harness::start(asio::io_context& io, process::process_reaper& reaper,
                      process::process_scope& scope, const invocation& inv,
                      harness_callbacks callbacks, done_handler on_done) {
  auto schema = requested_schema(inv);
  if (!schema.ok())
    return immediate_run::fail(io, harness_outcome::failure(std::move(schema).error()),
                               std::move(on_done));
  // The native loop enforces its own limits; permissions, tools lists, MCP and CLI arguments
  // have nothing to apply to.
  if (auto settings =
          check_settings(openai_harness_name, inv,
                         {setting::max_turns, setting::timeout_s, setting::token_budget});
      !settings.ok()) {
    return immediate_run::fail(
        io,
        harness_outcome::failure(
            std::move(settings).error(),
            protocol::json_builder().add("harness", openai_harness_name).str()),
        std::move(on_done));
  }
  auto run = std::make_shared<openai_run>(
      io, reaper, scope, engine_, effective_config(config_, inv), sessions_,
      event_sink(std::move(callbacks), inv.agent_events), std::move(on_done));
  run->begin(inv, std::move(schema).value());
  return run;
}

} // namespace agentrt::runtime::harness

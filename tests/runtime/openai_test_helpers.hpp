// What the openai loop's tests share: a harness config over the test's directory and an
// invocation against a fake OpenAI server.
#pragma once

#include <chrono>
#include <string>

#include "harness/harness.hpp"
#include "harness_test_fixture.hpp"
#include "support/fake_openai_server.hpp"

namespace agentrt::test {

inline runtime::harness::harness_config openai_config(harness_env& env, int max_turns,
                                                      int max_retries) {
  runtime::harness::harness_config cfg;
  cfg.workdir = env.dir.string();
  cfg.kill_grace = std::chrono::milliseconds(500);
  cfg.max_turns = max_turns;
  cfg.openai_max_retries = max_retries;
  return cfg;
}

inline runtime::harness::invocation openai_invocation(const fake_openai_server& server) {
  runtime::harness::invocation inv;
  inv.system_prompt = "You are terse.";
  inv.user_prompt = "do the thing";
  inv.model = "fake-model";
  inv.agent_env = {{"OPENAI_BASE_URL", server.base_url()}, {"OPENAI_API_KEY", "sk-test"}};
  inv.agent_events = true;
  return inv;
}

} // namespace agentrt::test

// Where an adapter's parser delivers what it understood: assistant texts, agent events (only
// when the client asked for them) and log lines. Wraps harness_callbacks so every adapter
// treats missing callbacks and the agent_events capability the same way.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "harness/harness.hpp"

namespace agentrt::runtime::harness {

class event_sink {
public:
  event_sink() = default;
  event_sink(harness_callbacks callbacks, bool agent_events)
      : callbacks_(std::move(callbacks)), agent_events_(agent_events) {}

  void assistant(std::vector<std::string> text_blocks) const {
    if (callbacks_.on_assistant && !text_blocks.empty())
      callbacks_.on_assistant(std::move(text_blocks));
  }
  // event is one of "tool_use", "tool_result", "reasoning", "usage", "session".
  void event(const char* name, std::string data_json) const {
    if (agent_events_ && callbacks_.on_agent_event)
      callbacks_.on_agent_event(name, std::move(data_json));
  }
  bool wants_events() const noexcept { return agent_events_ && callbacks_.on_agent_event; }
  void log(std::string line) const {
    if (callbacks_.on_log)
      callbacks_.on_log(std::move(line));
  }
  // After the run ended nothing may reach the session any more.
  void clear() { callbacks_ = {}; }

private:
  harness_callbacks callbacks_;
  bool agent_events_ = false;
};

} // namespace agentrt::runtime::harness

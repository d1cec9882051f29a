#include "harness/openai_session_store.hpp"

#include <utility>

namespace agentrt::runtime::harness {

void openai_session_store::put(const std::string& id, std::string messages_json) {
  if (messages_.find(id) == messages_.end())
    order_.push_back(id);
  messages_[id] = std::move(messages_json);
  while (order_.size() > max_stored_sessions) {
    messages_.erase(order_.front());
    order_.pop_front();
  }
}

const std::string* openai_session_store::find(const std::string& id) const {
  auto it = messages_.find(id);
  return it == messages_.end() ? nullptr : &it->second;
}

} // namespace agentrt::runtime::harness

// The openai loop's finished conversations, kept in memory so that resume_session_id can
// continue one: the messages array (JSON text) by session id, bounded to the newest
// max_stored_sessions, oldest evicted first. Used on the io_context thread only.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <string>

namespace agentrt::runtime::harness {

class openai_session_store {
public:
  static constexpr std::size_t max_stored_sessions = 64;

  // Stores or replaces id's conversation; a new id may evict the oldest one.
  void put(const std::string& id, std::string messages_json);
  // The stored messages array, or nullptr; valid until the next put.
  const std::string* find(const std::string& id) const;

private:
  std::map<std::string, std::string> messages_;
  std::deque<std::string> order_; // ids, oldest first
};

} // namespace agentrt::runtime::harness

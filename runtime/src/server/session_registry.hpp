// The durable sessions of one runtime, by id, and the tombstones of those that ended or expired,
// so that a late resume is told "session expired" while a wrong token learns nothing.
//
// Lookups compare the token in constant time, also for an id the runtime never had (against a
// dummy of the same length), so a refusal takes the same time whether the session exists or not.
// Tombstones are bounded in count and age: the oldest go first.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "agentrt/protocol/result.hpp"

namespace agentrt::runtime::server {

class session;

struct session_credentials {
  std::string session_id;
  std::string resume_token;
};

enum class resume_verdict { found, expired, refused };

class session_registry {
public:
  explicit session_registry(std::size_t max_tombstones = 10000,
                            std::chrono::seconds tombstone_ttl = std::chrono::hours(1));

  // A fresh id (public, 64 bits) and resume token (secret, 128 bits) from the kernel's RNG;
  // getrandom's errno when it fails.
  protocol::result<session_credentials> make_credentials() const;

  void add(session_credentials credentials, std::shared_ptr<session> s);
  // The session ended or its window expired: it becomes a tombstone.
  void retire(const std::string& session_id);

  std::pair<resume_verdict, std::shared_ptr<session>> find(const std::string& session_id,
                                                           const std::string& resume_token);

  std::size_t size() const noexcept { return live_.size(); }
  // Forgets every session and tombstone (the runtime is going away).
  void clear() {
    live_.clear();
    tombstones_.clear();
    tombstone_order_.clear();
  }
  std::size_t tombstones() const noexcept { return tombstones_.size(); }

private:
  struct entry {
    std::string resume_token;
    std::shared_ptr<session> s;
  };
  struct tombstone {
    std::string resume_token;
    std::chrono::steady_clock::time_point retired;
  };
  void prune_tombstones();

  std::size_t max_tombstones_;
  std::chrono::seconds tombstone_ttl_;
  std::map<std::string, entry> live_;
  std::map<std::string, tombstone> tombstones_;
  std::deque<std::string> tombstone_order_; // oldest first
};

} // namespace agentrt::runtime::server

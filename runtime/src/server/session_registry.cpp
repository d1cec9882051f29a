// Durable sessions by id and tombstones (see session_registry.hpp).
#include "server/session_registry.hpp"

#include "util/secure_token.hpp"

namespace agentrt::runtime::server {
namespace {

// Compared against when the id is unknown, so the refusal costs the same as a wrong token.
const std::string dummy_token(32, '0');

} // namespace

session_registry::session_registry(std::size_t max_tombstones, std::chrono::seconds tombstone_ttl)
    : max_tombstones_(max_tombstones), tombstone_ttl_(tombstone_ttl) {}

protocol::result<session_credentials> session_registry::make_credentials() const {
  auto id = util::random_hex(8);
  if (!id.ok())
    return std::move(id).error();
  auto token = util::random_hex(16);
  if (!token.ok())
    return std::move(token).error();
  return session_credentials{std::move(id).value(), std::move(token).value()};
}

void session_registry::add(session_credentials credentials, std::shared_ptr<session> s) {
  live_[credentials.session_id] = entry{std::move(credentials.resume_token), std::move(s)};
}

void session_registry::retire(const std::string& session_id) {
  auto it = live_.find(session_id);
  if (it == live_.end())
    return;
  tombstones_[session_id] =
      tombstone{std::move(it->second.resume_token), std::chrono::steady_clock::now()};
  tombstone_order_.push_back(session_id);
  live_.erase(it);
  prune_tombstones();
}

std::pair<resume_verdict, std::shared_ptr<session>>
session_registry::find(const std::string& session_id, const std::string& resume_token) {
  prune_tombstones();
  if (auto it = live_.find(session_id); it != live_.end()) {
    if (util::constant_time_equal(resume_token, it->second.resume_token)) {
      return {resume_verdict::found, it->second.s};
    }
    return {resume_verdict::refused, nullptr};
  }
  if (auto it = tombstones_.find(session_id); it != tombstones_.end()) {
    const bool match = util::constant_time_equal(resume_token, it->second.resume_token);
    return {match ? resume_verdict::expired : resume_verdict::refused, nullptr};
  }
  (void)util::constant_time_equal(resume_token, dummy_token);
  return {resume_verdict::refused, nullptr};
}

void session_registry::prune_tombstones() {
  const auto now = std::chrono::steady_clock::now();
  while (!tombstone_order_.empty()) {
    const auto it = tombstones_.find(tombstone_order_.front());
    const bool stale = it == tombstones_.end() || tombstones_.size() > max_tombstones_ ||
                       now - it->second.retired > tombstone_ttl_;
    if (!stale)
      break;
    if (it != tombstones_.end())
      tombstones_.erase(it);
    tombstone_order_.pop_front();
  }
}

} // namespace agentrt::runtime::server

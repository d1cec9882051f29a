// Windows of identical log lines (see repeat_filter.hpp).
#include "log/repeat_filter.hpp"

#include <algorithm>

namespace agentrt::runtime::log {

repeat_filter::repeat_filter(clock::duration window, std::size_t slots)
    : window_(window), slots_(std::max<std::size_t>(slots, 1)) {}

void repeat_filter::report(entry& e, clock::time_point now, std::vector<summary>& due) {
  if (e.repeats > 0)
    due.push_back(summary{std::move(e.key), e.repeats, now - e.admitted});
}

bool repeat_filter::admit(std::string_view key, clock::time_point now, std::vector<summary>& due) {
  expire(now, due);
  for (auto& e : entries_) {
    if (e.key == key) {
      ++e.repeats;
      return false;
    }
  }
  if (entries_.size() >= slots_) {
    report(entries_.front(), now, due);
    entries_.erase(entries_.begin());
  }
  entries_.push_back(entry{std::string(key), now, 0});
  return true;
}

void repeat_filter::expire(clock::time_point now, std::vector<summary>& due) {
  // Entries are in admission order, so the expired ones are a prefix.
  auto it = entries_.begin();
  while (it != entries_.end() && now - it->admitted >= window_) {
    report(*it, now, due);
    ++it;
  }
  entries_.erase(entries_.begin(), it);
}

void repeat_filter::flush(clock::time_point now, std::vector<summary>& due) {
  for (auto& e : entries_)
    report(e, now, due);
  entries_.clear();
}

} // namespace agentrt::runtime::log

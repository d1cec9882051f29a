// output_tail: the ring buffer behind a command result's stdout.
#include "execution/output_tail.hpp"

#include <algorithm>
#include <cstring>

namespace agentrt::runtime::execution {

void output_tail::append(std::string_view text) {
  total_ += text.size();
  if (cap_ == 0 || text.empty())
    return;
  if (text.size() >= cap_) {
    text.remove_prefix(text.size() - cap_);
    ring_.clear();
    oldest_ = 0;
  }
  if (ring_.size() < cap_) {
    const std::size_t n = std::min(cap_ - ring_.size(), text.size());
    if (ring_.size() + n > ring_.capacity())
      grow(ring_.size() + n);
    ring_.append(text.data(), n);
    text.remove_prefix(n);
  }
  while (!text.empty()) {
    const std::size_t n = std::min(cap_ - oldest_, text.size());
    std::memcpy(ring_.data() + oldest_, text.data(), n);
    oldest_ = (oldest_ + n) % cap_;
    text.remove_prefix(n);
  }
}

void output_tail::grow(std::size_t at_least) {
  // Geometric growth, but never past cap_: this buffer is all the memory the tail costs. Into
  // a fresh string, because reserve() on a used one may double it past what it was asked for.
  std::string bigger;
  bigger.reserve(std::min(cap_, std::max(at_least, 2 * ring_.capacity())));
  bigger.append(ring_);
  ring_.swap(bigger);
}

std::string output_tail::take() {
  std::rotate(ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(oldest_), ring_.end());
  oldest_ = 0;
  std::string out = std::move(ring_);
  ring_.clear();
  return out;
}

} // namespace agentrt::runtime::execution

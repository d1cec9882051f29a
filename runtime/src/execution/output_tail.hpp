// The last N bytes of a command's stdout, for the result item's "stdout". A ring buffer that
// grows to N once and is then overwritten in place: keeping the tail of a gigabyte of output
// costs one copy of each byte, never a move of what was kept.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace agentrt::runtime::execution {

class output_tail {
public:
  explicit output_tail(std::size_t cap) : cap_(cap) {}

  void append(std::string_view text);
  // Bytes ever appended (more than cap() when the tail is truncated).
  std::size_t total() const noexcept { return total_; }
  std::size_t cap() const noexcept { return cap_; }
  // The last min(total(), cap()) bytes in order; the tail is empty afterwards.
  std::string take();

private:
  void grow(std::size_t at_least);

  std::size_t cap_;
  std::string ring_;       // grows up to cap_ bytes, then wraps
  std::size_t oldest_ = 0; // where the oldest byte is once ring_ is full
  std::size_t total_ = 0;
};

} // namespace agentrt::runtime::execution

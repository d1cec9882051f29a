// Splits a child's output into lines with a hard cap per line, so a harness that prints an
// endless line costs at most the cap in memory and ends the run with an error instead of an OOM.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace agentrt::runtime::harness {

inline constexpr std::size_t default_max_line_bytes = 16 * 1024 * 1024;

class line_splitter {
public:
  explicit line_splitter(std::size_t max_line_bytes = default_max_line_bytes)
      : max_(max_line_bytes) {}

  // Calls on_line for each complete line (without "\n" and a trailing "\r"). Returns false,
  // and stops delivering, once a line exceeds the cap.
  bool write(std::string_view chunk, const std::function<void(std::string_view)>& on_line);
  // Delivers a last unterminated line, if any.
  void flush(const std::function<void(std::string_view)>& on_line);

  bool overflowed() const noexcept { return overflowed_; }

private:
  std::size_t max_;
  std::string partial_;
  bool overflowed_ = false;
};

} // namespace agentrt::runtime::harness

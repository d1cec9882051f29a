// Bounded line splitting for harness output.
#include "harness/line_splitter.hpp"

namespace agentrt::runtime::harness {

namespace {

std::string_view chomp(std::string_view line) {
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  return line;
}

} // namespace

bool line_splitter::write(std::string_view chunk,
                          const std::function<void(std::string_view)>& on_line) {
  if (overflowed_)
    return false;
  while (!chunk.empty()) {
    const auto nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      if (partial_.size() + chunk.size() > max_) {
        overflowed_ = true;
        partial_.clear();
        partial_.shrink_to_fit();
        return false;
      }
      partial_.append(chunk);
      return true;
    }
    if (partial_.size() + nl > max_) {
      overflowed_ = true;
      partial_.clear();
      partial_.shrink_to_fit();
      return false;
    }
    if (partial_.empty()) {
      // The common case, a whole line inside one chunk, is delivered without a copy.
      on_line(chomp(chunk.substr(0, nl)));
    } else {
      partial_.append(chunk.substr(0, nl));
      on_line(chomp(partial_));
      partial_.clear();
    }
    chunk.remove_prefix(nl + 1);
  }
  return true;
}

void line_splitter::flush(const std::function<void(std::string_view)>& on_line) {
  if (overflowed_ || partial_.empty())
    return;
  std::string last;
  last.swap(partial_);
  on_line(chomp(last));
}

} // namespace agentrt::runtime::harness

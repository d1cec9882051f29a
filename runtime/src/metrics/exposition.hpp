// Writes the Prometheus text exposition format (version 0.0.4): a family's HELP and TYPE, then
// its samples. Names and label values are the runtime's own (no client text), but label values
// are escaped anyway, as the format requires.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace agentrt::runtime::metrics {

class exposition {
public:
  using labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  // type: "counter" or "gauge". A counter's name ends in _total, as the format recommends.
  exposition& family(std::string_view name, std::string_view type, std::string_view help);
  exposition& sample(labels l, std::uint64_t value);
  exposition& sample(labels l, double value);
  exposition& sample(std::uint64_t value) { return sample({}, value); }
  exposition& sample(double value) { return sample({}, value); }

  const std::string& text() const noexcept { return text_; }

private:
  void start_sample(labels l);

  std::string text_;
  std::string name_;
};

} // namespace agentrt::runtime::metrics

// The harness error category (see harness_errc.hpp).
#include "harness/harness_errc.hpp"

#include <iterator>
#include <string>

namespace agentrt::runtime::harness {
namespace {

constexpr const char* texts[] = {
    "",
    "the answer does not match the requested output schema",
    "the agent is not available",
    "the agent cannot honour a harness setting",
    "the agent reported a failure",
    "the agent ended without an answer",
    "the run reached its turn or token limit",
};

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "harness"; }
  std::string message(int value) const override {
    if (value <= 0 || value >= static_cast<int>(std::size(texts)))
      return "unknown harness error " + std::to_string(value);
    return texts[value];
  }
};

} // namespace

const std::error_category& harness_category() noexcept {
  static const category instance;
  return instance;
}

} // namespace agentrt::runtime::harness

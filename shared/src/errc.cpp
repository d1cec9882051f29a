// The "agentrt" error category: human-readable text for protocol::errc values.
#include "agentrt/protocol/errc.hpp"

#include <string>

namespace agentrt::protocol {
namespace {

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "agentrt"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
    case errc::malformed_json:
      return "malformed JSON";
    case errc::not_an_object:
      return "frame is not a JSON object";
    case errc::missing_field:
      return "required field is missing";
    case errc::wrong_type:
      return "field has the wrong type";
    case errc::invalid_value:
      return "field has an invalid value";
    case errc::unknown_message_type:
      return "unknown message_type";
    case errc::unexpected_message:
      return "unexpected message";
    case errc::busy:
      return "another request is in flight";
    case errc::cancelled:
      return "Request cancelled"; // the exact text clients match on (docs/protocol.md)
    case errc::timed_out:
      return "timed out";
    case errc::spawn_failed:
      return "process could not be started";
    case errc::not_supported:
      return "not supported";
    case errc::nesting_too_deep:
      return "JSON nested too deep";
    }
    return "unknown agentrt error " + std::to_string(value);
  }
};

} // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

} // namespace agentrt::protocol

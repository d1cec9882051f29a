// The "agentrt.client" error category.
#include "agentrt/client/errors.hpp"

namespace agentrt::client {

namespace {

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "agentrt.client"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
    case errc::connection_failed:
      return "connection to the runtime failed";
    case errc::runtime_error:
      return "the runtime reported an error";
    case errc::cancelled:
      return "request cancelled";
    case errc::timed_out:
      return "request timed out";
    case errc::idle_timed_out:
      return "request timed out waiting for the runtime (idle timeout)";
    case errc::callback_timed_out:
      return "a callback did not answer in time";
    case errc::invalid_options:
      return "invalid options";
    case errc::busy:
      return "another request is in flight";
    case errc::protocol_violation:
      return "the runtime violated the protocol";
    case errc::closed:
      return "connection closed";
    }
    return "unknown agentrt.client error";
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

} // namespace agentrt::client

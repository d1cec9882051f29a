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
    case errc::session_expired:
      return "resume refused: session expired";
    case errc::resume_refused:
      return "resume refused";
    case errc::superseded:
      return "another connection took over the session";
    case errc::detached:
      return "the session was detached";
    case errc::not_durable:
      return "the session is not durable";
    case errc::process_error:
      return "the runtime refused the process message";
    case errc::not_supported:
      return "the runtime does not support this extension";
    }
    return "unknown agentrt.client error";
  }
};

} // namespace

const char* errc_name(errc e) noexcept {
  switch (e) {
  case errc::connection_failed:
    return "connection_failed";
  case errc::runtime_error:
    return "runtime_error";
  case errc::cancelled:
    return "cancelled";
  case errc::timed_out:
    return "timed_out";
  case errc::idle_timed_out:
    return "idle_timed_out";
  case errc::callback_timed_out:
    return "callback_timed_out";
  case errc::protocol_violation:
    return "protocol_violation";
  case errc::closed:
    return "closed";
  case errc::invalid_options:
    return "invalid_options";
  case errc::busy:
    return "busy";
  case errc::session_expired:
    return "session_expired";
  case errc::resume_refused:
    return "resume_refused";
  case errc::superseded:
    return "superseded";
  case errc::detached:
    return "detached";
  case errc::not_durable:
    return "not_durable";
  case errc::process_error:
    return "process_error";
  case errc::not_supported:
    return "not_supported";
  }
  return "";
}

const char* errc_name(const std::error_code& code) noexcept {
  return code.category() == error_category() ? errc_name(static_cast<errc>(code.value())) : "";
}

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

} // namespace agentrt::client

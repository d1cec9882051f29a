// agentrt's one error model, used by the runtime, the client library and the CLI.
//
// A function that can fail returns std::error_code when the caller needs nothing else, and
// result<T> when it also produces a value or has a text for a person (which file, URL or command,
// the errno, curl or libarchive text). Codes come from the project's categories (protocol::errc,
// client::errc, the runtime's per-area categories) or std::generic_category for an errno, so a
// caller branches on the code and passes the text on; the session turns both into an
// error_message. No out-parameters, no bool-plus-string pairs.
//
// One polarity: a thing that *is* an error (std::error_code, error, client::client_error)
// converts to true when it holds one; a thing that holds an outcome (result<T>) says ok() and
// has no bool conversion, so `if (r)` cannot be read either way.
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace agentrt::protocol {

struct error {
  std::error_code code; // never empty in a failed result
  std::string text;     // for a person; may be empty when the code says it all

  error() = default;
  error(std::error_code c, std::string t = {}) : code(c), text(std::move(t)) {}

  explicit operator bool() const noexcept { return static_cast<bool>(code); }
  // The text, or the code's own message when there is no text.
  std::string message() const { return text.empty() ? code.message() : text; }
};

template <typename T> class [[nodiscard]] result {
  static_assert(!std::is_same_v<std::decay_t<T>, protocol::error>,
                "result<error> is not meaningful");

  template <typename U>
  static constexpr bool is_value_v =
      std::is_constructible_v<T, U&&> && !std::is_convertible_v<U&&, protocol::error> &&
      !std::is_error_code_enum_v<std::decay_t<U>>;

public:
  // From anything T can be made of, so that `return std::make_unique<derived>();` works for a
  // result<std::unique_ptr<base>>.
  template <typename U = T, std::enable_if_t<is_value_v<U>, int> = 0>
  result(U&& value) : state_(std::in_place_index<0>, std::forward<U>(value)) {}
  result(protocol::error e) : state_(std::in_place_index<1>, std::move(e)) {
    assert(std::get<1>(state_).code && "a failed result needs a code");
  }
  result(std::error_code code, std::string text = {})
      : result(protocol::error{code, std::move(text)}) {}
  // `return errc::invalid_value;` and `return {errc::invalid_value, "why"};`
  template <typename E, std::enable_if_t<std::is_error_code_enum_v<E>, int> = 0>
  result(E code, std::string text = {}) : result(make_error_code(code), std::move(text)) {}

  bool ok() const noexcept { return state_.index() == 0; }

  // Preconditions: ok() for value(), !ok() for error().
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const protocol::error& error() const& { return std::get<1>(state_); }
  protocol::error&& error() && { return std::get<1>(std::move(state_)); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

private:
  std::variant<T, protocol::error> state_;
};

// For an operation that produces nothing but may fail with a text for a person.
template <> class [[nodiscard]] result<void> {
public:
  result() = default;
  result(protocol::error e) : error_(std::move(e)) {
    assert(error_.code && "a failed result needs a code");
  }
  result(std::error_code code, std::string text = {})
      : result(protocol::error{code, std::move(text)}) {}
  template <typename E, std::enable_if_t<std::is_error_code_enum_v<E>, int> = 0>
  result(E code, std::string text = {}) : result(make_error_code(code), std::move(text)) {}

  bool ok() const noexcept { return !error_.code; }
  const protocol::error& error() const& { return error_; }
  protocol::error&& error() && { return std::move(error_); }

private:
  protocol::error error_;
};

} // namespace agentrt::protocol

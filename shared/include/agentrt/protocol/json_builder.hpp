// Builds one JSON object a field at a time: error metadata, event data, HTTP answers and /health.
// Strings and keys are escaped exactly as the codec escapes every frame's strings, invalid
// UTF-8 repaired to U+FFFD, so whatever bytes a caller passes (a file name, a harness's stderr,
// a malformed frame) the result is valid JSON in valid UTF-8. No third-party type appears here:
// client code includes it without RapidJSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace agentrt::protocol {

class json_builder {
public:
  json_builder& add(std::string_view key, std::string_view value);
  // Without these a string literal would pick the bool overload (a standard conversion beats
  // the user-defined one to string_view).
  json_builder& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  json_builder& add(std::string_view key, const std::string& value) {
    return add(key, std::string_view(value));
  }
  json_builder& add(std::string_view key, bool value);
  // A number as RapidJSON's Writer writes it (the shortest text that reads back the same
  // double); NaN and infinities have no JSON form and are written as null.
  json_builder& add(std::string_view key, double value);
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool> &&
                                          !std::is_same_v<I, char>,
                                      int> = 0>
  json_builder& add(std::string_view key, I value) {
    if constexpr (std::is_signed_v<I>)
      return add_signed(key, static_cast<std::int64_t>(value));
    else
      return add_unsigned(key, static_cast<std::uint64_t>(value));
  }
  // A nested object built by another builder.
  json_builder& add(std::string_view key, const json_builder& object) {
    return add_raw(key, object.str());
  }
  // json is serialized JSON (an object, an array, any value), copied in as it is: it must be
  // valid, which the caller guarantees (it was parsed, or another builder made it).
  json_builder& add_raw(std::string_view key, std::string_view json);

  bool empty() const noexcept { return members_.empty(); }
  // The object: "{}" when nothing was added.
  std::string str() const;

private:
  json_builder& add_signed(std::string_view key, std::int64_t value);
  json_builder& add_unsigned(std::string_view key, std::uint64_t value);
  // Appends the separator and the key with its colon.
  void key(std::string_view k);

  std::string members_; // the members so far, comma-separated, without braces
};

} // namespace agentrt::protocol

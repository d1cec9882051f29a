// Builds the small flat JSON objects the runtime puts into error metadata and /health, with
// proper escaping (RapidJSON's writer), without each caller touching RapidJSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace agentrt::runtime::util {

using json_scalar = std::variant<std::string, std::int64_t, double, bool>;

class json_object {
public:
  json_object& add(std::string key, std::string value) {
    return put(std::move(key), std::move(value));
  }
  json_object& add(std::string key, const char* value) {
    return put(std::move(key), std::string(value));
  }
  json_object& add(std::string key, bool value) { return put(std::move(key), value); }
  json_object& add(std::string key, double value) { return put(std::move(key), value); }
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  json_object& add(std::string key, I value) {
    return put(std::move(key), static_cast<std::int64_t>(value));
  }
  std::string str() const;

private:
  json_object& put(std::string key, json_scalar value) {
    fields_.emplace_back(std::move(key), std::move(value));
    return *this;
  }

  std::vector<std::pair<std::string, json_scalar>> fields_;
};

} // namespace agentrt::runtime::util

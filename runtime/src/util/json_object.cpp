// Serialization for json_object.
#include "util/json_object.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace agentrt::runtime::util {

std::string json_object::str() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  for (const auto& [key, value] : fields_) {
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    std::visit(
        [&w](const auto& v) {
          using t = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<t, std::string>) {
            w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
          } else if constexpr (std::is_same_v<t, std::int64_t>) {
            w.Int64(v);
          } else if constexpr (std::is_same_v<t, double>) {
            w.Double(v);
          } else {
            w.Bool(v);
          }
        },
        value);
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

} // namespace agentrt::runtime::util

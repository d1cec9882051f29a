// The Prometheus text format writer (see exposition.hpp).
#include "metrics/exposition.hpp"

#include <cstdio>

namespace agentrt::runtime::metrics {

exposition& exposition::family(std::string_view name, std::string_view type,
                               std::string_view help) {
  name_.assign(name);
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  text_ += help;
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += type;
  text_ += '\n';
  return *this;
}

void exposition::start_sample(labels l) {
  text_ += name_;
  if (l.size() == 0) {
    text_ += ' ';
    return;
  }
  text_ += '{';
  bool first = true;
  for (const auto& [key, value] : l) {
    if (!first)
      text_ += ',';
    first = false;
    text_ += key;
    text_ += "=\"";
    for (const char c : value) {
      if (c == '\\' || c == '"')
        text_ += '\\';
      if (c == '\n') {
        text_ += "\\n";
        continue;
      }
      text_ += c;
    }
    text_ += '"';
  }
  text_ += "} ";
}

exposition& exposition::sample(labels l, std::uint64_t value) {
  start_sample(l);
  text_ += std::to_string(value);
  text_ += '\n';
  return *this;
}

exposition& exposition::sample(labels l, double value) {
  start_sample(l);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  text_ += buf;
  text_ += '\n';
  return *this;
}

} // namespace agentrt::runtime::metrics

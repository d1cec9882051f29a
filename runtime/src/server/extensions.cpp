// Agentrt-Extensions lists (see extensions.hpp).
#include "server/extensions.hpp"

namespace agentrt::runtime::server {

bool lists_extension(std::string_view header, std::string_view name) {
  std::size_t at = header.find(name);
  while (at != std::string_view::npos) {
    const std::size_t end = at + name.size();
    const bool starts = at == 0 || header[at - 1] == ',' || header[at - 1] == ' ';
    const bool ends = end == header.size() || header[end] == ',' || header[end] == ' ';
    if (starts && ends)
      return true;
    at = header.find(name, end);
  }
  return false;
}

} // namespace agentrt::runtime::server

// Query parameters shared by the handlers: paths and modes.
#include "files/handlers.hpp"

namespace agentrt::runtime::files {

std::optional<std::vector<std::string>> path_param(request_context& ctx, const char* name) {
  const auto value = ctx.req.param(name);
  if (!value) {
    ctx.sock.send_error(bad_request(std::string("missing query parameter \"") + name + "\""));
    return std::nullopt;
  }
  auto comps = ctx.root.split(*value);
  if (!comps.ok()) {
    ctx.sock.send_error(comps.error());
    return std::nullopt;
  }
  return std::move(comps).value();
}

std::optional<unsigned> mode_param(request_context& ctx, unsigned fallback, bool& given) {
  const auto value = ctx.req.param("mode");
  given = value.has_value();
  if (!value)
    return fallback;
  if (value->empty() || value->size() > 4 ||
      value->find_first_not_of("01234567") != std::string::npos) {
    ctx.sock.send_error(bad_request("mode must be octal permission bits such as 0644, not \"" +
                                    value->substr(0, 16) + "\""));
    return std::nullopt;
  }
  const unsigned mode = static_cast<unsigned>(std::stoul(*value, nullptr, 8));
  if (mode > 0777) {
    ctx.sock.send_error(bad_request("mode: only permission bits (at most 0777) may be set"));
    return std::nullopt;
  }
  return mode;
}

} // namespace agentrt::runtime::files

// agentrt-client mkdir [URL] REMOTE [--mode MODE]
#include "files_cli.hpp"

namespace agentrt::cli {

int run_mkdir(const files_cli_options& o) {
  client::files_client c(connection(o));
  const auto mode = parse_mode(o.mode_bits);
  return finish(c.mkdir(o.args[0], mode ? std::optional<unsigned>(static_cast<unsigned>(*mode))
                                        : std::nullopt),
                o.json);
}

} // namespace agentrt::cli

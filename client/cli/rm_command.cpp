// agentrt-client rm [URL] REMOTE [-r]
#include "files_cli.hpp"

namespace agentrt::cli {

int run_rm(const files_cli_options& o) {
  client::files_client c(connection(o));
  return finish(c.remove(o.args[0], o.recursive), o.json);
}

} // namespace agentrt::cli

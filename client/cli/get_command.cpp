// agentrt-client get [URL] REMOTE LOCAL [-r]: a file (to stdout with -, or with -r a directory)
// from the runtime; an interrupted get resumes.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "files_cli.hpp"
#include "output.hpp"

namespace agentrt::cli {

int run_get(const files_cli_options& o) {
  const std::string& remote = o.args[0];
  std::string local = o.args[1];
  client::files_client c(connection_with_progress(o));
  if (o.recursive)
    return finish(c.download_directory(remote, local), o.json);
  if (local == "-") {
    return finish(c.read(remote, [](const char* d,
                                    std::size_t n) { return std::fwrite(d, 1, n, stdout) == n; }),
                  o.json);
  }
  struct stat st {};
  if (::stat(local.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    const auto slash = remote.find_last_of('/');
    local += "/" + (slash == std::string::npos ? remote : remote.substr(slash + 1));
  }
  return finish(c.read_to_file(remote, local, !o.no_resume), o.json);
}

} // namespace agentrt::cli

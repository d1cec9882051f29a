// agentrt-client put [URL] LOCAL REMOTE [-r]: a file (or stdin, or with -r a directory) to the
// runtime.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "files_cli.hpp"
#include "output.hpp"

namespace agentrt::cli {

int run_put(const files_cli_options& o) {
  const std::string& local = o.args[0];
  const std::string& remote = o.args[1];
  client::files_client c(connection_with_progress(o));
  const auto mode = parse_mode(o.mode_bits);
  const std::optional<unsigned> bits =
      mode ? std::optional<unsigned>(static_cast<unsigned>(*mode)) : std::nullopt;
  if (local == "-") {
    return finish(c.write(
                      remote,
                      [](char* buf, std::size_t n) -> std::size_t {
                        for (;;) {
                          const ssize_t got = ::read(STDIN_FILENO, buf, n);
                          if (got < 0 && errno == EINTR)
                            continue;
                          return got > 0 ? static_cast<std::size_t>(got) : 0;
                        }
                      },
                      std::nullopt, bits),
                  o.json);
  }
  struct stat st {};
  if (::stat(local.c_str(), &st) != 0) {
    cli_error e{"local_file", "cannot read " + local + ": " + std::strerror(errno), "{}",
                exit_local_file};
    report(e, o.json);
    return e.exit_code;
  }
  if (S_ISDIR(st.st_mode)) {
    if (!o.recursive) {
      cli_error e{"usage", local + " is a directory (use -r)", "{}", exit_usage};
      report(e, o.json);
      return e.exit_code;
    }
    return finish(c.upload_directory(local, remote), o.json);
  }
  return finish(c.write_from_file(local, remote, bits), o.json);
}

} // namespace agentrt::cli

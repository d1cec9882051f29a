// The files subcommands (put, get, ls, rm, mkdir: the runtime's files API, docs/protocol.md
// "Files API"): their command line, parsed apart from exec/query/attach, and what they share —
// the connection options, the progress line, and the exit code of a result. One file per
// subcommand: put_command.cpp, get_command.cpp, ls_command.cpp, rm_command.cpp,
// mkdir_command.cpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agentrt/client/files.hpp"

namespace agentrt::cli {

// Local file errors (cannot read LOCAL, cannot write it): sysexits' EX_CANTCREAT.
constexpr int exit_local_file = 73;

struct files_cli_options {
  std::string mode;              // put, get, ls, rm, mkdir
  std::string url;               // the first argument when it is a URL, else AGENTRT_URL
  std::vector<std::string> args; // the paths
  std::optional<std::string> token, ca_file, mode_bits;
  bool insecure = false, recursive = false, json = false, no_resume = false, overwrite = false;
  std::optional<int> depth;
  std::optional<double> idle_timeout_s;
};

// nullopt when argv[1] is not a files subcommand; otherwise the process's exit code.
std::optional<int> run_files_subcommand(int argc, char** argv);

int run_put(const files_cli_options& o);
int run_get(const files_cli_options& o);
int run_ls(const files_cli_options& o);
int run_rm(const files_cli_options& o);
int run_mkdir(const files_cli_options& o);

// Shared by the subcommands.
client::files_options connection(const files_cli_options& o);
// With a progress line on stderr (when it is a terminal) for transfers over 1 MiB.
client::files_options connection_with_progress(const files_cli_options& o);
// Reports a failed result on stderr and returns its exit code (0 for success).
int finish(const client::files_result& r, bool json);
// MODE text ("0644") to bits; nullopt for none; -1 for invalid.
std::optional<long> parse_mode(const std::optional<std::string>& text);

} // namespace agentrt::cli

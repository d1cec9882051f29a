// Command line and shared plumbing of the files subcommands.
#include "files_cli.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "output.hpp"

namespace agentrt::cli {
namespace {

constexpr const char* put_text =
    R"(Copies LOCAL (a file; - for stdin; a directory with -r, sent as a tar stream) to REMOTE on the runtime, atomically (a temporary file renamed into place), creating REMOTE's parent directories; the local file's mode travels unless --mode says otherwise.)";
constexpr const char* get_text =
    R"(Copies REMOTE from the runtime to LOCAL (- for stdout; into LOCAL/NAME when LOCAL is a directory; a directory with -r, received as a tar stream). A file arrives as LOCAL.part and is renamed when whole; an interrupted get resumes from the .part file (HTTP Range) unless --no-resume.)";
constexpr const char* ls_text =
    R"(Lists the directory REMOTE (or stats the file): one line per entry, TYPE MODE SIZE PATH; -r lists the tree (--depth N levels, default 64).)";
constexpr const char* rm_text = R"(Removes REMOTE; a directory needs -r when it is not empty.)";
constexpr const char* mkdir_text =
    R"(Creates the directory REMOTE and its missing parents (no error when it exists).)";

constexpr const char* files_usage = R"(  agentrt-client put [URL] LOCAL REMOTE [-r] [--mode MODE]
  agentrt-client get [URL] REMOTE LOCAL [-r] [--no-resume]
  agentrt-client ls [URL] REMOTE [-r] [--depth N] [--json]
  agentrt-client rm [URL] REMOTE [-r]
  agentrt-client mkdir [URL] REMOTE [--mode MODE]
URL is the runtime's ws:// or wss:// URL; without it, the AGENTRT_URL variable.)";

bool is_url(const std::string& s) {
  for (const char* scheme : {"ws://", "wss://", "http://", "https://"}) {
    if (s.rfind(scheme, 0) == 0)
      return true;
  }
  return false;
}

int usage(const std::string& why, const std::string& mode) {
  print(stderr,
        "agentrt-client: " + why + "\nRun 'agentrt-client " + mode + " --help' for the options.\n");
  return exit_usage;
}

std::string human(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

} // namespace

std::optional<long> parse_mode(const std::optional<std::string>& text) {
  if (!text)
    return std::nullopt;
  if (text->empty() || text->size() > 4 || text->find_first_not_of("01234567") != std::string::npos)
    return -1;
  const long v = std::strtol(text->c_str(), nullptr, 8);
  return v > 0777 ? -1 : v;
}

client::files_options connection(const files_cli_options& o) {
  client::files_options f;
  f.url = o.url;
  f.token = o.token;
  f.ca_file = o.ca_file;
  f.verify_tls = !o.insecure;
  if (o.idle_timeout_s)
    f.idle_timeout = std::chrono::milliseconds(static_cast<long long>(*o.idle_timeout_s * 1000));
  return f;
}

client::files_options connection_with_progress(const files_cli_options& o) {
  client::files_options f = connection(o);
  if (!::isatty(STDERR_FILENO))
    return f;
  struct state {
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last{};
    bool shown = false;
  };
  auto s = std::make_shared<state>();
  f.progress = [s](std::uint64_t done, std::optional<std::uint64_t> total) {
    const auto now = std::chrono::steady_clock::now();
    const bool finished = total && done >= *total;
    if (done < (1u << 20) && !s->shown)
      return; // small transfers print nothing
    if (!finished && now - s->last < std::chrono::milliseconds(200))
      return;
    s->last = now;
    s->shown = true;
    const double secs = std::chrono::duration<double>(now - s->start).count();
    std::string line = "\r" + human(static_cast<double>(done));
    if (total && *total > 0) {
      char pct[16];
      std::snprintf(pct, sizeof pct, " (%3.0f%%)",
                    100.0 * static_cast<double>(done) / static_cast<double>(*total));
      line += " of " + human(static_cast<double>(*total)) + pct;
    }
    if (secs > 0)
      line += "  " + human(static_cast<double>(done) / secs) + "/s";
    line += "   ";
    if (finished)
      line += "\n";
    print(stderr, line);
  };
  return f;
}

int finish(const client::files_result& r, bool json) {
  if (r.ok())
    return 0;
  cli_error e;
  e.code = r.code.empty() ? client::errc_name(r.error.code) : r.code;
  e.message = r.error.message;
  if (r.status == 401) {
    e.code = "authentication_refused";
    e.message = "authentication refused (HTTP 401): wrong or missing token (--token or "
                "AGENTRT_TOKEN)";
    e.exit_code = exit_auth_refused;
  } else if (r.error.code == client::errc::runtime_error) {
    e.exit_code = exit_runtime_error;
    e.metadata_json = r.error.metadata_json;
  } else if (r.error.code == client::errc::invalid_options) {
    e.exit_code = exit_local_file;
  } else if (r.error.code == client::errc::protocol_violation) {
    e.exit_code = exit_protocol;
  } else if (r.error.code == client::errc::cancelled) {
    e.exit_code = exit_cancelled;
  } else {
    e.exit_code = exit_connection;
  }
  // The runtime's message says it all; its JSON body is for --json.
  if (!json)
    e.metadata_json = "{}";
  report(e, json);
  return e.exit_code;
}

std::optional<int> run_files_subcommand(int argc, char** argv) {
  if (argc < 2)
    return std::nullopt;
  const std::string sub = argv[1];
  if (sub != "put" && sub != "get" && sub != "ls" && sub != "rm" && sub != "mkdir")
    return std::nullopt;
  files_cli_options o;
  o.mode = sub;
  const char* text = sub == "put"   ? put_text
                     : sub == "get" ? get_text
                     : sub == "ls"  ? ls_text
                     : sub == "rm"  ? rm_text
                                    : mkdir_text;
  CLI::App app{text, "agentrt-client " + sub};
  app.footer(std::string(files_usage) + "\n\n" + exit_code_help +
             "  73    a local file could not be read or written\n");
  app.add_option("args", o.args, "[URL] and the paths")->required();
  app.add_option("--token", o.token, "bearer token (default: the AGENTRT_TOKEN variable)")
      ->type_name("T");
  app.add_option("--ca-file", o.ca_file, "trust this CA bundle for wss://")->type_name("PEM");
  app.add_flag("--insecure", o.insecure, "do not verify the wss:// certificate");
  app.add_option("--idle-timeout", o.idle_timeout_s,
                 "fail when the transfer makes no progress for S seconds (default 60)")
      ->check(CLI::PositiveNumber)
      ->type_name("S");
  app.add_flag("--json", o.json, "errors (and ls entries) as JSON lines");
  if (sub == "put" || sub == "get" || sub == "ls" || sub == "rm")
    app.add_flag("-r,--recursive", o.recursive,
                 sub == "ls" ? "list the whole tree" : "a directory and what is in it");
  if (sub == "put" || sub == "mkdir")
    app.add_option("--mode", o.mode_bits, "permission bits, octal (e.g. 0644)")->type_name("MODE");
  if (sub == "get")
    app.add_flag("--no-resume", o.no_resume, "start over instead of continuing LOCAL.part");
  if (sub == "ls")
    app.add_option("--depth", o.depth, "levels to list with -r (default 64)")
        ->check(CLI::Range(1, 64))
        ->type_name("N");
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0)
      return app.exit(e);
    return usage(e.what(), sub);
  }
  if (!o.args.empty() && is_url(o.args.front())) {
    o.url = o.args.front();
    o.args.erase(o.args.begin());
  } else if (const char* u = std::getenv("AGENTRT_URL"); u && *u) {
    o.url = u;
  } else {
    return usage("no runtime URL: give ws://HOST:PORT/ first, or set AGENTRT_URL", sub);
  }
  const std::size_t want = sub == "put" || sub == "get" ? 2 : 1;
  if (o.args.size() != want)
    return usage(sub + " takes " + (want == 2 ? "two paths" : "one path") + " after the URL", sub);
  if (parse_mode(o.mode_bits) == -1L)
    return usage("--mode must be octal permission bits such as 0644", sub);
  if (!o.token) {
    if (const char* t = std::getenv("AGENTRT_TOKEN"); t && *t)
      o.token = t;
  }
  if (sub == "put")
    return run_put(o);
  if (sub == "get")
    return run_get(o);
  if (sub == "ls")
    return run_ls(o);
  if (sub == "rm")
    return run_rm(o);
  return run_mkdir(o);
}

} // namespace agentrt::cli

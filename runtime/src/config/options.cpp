// Flag parsing for the agentrt binary, with CLI11 (as agentrt-client): --flag value and
// --flag=value, "--" ending the options, errors naming the flag. Values go through the parsers
// below rather than CLI11's conversions, which accept "-1" for an unsigned (wrapping it) and
// "1e3" for an integer.
#include "config/options.hpp"

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace agentrt::runtime::config {
namespace {

std::uint64_t parse_unsigned(std::string_view flag, const std::string& value, std::uint64_t max) {
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
    throw std::invalid_argument(std::string(flag) + ": expected a non-negative integer, got \"" +
                                value + "\"");
  }
  errno = 0;
  const unsigned long long v = std::strtoull(value.c_str(), nullptr, 10);
  if (errno == ERANGE || v > max) {
    throw std::invalid_argument(std::string(flag) + ": " + value + " is out of range (max " +
                                std::to_string(max) + ")");
  }
  return v;
}

double parse_number(std::string_view flag, const std::string& value, double max,
                    const char* expected) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || errno == ERANGE || !(v >= 0) ||
      v > max) {
    throw std::invalid_argument(std::string(flag) + ": expected " + expected + ", got \"" + value +
                                "\"");
  }
  return v;
}

std::chrono::milliseconds parse_seconds(std::string_view flag, const std::string& value) {
  const double s = parse_number(flag, value, 365.0 * 24 * 3600, "seconds (e.g. 15 or 0.5)");
  return std::chrono::milliseconds(static_cast<long long>(s * 1000.0));
}

// Registers an option whose value is handed, as text, to set (which throws
// std::invalid_argument naming the flag when the value is unusable).
void value_option(CLI::App& app, const std::string& name, const std::string& type,
                  const std::string& help, std::function<void(const std::string&)> set) {
  app.add_option_function<std::string>(name, std::move(set), help)->type_name(type);
}

void add_server_options(CLI::App& app, options& o) {
  value_option(app, "--host", "ADDR", "address to listen on (default 0.0.0.0)",
               [&o](const std::string& v) {
                 if (v.empty())
                   throw std::invalid_argument("--host: must not be empty");
                 o.host = v;
               });
  value_option(app, "--port", "N", "port to listen on (default 8080)", [&o](const std::string& v) {
    o.port = static_cast<std::uint16_t>(parse_unsigned("--port", v, 65535));
  });
  value_option(app, "--token", "TOKEN",
               "require \"Authorization: Bearer TOKEN\" or \"?token=TOKEN\" on the WebSocket "
               "upgrade (default: env AGENTRT_TOKEN; unset = no auth)",
               [&o](const std::string& v) {
                 if (v.empty())
                   o.token.reset();
                 else
                   o.token = v;
               });
  value_option(app, "--metrics-token", "TOKEN",
               "also accept TOKEN for GET /metrics (a scraper then needs no --token; default: env "
               "AGENTRT_METRICS_TOKEN)",
               [&o](const std::string& v) {
                 if (v.empty())
                   throw std::invalid_argument("--metrics-token: must not be empty");
                 o.metrics_token = v;
               });
  value_option(app, "--max-message-bytes", "N",
               "largest accepted frame; larger ones close the connection with 1009 (default "
               "16777216)",
               [&o](const std::string& v) {
                 o.max_message_bytes = parse_unsigned("--max-message-bytes", v, 1ULL << 32);
                 if (o.max_message_bytes < 1024)
                   throw std::invalid_argument("--max-message-bytes: must be at least 1024");
               });
  value_option(app, "--max-session-processes", "N",
               "session processes one session may hold, running plus exited and not collected "
               "(docs/processes.md; default 64)",
               [&o](const std::string& v) {
                 o.max_session_processes =
                     static_cast<std::size_t>(parse_unsigned("--max-session-processes", v, 100000));
               });
  value_option(app, "--max-pending-frame-bytes", "N",
               "memory for partly received frames across all connections; a frame that would "
               "take it past N is refused and its connection closed with 1013 (try again "
               "later); frames up to 64 KiB are never refused (default 268435456; at least "
               "--max-message-bytes)",
               [&o](const std::string& v) {
                 o.max_pending_frame_bytes =
                     parse_unsigned("--max-pending-frame-bytes", v, ~std::uint64_t{0});
               });
  value_option(app, "--session-idle-timeout", "S",
               "close a session with nothing in flight after S seconds without traffic either "
               "way, with 1001 (default 3600; 0 = never)",
               [&o](const std::string& v) {
                 o.session_idle_timeout = parse_seconds("--session-idle-timeout", v);
               });
  value_option(app, "--heartbeat-interval", "S",
               "seconds between heartbeat_message while a request is in flight (default 15)",
               [&o](const std::string& v) {
                 o.heartbeat_interval = parse_seconds("--heartbeat-interval", v);
                 if (o.heartbeat_interval.count() == 0)
                   throw std::invalid_argument("--heartbeat-interval: must be > 0");
               });
}

void add_durable_options(CLI::App& app, options& o) {
  value_option(
      app, "--resume-window", "S",
      "durable sessions: how long a session whose connection dropped keeps running and "
      "waits for a resume (default 120)",
      [&o](const std::string& v) { o.resume_window = parse_seconds("--resume-window", v); });
  value_option(
      app, "--detached-window", "S",
      "durable sessions: the same after detach_message (default 3600)",
      [&o](const std::string& v) { o.detached_window = parse_seconds("--detached-window", v); });
  value_option(app, "--journal-memory-bytes", "N",
               "durable sessions: output kept in memory per session until the client "
               "acknowledges it; more spills to a file (default 8388608)",
               [&o](const std::string& v) {
                 o.journal_memory_bytes =
                     parse_unsigned("--journal-memory-bytes", v, ~std::uint64_t{0});
               });
  value_option(app, "--journal-disk-bytes", "N",
               "durable sessions: spill file budget per session; past it the oldest output is "
               "dropped and reported as a gap (default 268435456)",
               [&o](const std::string& v) {
                 o.journal_disk_bytes =
                     parse_unsigned("--journal-disk-bytes", v, ~std::uint64_t{0});
               });
  value_option(app, "--journal-dir", "DIR",
               "where spill files go (unlinked at once; default $TMPDIR or /tmp)",
               [&o](const std::string& v) {
                 if (v.empty())
                   throw std::invalid_argument("--journal-dir: must not be empty");
                 o.journal_dir = v;
               });
}

void add_command_options(CLI::App& app, options& o) {
  value_option(app, "--stdout-cap-bytes", "N",
               "keep at most the last N bytes of a command's stdout in its result item (default "
               "1048576)",
               [&o](const std::string& v) {
                 o.stdout_cap_bytes = parse_unsigned("--stdout-cap-bytes", v, 1ULL << 32);
               });
  value_option(app, "--kill-grace", "S",
               "seconds between SIGTERM and SIGKILL when killing a request's processes (default 5)",
               [&o](const std::string& v) { o.kill_grace = parse_seconds("--kill-grace", v); });
  value_option(app, "--drain-idle", "S",
               "after a command's main process exits, how long its output pipes may stay silent "
               "(held open by a background process) before the command counts as finished "
               "(default 0.2)",
               [&o](const std::string& v) { o.drain_idle = parse_seconds("--drain-idle", v); });
  value_option(app, "--containment", "MODE",
               "how a request's processes are found and killed: cgroup (a cgroup v2 per request; "
               "refuse to start without), subreaper (orphans re-parented to the runtime), or auto "
               "(default: cgroup when the runtime can create cgroups, else subreaper)",
               [&o](const std::string& v) {
                 if (v != "auto" && v != "cgroup" && v != "subreaper")
                   throw std::invalid_argument("--containment: expected auto, cgroup or subreaper");
                 o.containment = v;
               });
}

void add_harness_options(CLI::App& app, options& o) {
  value_option(app, "--agent", "NAME",
               "harness for invocation_message: claude, codex, gemini, opencode or openai; "
               "default: auto-detect",
               [&o](const std::string& v) { o.agent = v; });
  value_option(app, "--handler", "PATH", "run PATH as the harness (custom handler protocol)",
               [&o](const std::string& v) { o.handler_path = v; });
  value_option(app, "--workdir", "DIR",
               "working directory of the harness (default: the runtime's cwd)",
               [&o](const std::string& v) { o.workdir = v; });
  value_option(
      app, "--harness-timeout", "S", "kill a harness run after S seconds (default 0 = no limit)",
      [&o](const std::string& v) { o.harness_timeout = parse_seconds("--harness-timeout", v); });
  value_option(app, "--max-turns", "N", "model turns for the openai loop and claude (default 50)",
               [&o](const std::string& v) {
                 o.max_turns = static_cast<int>(parse_unsigned("--max-turns", v, 100000));
                 if (o.max_turns == 0)
                   throw std::invalid_argument("--max-turns: must be at least 1");
               });
  value_option(app, "--openai-token-budget", "N",
               "the openai loop stops an invocation whose prompt and completion tokens together "
               "exceed N (default 0 = no budget)",
               [&o](const std::string& v) {
                 o.openai_token_budget =
                     parse_unsigned("--openai-token-budget", v, ~std::uint64_t{0} >> 1);
               });
}

void add_files_options(CLI::App& app, options& o) {
  value_option(app, "--files-root", "DIR",
               "confine the files API (/files) to DIR: its paths are taken beneath DIR and "
               "nothing outside is reachable (default: the whole file system, as the runtime's "
               "user)",
               [&o](const std::string& v) {
                 if (v.empty())
                   throw std::invalid_argument("--files-root: expected a directory");
                 o.files_root = v;
               });
}

void add_transfer_options(CLI::App& app, options& o) {
  value_option(app, "--extract-max-bytes", "N",
               "refuse an archive that unpacks to more than N bytes (default 8589934592)",
               [&o](const std::string& v) {
                 o.extract_max_bytes = parse_unsigned("--extract-max-bytes", v, ~std::uint64_t{0});
               });
  value_option(
      app, "--extract-max-entries", "N",
      "refuse an archive with more than N entries (default 200000)", [&o](const std::string& v) {
        o.extract_max_entries = parse_unsigned("--extract-max-entries", v, ~std::uint64_t{0});
      });
  value_option(app, "--extract-max-ratio", "R",
               "refuse an archive whose unpacked/packed size ratio exceeds R, checked past its "
               "first MiB (zip bombs; default 200)",
               [&o](const std::string& v) {
                 o.extract_max_ratio =
                     parse_number("--extract-max-ratio", v, 1e9, "a ratio (0 disables the check)");
               });
  value_option(app, "--transfer-retries", "N",
               "retries of a download or upload after a connection error, timeout or HTTP 5xx "
               "(default 3, with backoff)",
               [&o](const std::string& v) {
                 o.transfer_retries =
                     static_cast<int>(parse_unsigned("--transfer-retries", v, 100));
               });
  value_option(
      app, "--connect-timeout", "S", "connect timeout for downloads and uploads (default 30)",
      [&o](const std::string& v) { o.connect_timeout = parse_seconds("--connect-timeout", v); });
  value_option(app, "--low-speed-limit", "BYTES",
               "abandon a transfer attempt that moved less than BYTES bytes/s on average over "
               "--low-speed-time (default 1024; 0 disables)",
               [&o](const std::string& v) {
                 o.low_speed_limit = parse_unsigned("--low-speed-limit", v, 1ULL << 40);
               });
  value_option(
      app, "--low-speed-time", "S", "the window of --low-speed-limit (default 60)",
      [&o](const std::string& v) { o.low_speed_time = parse_seconds("--low-speed-time", v); });
  value_option(app, "--download-max-bytes", "N",
               "refuse a download whose body exceeds N bytes, from its Content-Length or as it "
               "arrives (default 8589934592; 0 = no limit)",
               [&o](const std::string& v) {
                 o.download_max_bytes =
                     parse_unsigned("--download-max-bytes", v, ~std::uint64_t{0});
               });
  value_option(
      app, "--artifact-settle", "S",
      "at end of session, wait this long with no new file events for files that "
      "finished late (default 0.25)",
      [&o](const std::string& v) { o.artifact_settle = parse_seconds("--artifact-settle", v); });
  value_option(
      app, "--drain-timeout", "S",
      "at end of session (or when the socket closes), how long to wait for upload "
      "answers and uploads in progress (default 30)",
      [&o](const std::string& v) { o.drain_timeout = parse_seconds("--drain-timeout", v); });
}

void add_log_options(CLI::App& app, options& o) {
  value_option(app, "--log-level", "LEVEL", "debug, info, warn or error (default info)",
               [&o](const std::string& v) {
                 const auto level = log::parse_level(v);
                 if (!level)
                   throw std::invalid_argument("--log-level: expected debug, info, warn or error");
                 o.log_level = *level;
               });
  value_option(app, "--log-format", "FORMAT",
               "text (default) or json: one JSON object per line with the fields time, level, "
               "source_id (when there is one) and message",
               [&o](const std::string& v) {
                 if (v == "text")
                   o.log_format = log::format::text;
                 else if (v == "json")
                   o.log_format = log::format::json;
                 else
                   throw std::invalid_argument("--log-format: expected text or json");
               });
}

// Every flag, writing into o. One App serves parsing and --help, so the two never drift.
std::unique_ptr<CLI::App> make_app(const std::string& program, options& o) {
  auto app = std::make_unique<CLI::App>(
      "agentrt runs agent harnesses and commands for a client connected over WebSocket\n"
      "(the runtimeuse protocol).",
      program);
  app->set_help_flag(); // --help is a flag of its own: main prints help_text()
  app->add_flag("-h,--help", o.show_help, "print this help and exit");
  app->add_flag("--version", o.show_version, "print the version and exit");
  // As before CLI11: a repeated flag's last value counts.
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app->get_formatter()->column_width(32);
  add_server_options(*app, o);
  add_durable_options(*app, o);
  add_command_options(*app, o);
  add_harness_options(*app, o);
  add_files_options(*app, o);
  add_transfer_options(*app, o);
  add_log_options(*app, o);
  app->footer("Plain \"GET /health\" on the same port answers 200 with JSON and needs no token. "
              "\"GET /metrics\"\nanswers in the Prometheus text format and needs --token or "
              "--metrics-token when either is set.");
  return app;
}

} // namespace

std::string help_text(const std::string& program) {
  options unused;
  return make_app(program, unused)->help();
}

options parse_options(int argc, const char* const* argv) {
  options o;
  if (const char* env_token = std::getenv("AGENTRT_TOKEN"); env_token && *env_token) {
    o.token = env_token;
  }
  if (const char* env_token = std::getenv("AGENTRT_METRICS_TOKEN"); env_token && *env_token)
    o.metrics_token = env_token;
  // CLI11 reads "--flag=" as a flag without its value, and would take the next argument as the
  // value; an empty value it accepts only as an argument of its own.
  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) {
    const std::string arg = argv[i];
    if (arg.size() > 3 && arg.rfind("--", 0) == 0 && arg.back() == '=' &&
        arg.find('=') == arg.size() - 1) {
      args.emplace_back();
      args.push_back(arg.substr(0, arg.size() - 1));
    } else {
      args.push_back(arg);
    }
  }
  auto app = make_app(argc > 0 ? argv[0] : "agentrt", o);
  try {
    app->parse(std::move(args)); // in reverse order, as CLI11 takes a vector
  } catch (const CLI::ParseError& e) {
    throw std::invalid_argument(std::string(e.what()) + " (see --help)");
  }
  // Otherwise a lone frame of the largest accepted size could never be received.
  if (o.max_pending_frame_bytes < o.max_message_bytes) {
    throw std::invalid_argument(
        "--max-pending-frame-bytes: " + std::to_string(o.max_pending_frame_bytes) +
        " is below --max-message-bytes (" + std::to_string(o.max_message_bytes) + ")");
  }
  return o;
}

} // namespace agentrt::runtime::config

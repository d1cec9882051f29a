// Flag parsing for the agentrt binary. Hand-written because the flag set is small and Debian
// has no header-only argument parser we would otherwise need.
#include "config/options.hpp"

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

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

} // namespace

std::string help_text(const std::string& program) {
  return "Usage: " + program + R"( [options]

agentrt runs agent harnesses and commands for a client connected over WebSocket
(the runtimeuse protocol).

Options:
  --host ADDR                 address to listen on (default 0.0.0.0)
  --port N                    port to listen on (default 8080)
  --token TOKEN               require "Authorization: Bearer TOKEN" or "?token=TOKEN" on the
                              WebSocket upgrade (default: env AGENTRT_TOKEN; unset = no auth)
  --max-message-bytes N       largest accepted frame; larger ones close the connection
                              with 1009 (default 16777216)
  --max-pending-frame-bytes N memory for partly received frames across all connections; a
                              frame that would take it past N is refused and its connection
                              closed with 1013 (try again later); frames up to 64 KiB are
                              never refused (default 268435456; at least --max-message-bytes)
  --session-idle-timeout S    close a session with nothing in flight after S seconds without
                              traffic either way, with 1001 (default 3600; 0 = never)
  --resume-window S           durable sessions: how long a session whose connection dropped
                              keeps running and waits for a resume (default 120)
  --detached-window S         durable sessions: the same after detach_message (default 3600)
  --journal-memory-bytes N    durable sessions: output kept in memory per session until the
                              client acknowledges it; more spills to a file (default 8388608)
  --journal-disk-bytes N      durable sessions: spill file budget per session; past it the
                              oldest output is dropped and reported as a gap (default 268435456)
  --journal-dir DIR           where spill files go (unlinked at once; default $TMPDIR or /tmp)
  --heartbeat-interval S      seconds between heartbeat_message while a request is in
                              flight (default 15)
  --stdout-cap-bytes N        keep at most the last N bytes of a command's stdout in its
                              result item (default 1048576)
  --kill-grace S              seconds between SIGTERM and SIGKILL when killing a request's
                              processes (default 5)
  --drain-idle S              after a command's main process exits, how long its output
                              pipes may stay silent (held open by a background process)
                              before the command counts as finished (default 0.2)
  --containment MODE          how a request's processes are found and killed: cgroup (a
                              cgroup v2 per request; refuse to start without), subreaper
                              (orphans re-parented to the runtime), or auto (default:
                              cgroup when the runtime can create cgroups, else subreaper)
  --agent NAME                harness for invocation_message: claude, codex, gemini,
                              opencode or openai; default: auto-detect
  --handler PATH              run PATH as the harness (custom handler protocol)
  --workdir DIR               working directory of the harness (default: the runtime's cwd)
  --harness-timeout S         kill a harness run after S seconds (default 0 = no limit)
  --max-turns N               model turns for the openai loop and claude (default 50)
  --openai-token-budget N     the openai loop stops an invocation whose prompt and completion
                              tokens together exceed N (default 0 = no budget)
  --files-root DIR            confine the files API (/files) to DIR: its paths are taken
                              beneath DIR and nothing outside is reachable (default: the
                              whole file system, as the runtime's user)
  --extract-max-bytes N       refuse an archive that unpacks to more than N bytes
                              (default 8589934592)
  --extract-max-entries N     refuse an archive with more than N entries (default 200000)
  --extract-max-ratio R       refuse an archive whose unpacked/packed size ratio exceeds R,
                              checked past its first MiB (zip bombs; default 200)
  --transfer-retries N        retries of a download or upload after a connection error,
                              timeout or HTTP 5xx (default 3, with backoff)
  --connect-timeout S         connect timeout for downloads and uploads (default 30)
  --low-speed-limit BYTES     abandon a transfer attempt that moved less than BYTES bytes/s
                              on average over --low-speed-time (default 1024; 0 disables)
  --low-speed-time S          the window of --low-speed-limit (default 60)
  --download-max-bytes N      refuse a download whose body exceeds N bytes, from its
                              Content-Length or as it arrives (default 8589934592; 0 = no
                              limit)
  --artifact-settle S         at end of session, wait this long with no new file events
                              for files that finished late (default 0.25)
  --drain-timeout S           at end of session (or when the socket closes), how long to
                              wait for upload answers and uploads in progress (default 30)
  --log-level LEVEL           debug, info, warn or error (default info)
  --version                   print the version and exit
  --help                      print this help and exit

Plain "GET /health" on the same port answers 200 with JSON and needs no token.
)";
}

options parse_options(int argc, const char* const* argv) {
  options o;
  if (const char* env_token = std::getenv("AGENTRT_TOKEN"); env_token && *env_token) {
    o.token = env_token;
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_inline_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_inline_value = true;
    }
    auto next = [&]() -> const std::string& {
      if (!has_inline_value) {
        if (i + 1 >= argc)
          throw std::invalid_argument(arg + ": missing value");
        value = argv[++i];
      }
      return value;
    };
    if (arg == "--help" || arg == "-h") {
      o.show_help = true;
    } else if (arg == "--version") {
      o.show_version = true;
    } else if (arg == "--host") {
      o.host = next();
      if (o.host.empty())
        throw std::invalid_argument("--host: must not be empty");
    } else if (arg == "--port") {
      o.port = static_cast<std::uint16_t>(parse_unsigned(arg, next(), 65535));
    } else if (arg == "--token") {
      o.token = next();
      if (o.token->empty())
        o.token.reset();
    } else if (arg == "--max-message-bytes") {
      o.max_message_bytes = parse_unsigned(arg, next(), std::uint64_t{1} << 32);
      if (o.max_message_bytes < 1024)
        throw std::invalid_argument(arg + ": must be at least 1024");
    } else if (arg == "--max-pending-frame-bytes") {
      o.max_pending_frame_bytes = parse_unsigned(arg, next(), ~std::uint64_t{0});
    } else if (arg == "--session-idle-timeout") {
      o.session_idle_timeout = parse_seconds(arg, next());
    } else if (arg == "--resume-window") {
      o.resume_window = parse_seconds(arg, next());
    } else if (arg == "--detached-window") {
      o.detached_window = parse_seconds(arg, next());
    } else if (arg == "--journal-memory-bytes") {
      o.journal_memory_bytes = parse_unsigned(arg, next(), ~std::uint64_t{0});
    } else if (arg == "--journal-disk-bytes") {
      o.journal_disk_bytes = parse_unsigned(arg, next(), ~std::uint64_t{0});
    } else if (arg == "--journal-dir") {
      o.journal_dir = next();
      if (o.journal_dir.empty())
        throw std::invalid_argument(arg + ": must not be empty");
    } else if (arg == "--heartbeat-interval") {
      o.heartbeat_interval = parse_seconds(arg, next());
      if (o.heartbeat_interval.count() == 0)
        throw std::invalid_argument(arg + ": must be > 0");
    } else if (arg == "--stdout-cap-bytes") {
      o.stdout_cap_bytes = parse_unsigned(arg, next(), std::uint64_t{1} << 32);
    } else if (arg == "--kill-grace") {
      o.kill_grace = parse_seconds(arg, next());
    } else if (arg == "--drain-idle") {
      o.drain_idle = parse_seconds(arg, next());
    } else if (arg == "--containment") {
      o.containment = next();
      if (o.containment != "auto" && o.containment != "cgroup" && o.containment != "subreaper")
        throw std::invalid_argument(arg + ": expected auto, cgroup or subreaper");
    } else if (arg == "--agent") {
      o.agent = next();
    } else if (arg == "--handler") {
      o.handler_path = next();
    } else if (arg == "--workdir") {
      o.workdir = next();
    } else if (arg == "--files-root") {
      o.files_root = next();
      if (o.files_root.empty())
        throw std::invalid_argument(arg + ": expected a directory");
    } else if (arg == "--harness-timeout") {
      o.harness_timeout = parse_seconds(arg, next());
    } else if (arg == "--max-turns") {
      o.max_turns = static_cast<int>(parse_unsigned(arg, next(), 100000));
      if (o.max_turns == 0)
        throw std::invalid_argument(arg + ": must be at least 1");
    } else if (arg == "--openai-token-budget") {
      o.openai_token_budget = parse_unsigned(arg, next(), ~std::uint64_t{0} >> 1);
    } else if (arg == "--extract-max-bytes") {
      o.extract_max_bytes = parse_unsigned(arg, next(), ~std::uint64_t{0});
    } else if (arg == "--extract-max-entries") {
      o.extract_max_entries = parse_unsigned(arg, next(), ~std::uint64_t{0});
    } else if (arg == "--extract-max-ratio") {
      o.extract_max_ratio = parse_number(arg, next(), 1e9, "a ratio (0 disables the check)");
    } else if (arg == "--transfer-retries") {
      o.transfer_retries = static_cast<int>(parse_unsigned(arg, next(), 100));
    } else if (arg == "--connect-timeout") {
      o.connect_timeout = parse_seconds(arg, next());
    } else if (arg == "--low-speed-limit") {
      o.low_speed_limit = parse_unsigned(arg, next(), std::uint64_t{1} << 40);
    } else if (arg == "--download-max-bytes") {
      o.download_max_bytes = parse_unsigned(arg, next(), ~std::uint64_t{0});
    } else if (arg == "--low-speed-time") {
      o.low_speed_time = parse_seconds(arg, next());
    } else if (arg == "--artifact-settle") {
      o.artifact_settle = parse_seconds(arg, next());
    } else if (arg == "--drain-timeout") {
      o.drain_timeout = parse_seconds(arg, next());
    } else if (arg == "--log-level") {
      auto level = log::parse_level(next());
      if (!level)
        throw std::invalid_argument("--log-level: expected debug, info, warn or error");
      o.log_level = *level;
    } else {
      throw std::invalid_argument("unknown option \"" + arg + "\" (see --help)");
    }
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

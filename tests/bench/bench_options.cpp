// Command-line parsing for agentrt_bench.
#include "bench_options.hpp"

#include <unistd.h>

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

namespace agentrt::bench {
namespace {

// "64M", "1G", "4096" -> bytes (binary multiples).
std::optional<std::uint64_t> parse_size(const std::string& s) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (end == s.c_str())
    return std::nullopt;
  const std::string suffix(end);
  const std::map<std::string, std::uint64_t> mult = {
      {"", 1}, {"K", 1ull << 10}, {"M", 1ull << 20}, {"G", 1ull << 30}};
  const auto it = mult.find(suffix);
  if (it == mult.end())
    return std::nullopt;
  return v * it->second;
}

std::optional<int> parse_count(const std::string& s) {
  char* end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (end == s.c_str() || *end != '\0' || v <= 0 || v > 1000000)
    return std::nullopt;
  return static_cast<int>(v);
}

std::string default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::string(x) + "/agentrt-bench";
  if (const char* h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.cache/agentrt-bench";
  return "/tmp/agentrt-bench-cache";
}

} // namespace

const std::vector<std::string>& benchmark_ids() {
  static const std::vector<std::string> ids = {
      "startup",  "roundtrip",    "output",       "sessions",         "redaction",
      "announce", "upload",       "download_zip", "download_tar_zst", "durable_output",
      "resume",   "detached_rss", "files",        "pty_echo",         "idle_processes"};
  return ids;
}

std::string usage_text() {
  return R"(usage: agentrt_bench [--quick] [--runtime PATH | --url ws://HOST:PORT/ [--pid PID]] [options]

Benchmarks a runtime that speaks the runtimeuse protocol through the agentrt client library.
Prints a table and JSON; exits 0 when every benchmark ran and its correctness checks held
(timings never decide the exit code).

  --quick                smaller sizes and fewer iterations (under a minute)
  --runtime PATH         start this binary (--host 127.0.0.1 --port N) fresh for each benchmark
                         (default: the agentrt built with the bench)
  --runtime-arg ARG      extra argument for the started runtime (repeatable)
  --url URL              drive this runtime instead (startup and idle RSS are skipped)
  --token TOKEN          bearer token for --url
  --pid PID              the --url runtime's pid, for memory and CPU figures (same machine)
  --only ID[,ID...]      run only these: startup roundtrip output sessions redaction announce
                         upload download_zip download_tar_zst durable_output resume
                         detached_rss files pty_echo idle_processes
  --http-host ADDR       address the runtime uses to reach the bench's HTTP server (default
                         127.0.0.1; the server binds it)
  --work-dir DIR         scratch directory on the runtime's side (default /tmp/agentrt-bench-PID)
  --cache-dir DIR        where generated archives are kept (default ~/.cache/agentrt-bench)
  --json FILE            also write the JSON report to FILE
  --version              print the version and exit
  --startup-runs N  --roundtrips N  --sessions N  --announce-files N
  --output-bytes SIZE  --upload-bytes SIZE  --archive-bytes SIZE   (SIZE: 64M, 1G, ...)
  --resume-cuts N        durable sessions: dropped connections to resume (default 200)
  --detach-seconds N     durable sessions: how long detached_rss leaves a command printing to
                         nobody (default 300)
  --detach-rate SIZE     ... and how many bytes it prints per second (default 50000000)
)";
}

std::optional<std::string> parse_options(int argc, char** argv, bench_options& out, bool& help) {
  help = false;
  std::vector<std::string> args(argv + 1, argv + argc);
  // --quick first, so that explicit sizes override its defaults wherever they appear.
  for (const auto& a : args) {
    if (a == "--quick") {
      out.quick = true;
      out.startup_runs = 10;
      out.roundtrips = 200;
      out.output_bytes = 64ull << 20;
      out.sessions = 1000;
      out.announce_files = 20;
      out.upload_bytes = 64ull << 20;
      out.archive_bytes = 32ull << 20;
      out.resume_cuts = 50;
      out.detach_seconds = 3;
    }
  }
  out.cache_dir = default_cache_dir();
  out.work_dir = "/tmp/agentrt-bench-" + std::to_string(::getpid());
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size())
        return std::nullopt;
      return args[++i];
    };
    if (a == "--quick")
      continue;
    if (a == "--help" || a == "-h") {
      help = true;
      return std::nullopt;
    }
    if (a == "--version") {
      out.show_version = true;
      return std::nullopt;
    }
    static const std::set<std::string> with_value = {
        "--runtime",      "--runtime-arg",   "--url",         "--token",          "--pid",
        "--only",         "--http-host",     "--work-dir",    "--cache-dir",      "--json",
        "--startup-runs", "--roundtrips",    "--sessions",    "--announce-files", "--output-bytes",
        "--upload-bytes", "--archive-bytes", "--resume-cuts", "--detach-seconds", "--detach-rate"};
    if (with_value.count(a) == 0)
      return "unknown option " + a;
    const auto v = value();
    if (!v)
      return a + " needs a value";
    const auto count = [&](int& field) -> std::optional<std::string> {
      if (auto n = parse_count(*v)) {
        field = *n;
        return std::nullopt;
      }
      return a + ": expected a positive count, got " + *v;
    };
    const auto size = [&](std::uint64_t& field) -> std::optional<std::string> {
      if (auto n = parse_size(*v); n && *n > 0) {
        field = *n;
        return std::nullopt;
      }
      return a + ": expected a size such as 64M or 1G, got " + *v;
    };
    std::optional<std::string> err;
    if (a == "--runtime")
      out.runtime_binary = *v;
    else if (a == "--runtime-arg")
      out.runtime_args.push_back(*v);
    else if (a == "--url")
      out.url = *v;
    else if (a == "--token")
      out.token = *v;
    else if (a == "--pid") {
      char* end = nullptr;
      const long pid = std::strtol(v->c_str(), &end, 10);
      if (end == v->c_str() || *end != '\0' || pid <= 0)
        return "--pid: expected a process id, got " + *v;
      out.runtime_pid = static_cast<pid_t>(pid);
    } else if (a == "--only") {
      std::istringstream list(*v);
      std::string id;
      while (std::getline(list, id, ',')) {
        bool known = false;
        for (const auto& k : benchmark_ids())
          known = known || k == id;
        if (!known)
          return "--only: unknown benchmark " + id;
        out.only.insert(id);
      }
    } else if (a == "--http-host")
      out.http_host = *v;
    else if (a == "--work-dir")
      out.work_dir = *v;
    else if (a == "--cache-dir")
      out.cache_dir = *v;
    else if (a == "--json")
      out.json_path = *v;
    else if (a == "--startup-runs")
      err = count(out.startup_runs);
    else if (a == "--roundtrips")
      err = count(out.roundtrips);
    else if (a == "--sessions")
      err = count(out.sessions);
    else if (a == "--announce-files")
      err = count(out.announce_files);
    else if (a == "--output-bytes")
      err = size(out.output_bytes);
    else if (a == "--upload-bytes")
      err = size(out.upload_bytes);
    else if (a == "--archive-bytes")
      err = size(out.archive_bytes);
    else if (a == "--resume-cuts")
      err = count(out.resume_cuts);
    else if (a == "--detach-seconds")
      err = count(out.detach_seconds);
    else if (a == "--detach-rate")
      err = size(out.detach_rate);
    if (err)
      return err;
  }
  if (!out.url.empty() && !out.runtime_args.empty())
    return "--runtime-arg applies to a started runtime, not to --url";
  if (out.work_dir.empty() || out.work_dir[0] != '/' || out.work_dir == "/")
    return "--work-dir must be an absolute path below /";
  return std::nullopt;
}

} // namespace agentrt::bench

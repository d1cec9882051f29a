// The bench's command line: which runtime to drive, which benchmarks, and their sizes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace agentrt::bench {

struct bench_options {
  bool quick = false;
  bool show_version = false; // --version: print it and exit
  // Either a runtime to start per benchmark, or a URL to drive (then startup is skipped and
  // memory figures need runtime_pid).
  std::string runtime_binary;
  std::vector<std::string> runtime_args;
  std::string url;
  std::optional<std::string> token;
  pid_t runtime_pid = -1;

  std::set<std::string> only; // empty: every benchmark
  std::string cache_dir;      // generated archives
  std::string work_dir;       // on the runtime's side; created and removed through commands
  std::string http_host = "127.0.0.1"; // where the runtime reaches the bench's HTTP server
  std::string json_path;

  int startup_runs = 50;
  int roundtrips = 2000;
  std::uint64_t output_bytes = 1ull << 30;
  int sessions = 1000;
  int announce_files = 100;
  std::uint64_t upload_bytes = 1ull << 30;
  std::uint64_t archive_bytes = 1ull << 30;
  int resume_cuts = 200;                  // resume: dropped connections
  int detach_seconds = 300;               // detached_rss: how long nobody is attached
  std::uint64_t detach_rate = 50'000'000; // detached_rss: bytes per second the command prints

  bool wants(const std::string& id) const { return only.empty() || only.count(id) > 0; }
  bool runtime_is_ours() const { return url.empty(); }
};

// The benchmark ids, in run order.
const std::vector<std::string>& benchmark_ids();

// Parses argv; on a usage error returns the message (and `help` asks for the usage text).
std::optional<std::string> parse_options(int argc, char** argv, bench_options& out, bool& help);
std::string usage_text();

} // namespace agentrt::bench

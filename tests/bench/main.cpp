// agentrt_bench: drives a runtime (started here, or any runtimeuse URL) through the agentrt
// client and prints what it measured as a table and as JSON. The exit code says whether every
// benchmark ran and its correctness checks held; timings never decide it.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <thread>

#include "agentrt/client/version.hpp"
#include "bench_files.hpp"
#include "measurements.hpp"
#include "proc_probe.hpp"

namespace bench = agentrt::bench;

namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// One descriptor per session on both ends, plus the runtime's pipes; a started runtime
// inherits the raised limit.
void raise_fd_limit() {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 16384);
  ::setrlimit(RLIMIT_NOFILE, &lim);
}

// Removes the runtime-side scratch directory through a runtime (it may be on another machine).
void remove_work_dir(bench::bench_env& env) {
  auto [target, why] = env.connect("cleanup");
  if (!target.session)
    return;
  agentrt::client::execute_options opts;
  opts.timeout = std::chrono::seconds(60);
  bench::run_checked(*target.session, {"rm -rf " + bench::shell_quote(env.options().work_dir)},
                     opts);
  target.session->end();
}

} // namespace

int main(int argc, char** argv) {
  bench::bench_options options;
  options.runtime_binary = AGENTRT_BINARY;
  bool help = false;
  if (const auto err = bench::parse_options(argc, argv, options, help)) {
    std::cerr << "agentrt_bench: " << *err << "\n\n" << bench::usage_text();
    return 64;
  }
  if (help) {
    std::cout << bench::usage_text();
    return 0;
  }
  if (options.show_version) {
    std::cout << "agentrt_bench " << agentrt::client::version() << "\n";
    return 0;
  }
  raise_fd_limit();

  bench::run_context ctx;
  ctx.mode = options.quick ? "quick" : "full";
  ctx.target = options.runtime_is_ours() ? options.runtime_binary : options.url;
  ctx.runtime_started_by_bench = options.runtime_is_ours();
  ctx.cpus = static_cast<int>(std::thread::hardware_concurrency());
  ctx.load_before = bench::load_average();
  ctx.started_at = utc_now();

  char log_tmpl[] = "/tmp/agentrt-bench-logs-XXXXXX";
  if (!::mkdtemp(log_tmpl)) {
    std::perror("agentrt_bench: mkdtemp");
    return 1;
  }
  const std::string log_dir = log_tmpl;
  bench::http_bench_server http(options.http_host, options.http_host);
  if (const auto ec = http.start()) {
    std::cerr << "agentrt_bench: cannot start the HTTP server on " << options.http_host << ": "
              << ec.message() << "\n";
    return 1;
  }
  bench::bench_env env(options, http, log_dir);

  using runner = std::function<bench::measurement(bench::bench_env&)>;
  const std::vector<std::pair<std::string, runner>> plan = {
      {"startup", bench::measure_startup},
      {"roundtrip", bench::measure_roundtrip},
      {"output", bench::measure_output},
      {"sessions", bench::measure_sessions},
      {"redaction", bench::measure_redaction},
      {"announce", bench::measure_announce},
      {"upload", bench::measure_upload},
      {"download_zip",
       [](bench::bench_env& e) { return bench::measure_download(e, bench::archive_kind::zip); }},
      {"download_tar_zst",
       [](bench::bench_env& e) {
         return bench::measure_download(e, bench::archive_kind::tar_zst);
       }},
      {"durable_output", bench::measure_durable_output},
      {"resume", bench::measure_resume},
      {"detached_rss", bench::measure_detached_rss},
      {"files", bench::measure_files},
      {"pty_echo", bench::measure_pty_echo},
      {"idle_processes", bench::measure_idle_processes},
  };
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<bench::measurement> results;
  for (const auto& [id, run] : plan) {
    if (!options.wants(id))
      continue;
    std::cerr << "agentrt_bench: " << id << " ..." << std::flush;
    const auto started = std::chrono::steady_clock::now();
    results.push_back(run(env));
    std::cerr << " " << bench::seconds_between(started, std::chrono::steady_clock::now()) << " s\n";
  }
  remove_work_dir(env);
  ctx.wall_seconds = bench::seconds_between(t0, std::chrono::steady_clock::now());
  ctx.load_after = bench::load_average();

  bool all_ok = true;
  for (const auto& m : results)
    all_ok = all_ok && m.status != bench::measurement::state::failed;
  const std::string json = bench::render_json(ctx, results);
  std::cout << bench::render_table(ctx, results) << "\n" << json;
  if (!options.json_path.empty()) {
    std::ofstream out(options.json_path);
    out << json;
    if (!out)
      std::cerr << "agentrt_bench: cannot write " << options.json_path << "\n";
  }
  std::error_code ignored;
  if (all_ok || std::filesystem::is_empty(log_dir, ignored)) {
    std::filesystem::remove_all(log_dir, ignored);
  } else {
    std::cerr << "agentrt_bench: a benchmark failed; runtime logs kept in " << log_dir << "\n";
  }
  return all_ok ? 0 : 1;
}

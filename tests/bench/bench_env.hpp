// What every benchmark shares: the options, the bench's HTTP server, the runtime-side scratch
// directory, and how to get a runtime for one benchmark (a fresh one when the bench starts
// runtimes itself, so each benchmark's memory figures are its own).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agentrt/client/client.hpp"
#include "bench_options.hpp"
#include "http_bench_server.hpp"
#include "runtime_launcher.hpp"

namespace agentrt::bench {

// One benchmark's runtime. pid is -1 when unknown (a --url runtime without --pid).
class runtime_handle {
public:
  runtime_handle(std::string url, pid_t pid, std::unique_ptr<runtime_launcher> launcher)
      : url_(std::move(url)), pid_(pid), launcher_(std::move(launcher)) {}
  const std::string& url() const noexcept { return url_; }
  pid_t pid() const noexcept { return pid_; }
  // The runtime's log tail when the bench started it, for problem reports.
  std::string log_tail() const { return launcher_ ? launcher_->log_tail() : std::string(); }

private:
  std::string url_;
  pid_t pid_;
  std::unique_ptr<runtime_launcher> launcher_;
};

// A benchmark's runtime with one blocking session open on it.
struct connected_runtime {
  std::unique_ptr<runtime_handle> runtime;
  std::unique_ptr<client::session> session;
};

class bench_env {
public:
  bench_env(bench_options options, http_bench_server& http, std::string log_dir);

  const bench_options& options() const noexcept { return options_; }
  http_bench_server& http() noexcept { return http_; }
  // A runtime-side path below the scratch directory.
  std::string work_path(const std::string& leaf) const { return options_.work_dir + "/" + leaf; }
  const std::string& log_dir() const noexcept { return log_dir_; }

  // The runtime for benchmark `name`, or the reason there is none. extra_args go to a runtime
  // the bench starts (after --runtime-arg); a --url runtime is used as it is.
  std::pair<std::unique_ptr<runtime_handle>, std::string>
  acquire(const std::string& name, const std::vector<std::string>& extra_args = {});
  // acquire() plus a session on it; on failure the pointers are empty.
  std::pair<connected_runtime, std::string> connect(const std::string& name);
  client::connect_options connect_options(const std::string& url) const;
  // The overall limit the bench puts on any one request, so that nothing hangs forever.
  std::chrono::milliseconds request_timeout() const;

private:
  bench_options options_;
  http_bench_server& http_;
  std::string log_dir_;
};

// Runs commands on a session, failing on a client error or a non-zero exit; returns the
// stdout of every command concatenated (as the result items carry it) or the problem.
std::pair<std::string, std::string> run_checked(client::session& s,
                                                const std::vector<std::string>& commands,
                                                const client::execute_options& options);
// A single-quoted shell word.
std::string shell_quote(const std::string& s);

// Nearest-rank percentile of unsorted samples (p in 0..100); 0 for no samples.
double percentile(std::vector<double> samples, double p);
double mean(const std::vector<double>& samples);
inline double seconds_between(std::chrono::steady_clock::time_point a,
                              std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
inline double mib(double kib) {
  return kib / 1024.0;
}

} // namespace agentrt::bench

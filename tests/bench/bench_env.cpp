// Shared plumbing of the benchmarks.
#include "bench_env.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace agentrt::bench {

bench_env::bench_env(bench_options options, http_bench_server& http, std::string log_dir)
    : options_(std::move(options)), http_(http), log_dir_(std::move(log_dir)) {}

std::pair<std::unique_ptr<runtime_handle>, std::string>
bench_env::acquire(const std::string& name, const std::vector<std::string>& extra_args) {
  if (!options_.runtime_is_ours())
    return {std::make_unique<runtime_handle>(options_.url, options_.runtime_pid, nullptr),
            std::string()};
  std::vector<std::string> args = options_.runtime_args;
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  auto launcher = std::make_unique<runtime_launcher>(options_.runtime_binary, std::move(args),
                                                     log_dir_ + "/runtime-" + name + ".log");
  if (const auto ec = launcher->start())
    return {nullptr, "cannot start " + options_.runtime_binary + ": " + ec.message() + "\n" +
                         launcher->log_tail()};
  const std::string url = launcher->url();
  const pid_t pid = launcher->pid();
  return {std::make_unique<runtime_handle>(url, pid, std::move(launcher)), std::string()};
}

std::pair<connected_runtime, std::string> bench_env::connect(const std::string& name) {
  auto [rt, why] = acquire(name);
  if (!rt)
    return {connected_runtime{}, why};
  auto [s, err] = client::session::connect(connect_options(rt->url()));
  if (err)
    return {connected_runtime{}, "connect: " + err.message + "\n" + rt->log_tail()};
  return {connected_runtime{std::move(rt), std::move(s)}, std::string()};
}

client::connect_options bench_env::connect_options(const std::string& url) const {
  client::connect_options c{url};
  c.token = options_.token;
  c.connect_timeout = std::chrono::seconds(60);
  return c;
}

std::chrono::milliseconds bench_env::request_timeout() const {
  return options_.quick ? std::chrono::minutes(2) : std::chrono::minutes(15);
}

std::pair<std::string, std::string> run_checked(client::session& s,
                                                const std::vector<std::string>& commands,
                                                const client::execute_options& options) {
  std::vector<protocol::command> cmds;
  for (const auto& c : commands) {
    protocol::command pc;
    pc.command = c;
    cmds.push_back(std::move(pc));
  }
  auto [result, error] = s.execute_commands(cmds, options);
  if (error)
    return {{}, "request failed: " + error.message + " " + error.metadata_json};
  std::string out;
  for (const auto& r : result.results) {
    if (r.exit_code != 0)
      return {{},
              "command exited " + std::to_string(r.exit_code) + ": " + r.command + "\n" +
                  r.stdout_text.value_or("")};
    out += r.stdout_text.value_or("");
  }
  if (result.results.size() != commands.size())
    return {{},
            "expected " + std::to_string(commands.size()) + " results, got " +
                std::to_string(result.results.size())};
  return {out, {}};
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (const char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

double percentile(std::vector<double> samples, double p) {
  if (samples.empty())
    return 0;
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * samples.size()));
  return samples[std::min(samples.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double mean(const std::vector<double>& samples) {
  if (samples.empty())
    return 0;
  return std::accumulate(samples.begin(), samples.end(), 0.0) / samples.size();
}

} // namespace agentrt::bench

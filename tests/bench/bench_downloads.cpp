// Download benchmark: a generated archive served by the bench over loopback HTTP, fetched
// and extracted by the runtime as a pre-execution downloadable.
#include <sstream>

#include "measurements.hpp"
#include "proc_probe.hpp"

namespace agentrt::bench {

measurement measure_download(bench_env& env, archive_kind kind) {
  const bool zip = kind == archive_kind::zip;
  const std::string id = zip ? "download_zip" : "download_tar_zst";
  measurement m{id, std::string("download + extract of a ") + (zip ? "zip" : "tar.zst") +
                        " served over loopback HTTP"};
  auto [archive, gen_error] =
      cached_archive(env.options().cache_dir, kind, env.options().archive_bytes);
  if (!gen_error.empty()) {
    m.fail("generating " + archive.path + ": " + gen_error);
    return m;
  }
  const std::string name = zip ? "bench.zip" : "bench.tar.zst";
  env.http().serve_file("/files/" + name, archive.path);
  auto [target, why] = env.connect(id);
  if (!target.session) {
    m.fail(why);
    return m;
  }
  const auto& rt = target.runtime;
  const auto& s = target.session;
  const std::string dir = env.work_path(id);
  client::execute_options opts;
  opts.timeout = env.request_timeout();
  opts.downloadables = {protocol::downloadable{env.http().url("/files/" + name), dir, {}}};
  const pid_t pid = rt->pid();
  rss_sampler sampler(pid);
  const double cpu0 = cpu_seconds(pid);
  const auto t0 = std::chrono::steady_clock::now();
  auto [unused, problem] = run_checked(*s, {"true"}, opts);
  const double secs = seconds_between(t0, std::chrono::steady_clock::now());
  const long peak_kib = sampler.stop();
  const double cpu = cpu_seconds(pid) - cpu0;
  if (!problem.empty()) {
    m.fail(problem);
    return m;
  }
  // Every regular file counted and sized; the archive itself must be gone.
  client::execute_options check;
  check.timeout = env.request_timeout();
  auto [counts, check_problem] = run_checked(
      *s,
      {"find " + shell_quote(dir) +
           " -type f -printf '%s\\n' | awk '{n++; s+=$1} END {printf \"%d %.0f\\n\", n, s}'",
       "rm -rf " + shell_quote(dir)},
      check);
  if (const auto e = s->end())
    m.fail("end session: " + e.message);
  std::uint64_t files = 0, bytes = 0;
  std::istringstream(counts) >> files >> bytes;
  if (!check_problem.empty())
    m.fail("checking the extracted files: " + check_problem);
  else if (files != archive.files || bytes != archive.unpacked_bytes)
    m.fail("extracted " + std::to_string(files) + " files / " + std::to_string(bytes) +
           " bytes, expected " + std::to_string(archive.files) + " / " +
           std::to_string(archive.unpacked_bytes));
  m.add("archive_mb_per_s", "archive bytes per second", archive.archive_bytes / 1e6 / secs, "MB/s");
  m.add("unpacked_mb_per_s", "extracted bytes per second", archive.unpacked_bytes / 1e6 / secs,
        "MB/s");
  m.add("seconds", "request (download, extract, `true`)", secs, "s");
  if (pid > 0) {
    m.add("runtime_peak_rss_mib", "runtime peak RSS", mib(peak_kib), "MiB", std::nullopt, "flat");
    m.add("runtime_cpu_s", "runtime CPU", cpu, "s");
  }
  char sizes[160];
  std::snprintf(sizes, sizeof sizes, "%.1f MiB archive, %llu files, %.1f MiB unpacked",
                archive.archive_bytes / 1048576.0, static_cast<unsigned long long>(archive.files),
                archive.unpacked_bytes / 1048576.0);
  m.notes.push_back(sizes);
  return m;
}

} // namespace agentrt::bench

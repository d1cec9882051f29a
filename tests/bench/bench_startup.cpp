// Startup benchmark: how soon a freshly exec'd runtime accepts connections, and what it
// holds in memory while idle.
#include <sys/wait.h>

#include <thread>

#include "measurements.hpp"
#include "proc_probe.hpp"

namespace agentrt::bench {

measurement measure_startup(bench_env& env) {
  measurement m{"startup", "exec -> listening and idle RSS, runtime started by the bench"};
  const auto& o = env.options();
  if (!o.runtime_is_ours()) {
    m.skip("needs a runtime the bench starts itself (not --url)");
    return m;
  }
  std::vector<double> listen_ms, idle_mib, private_mib;
  int unclean_exits = 0;
  for (int i = 0; i < o.startup_runs; ++i) {
    runtime_launcher rt(o.runtime_binary, o.runtime_args, env.log_dir() + "/runtime-startup.log");
    if (const auto ec = rt.start()) {
      m.fail("start " + std::to_string(i) + ": " + ec.message() + "\n" + rt.log_tail());
      break;
    }
    listen_ms.push_back(std::chrono::duration<double, std::milli>(rt.time_to_listen()).count());
    // Idle means after the start-up allocations have settled, with no session open.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    idle_mib.push_back(mib(read_memory(rt.pid()).rss_kib));
    private_mib.push_back(mib(private_kib(rt.pid())));
    const int status = rt.stop();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      ++unclean_exits;
  }
  if (listen_ms.empty())
    return m;
  m.add("listen_p50_ms", "exec -> listening, median", percentile(listen_ms, 50), "ms", at_most(10));
  m.add("listen_p90_ms", "exec -> listening, p90", percentile(listen_ms, 90), "ms", at_most(10));
  m.add("idle_rss_p50_mib", "idle RSS, median", percentile(idle_mib, 50), "MiB", at_most(8));
  m.add("idle_rss_max_mib", "idle RSS, max", percentile(idle_mib, 100), "MiB", at_most(8));
  m.add("idle_private_p50_mib", "idle private (USS), median", percentile(private_mib, 50), "MiB");
  // The floor under the start-up time: exec, dynamic linking and exit, no listener at all.
  std::vector<double> version_ms;
  for (int i = 0; i < o.startup_runs; ++i) {
    const auto probe = run_to_exit(o.runtime_binary, {"--version"});
    if (probe.status != 0)
      break;
    version_ms.push_back(std::chrono::duration<double, std::milli>(probe.elapsed).count());
  }
  if (!version_ms.empty())
    m.add("version_p50_ms", "`--version` exec -> exit, median", percentile(version_ms, 50), "ms");
  m.notes.push_back(
      std::to_string(listen_ms.size()) +
      " starts; listening = first accepted TCP "
      "connection (polled every 0.1 ms); idle RSS = VmRSS 100 ms later, of which everything but "
      "the private part (USS, from smaps_rollup) is shared pages, mostly libraries");
  if (unclean_exits > 0)
    m.notes.push_back(std::to_string(unclean_exits) + " starts did not exit 0 on SIGTERM");
  return m;
}

} // namespace agentrt::bench

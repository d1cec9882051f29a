// Command benchmarks: round-trip latency on a persistent session, output streaming
// throughput, and many concurrent sessions on one client I/O thread.
#include <sys/resource.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "agentrt/protocol/codec.hpp"
#include "byte_pattern.hpp"
#include "measurements.hpp"
#include "proc_probe.hpp"
#include "raw_stream.hpp"

namespace agentrt::bench {
namespace {

using steady = std::chrono::steady_clock;

protocol::command shell(std::string text) {
  protocol::command c;
  c.command = std::move(text);
  return c;
}

} // namespace

measurement measure_roundtrip(bench_env& env) {
  measurement m{"roundtrip", "`true` round trip (request -> result) on one persistent session"};
  auto [target, why] = env.connect("roundtrip");
  if (!target.session) {
    m.fail(why);
    return m;
  }
  const auto& rt = target.runtime;
  const auto& s = target.session;
  const std::vector<protocol::command> cmds = {shell("true")};
  client::execute_options opts;
  opts.timeout = std::chrono::seconds(60);
  const int warmup = 10;
  const int n = env.options().roundtrips;
  std::vector<double> ms;
  const double cpu0 = cpu_seconds(rt->pid());
  for (int i = 0; i < warmup + n; ++i) {
    const auto t0 = steady::now();
    auto [r, e] = s->execute_commands(cmds, opts);
    const auto t1 = steady::now();
    if (e || r.results.size() != 1 || r.results[0].exit_code != 0) {
      m.fail("round trip " + std::to_string(i) + ": " + (e ? e.message : "unexpected result"));
      return m;
    }
    if (i >= warmup)
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  const double cpu = cpu_seconds(rt->pid()) - cpu0;
  if (const auto e = s->end())
    m.fail("end session: " + e.message);
  m.add("p50_ms", "`true` round trip, p50", percentile(ms, 50), "ms", at_most(2));
  m.add("p99_ms", "`true` round trip, p99", percentile(ms, 99), "ms");
  m.add("mean_ms", "`true` round trip, mean", mean(ms), "ms");
  if (rt->pid() > 0)
    m.add("runtime_cpu_ms", "runtime CPU per round trip", cpu * 1000.0 / (warmup + n), "ms");
  m.notes.push_back(std::to_string(n) + " round trips after " + std::to_string(warmup) +
                    " warm-up; each spawns /bin/sh -c true");
  return m;
}

measurement measure_output(bench_env& env) {
  const std::uint64_t bytes = env.options().output_bytes;
  measurement m{"output",
                "stdout streaming of one command printing " + std::to_string(bytes >> 20) + " MiB"};
  auto [target, why] = env.connect("output");
  if (!target.session) {
    m.fail(why);
    return m;
  }
  const auto& rt = target.runtime;
  const auto& s = target.session;
  // Runs on the client's I/O thread; the bench's main thread only waits.
  pattern_checker checker;
  std::uint64_t frames = 0, stderr_bytes = 0;
  std::string stderr_head;
  client::execute_options opts;
  opts.timeout = env.request_timeout();
  opts.on_command_output = [&](const protocol::command_output_message& msg) {
    if (msg.stream == "stdout") {
      checker.feed(msg.text);
      ++frames;
    } else {
      stderr_bytes += msg.text.size();
      if (stderr_head.size() < 200)
        stderr_head += msg.text.substr(0, 200);
    }
  };
  const pid_t pid = rt->pid();
  rss_sampler sampler(pid);
  const double cpu0 = cpu_seconds(pid), self0 = self_cpu_seconds();
  const auto t0 = steady::now();
  auto [r, e] = s->execute_commands({shell(pattern_command(bytes))}, opts);
  const auto t1 = steady::now();
  const long peak_kib = sampler.stop();
  const double cpu = cpu_seconds(pid) - cpu0, self_cpu = self_cpu_seconds() - self0;
  if (e)
    m.fail("request: " + e.message);
  else if (r.results.size() != 1 || r.results[0].exit_code != 0)
    m.fail("command did not exit 0");
  if (checker.bytes() != bytes)
    m.fail("received " + std::to_string(checker.bytes()) + " stdout bytes, expected " +
           std::to_string(bytes));
  if (!checker.matches())
    m.fail("stdout differs from the pattern at byte " + std::to_string(checker.first_mismatch()));
  if (const auto ee = s->end())
    m.fail("end session: " + ee.message);
  const double secs = seconds_between(t0, t1);
  m.add("mb_per_s", "stdout streaming", bytes / 1e6 / secs, "MB/s", at_least(500));
  m.add("seconds", "time for the whole request", secs, "s");
  if (pid > 0) {
    m.add("runtime_peak_rss_mib", "runtime peak RSS while streaming", mib(peak_kib), "MiB",
          at_most(32));
    m.add("runtime_cpu_s_per_gib", "runtime CPU per GiB streamed", cpu * (1 << 30) / bytes, "s");
  }
  m.add("bench_cpu_s_per_gib", "bench (client) CPU per GiB", self_cpu * (1 << 30) / bytes, "s");
  m.add("frames", "command_output_message frames", static_cast<double>(frames), "");

  // The same command read by the bare client: what the runtime alone can stream.
  pattern_checker raw_checker;
  rss_sampler raw_sampler(pid);
  const double raw_cpu0 = cpu_seconds(pid);
  const auto raw = raw_stream(rt->url(), env.options().token, pattern_command(bytes),
                              env.request_timeout(), raw_checker);
  const long raw_peak_kib = raw_sampler.stop();
  const double raw_cpu = cpu_seconds(pid) - raw_cpu0;
  if (!raw.problem.empty()) {
    if (rt->url().rfind("ws://", 0) == 0)
      m.fail("bare WebSocket reader: " + raw.problem);
    else
      m.notes.push_back("bare WebSocket reader skipped: " + raw.problem);
  } else {
    if (raw_checker.bytes() != bytes)
      m.fail("bare reader received " + std::to_string(raw_checker.bytes()) +
             " stdout bytes, expected " + std::to_string(bytes));
    if (!raw_checker.matches())
      m.fail("bare reader: stdout differs from the pattern at byte " +
             std::to_string(raw_checker.first_mismatch()));
    m.add("raw_mb_per_s", "stdout streaming, bare WebSocket reader", bytes / 1e6 / raw.seconds,
          "MB/s", at_least(500));
    if (pid > 0) {
      m.add("raw_runtime_peak_rss_mib", "runtime peak RSS (bare reader)", mib(raw_peak_kib), "MiB",
            at_most(32));
      m.add("raw_runtime_cpu_s_per_gib", "runtime CPU per GiB (bare reader)",
            raw_cpu * (1 << 30) / bytes, "s");
    }
  }
  m.notes.push_back("command: " + pattern_command(bytes) +
                    "; every byte checked; the bare "
                    "reader skips UTF-8 validation and JSON decoding, so its figure is the "
                    "runtime's own limit");
  if (stderr_bytes + raw.stderr_bytes > 0)
    m.notes.push_back("stderr: " + std::to_string(stderr_bytes) + " bytes: " + stderr_head);
  return m;
}

measurement measure_sessions(bench_env& env) {
  const int n = env.options().sessions;
  measurement m{"sessions",
                std::to_string(n) + " sessions at once on one io_loop, each running one command"};
  auto [rt, why] = env.acquire("sessions");
  if (!rt) {
    m.fail(why);
    return m;
  }
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < static_cast<rlim_t>(n) + 100) {
    m.fail("RLIMIT_NOFILE " + std::to_string(lim.rlim_cur) + " is too low for " +
           std::to_string(n) + " sessions");
    return m;
  }
  std::mutex mutex;
  std::condition_variable cv;
  int finished = 0;
  std::vector<std::string> failures;
  std::vector<double> done_ms(static_cast<std::size_t>(n), 0);
  std::vector<std::shared_ptr<client::async_session>> keep(static_cast<std::size_t>(n));
  const pid_t pid = rt->pid();
  rss_sampler sampler(pid);
  const auto t0 = steady::now();
  {
    // Declared before the loop: the loop's destructor may still run session callbacks.
    const auto done = [&](int i, std::string failure) {
      std::lock_guard lock(mutex);
      if (!failure.empty())
        failures.push_back(std::to_string(i) + ": " + failure);
      done_ms[static_cast<std::size_t>(i)] =
          std::chrono::duration<double, std::milli>(steady::now() - t0).count();
      keep[static_cast<std::size_t>(i)].reset();
      ++finished;
      cv.notify_all();
    };
    client::io_loop loop;
    for (int i = 0; i < n; ++i) {
      client::async_session::connect(
          loop, env.connect_options(rt->url()),
          [&, i](std::shared_ptr<client::async_session> s, client::client_error e) {
            if (e)
              return done(i, "connect: " + e.message);
            keep[static_cast<std::size_t>(i)] = s;
            const std::string word = "session-" + std::to_string(i);
            client::execute_options opts;
            opts.timeout = env.request_timeout();
            s->execute_commands(
                {shell("echo " + word)}, opts,
                [&, i, s, word](client::execute_result r, client::client_error e2) {
                  if (e2)
                    return done(i, "execute: " + e2.message);
                  if (r.results.size() != 1 || r.results[0].stdout_text.value_or("") != word + "\n")
                    return done(i, "wrong output: " +
                                       (r.results.empty() ? std::string("no result")
                                                          : r.results[0].stdout_text.value_or("")));
                  s->end(
                      [&, i](client::client_error e3) { done(i, e3 ? "end: " + e3.message : ""); });
                });
          });
    }
    std::unique_lock lock(mutex);
    if (!cv.wait_for(lock, env.request_timeout(), [&] { return finished == n; }))
      m.fail(std::to_string(n - finished) + " of " + std::to_string(n) +
             " sessions did not finish in time");
    lock.unlock();
    if (finished != n) {
      // Closing what is left lets the loop (destroyed next) stop.
      std::lock_guard relock(mutex);
      for (auto& k : keep)
        k.reset();
    }
  }
  const double wall = seconds_between(t0, steady::now());
  const long peak_kib = sampler.stop();
  if (!failures.empty())
    m.fail(std::to_string(failures.size()) + " sessions failed, first: " + failures.front());
  m.add("wall_s", "all sessions done (connect, run, end)", wall, "s");
  m.add("failed", "failed sessions", static_cast<double>(failures.size()), "", at_most(0));
  m.add("p50_ms", "one session's completion, p50", percentile(done_ms, 50), "ms");
  m.add("p99_ms", "one session's completion, p99", percentile(done_ms, 99), "ms");
  if (pid > 0)
    m.add("runtime_peak_rss_mib", "runtime peak RSS", mib(peak_kib), "MiB");
  m.notes.push_back("each session: connect, `echo session-N` (stdout checked), end-session "
                    "handshake; completion measured from the first connect");
  return m;
}

} // namespace agentrt::bench

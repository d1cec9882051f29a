// Session-process benchmarks (docs/processes.md): keystroke -> echo latency through a
// pseudo-terminal, and what 100 idle session processes cost the runtime (memory, CPU). Raw
// WebSocket, so the figures are the runtime's, not a client library's.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "agentrt/protocol/codec.hpp"
#include "measurements.hpp"
#include "proc_probe.hpp"
#include "raw_ws_connection.hpp"

namespace agentrt::bench {
namespace {

namespace p = agentrt::protocol;

constexpr std::chrono::milliseconds io_timeout{30000};

double mib(long kib) {
  return static_cast<double>(kib) / 1024.0;
}

// Connects with the processes extension; "" or the problem (a runtime without the extension
// is reported as such, so the benchmark is skipped there).
std::string open_processes(raw_ws_connection& ws, const std::string& url,
                           const std::optional<std::string>& token) {
  if (auto problem = ws.connect(url, token, io_timeout, {"Agentrt-Extensions: processes"});
      !problem.empty())
    return problem;
  if (ws.response_head().find("processes") == std::string::npos)
    return "the runtime did not answer Agentrt-Extensions: processes";
  return {};
}

// The next message of type T; other messages are skipped. False on timeout or close.
template <class T> bool next(raw_ws_connection& ws, std::string& buffer, T& out) {
  while (ws.read_message(buffer)) {
    p::decode_result d = p::decode(buffer);
    if (!d.msg)
      continue;
    if (auto* t = std::get_if<T>(&*d.msg)) {
      out = std::move(*t);
      return true;
    }
  }
  return false;
}

} // namespace

measurement measure_pty_echo(bench_env& env) {
  const int keys = env.options().quick ? 200 : 1000;
  measurement m{"pty_echo", "keystroke -> echo through a session process's pseudo-terminal (" +
                                std::to_string(keys) + " keys)"};
  auto [rt, why] = env.acquire("pty_echo");
  if (!rt) {
    m.fail(why);
    return m;
  }
  raw_ws_connection ws;
  if (auto problem = open_processes(ws, rt->url(), env.options().token); !problem.empty()) {
    problem.rfind("the runtime did not", 0) == 0 ? m.skip(problem) : m.fail(problem);
    return m;
  }
  p::process_start_message start;
  start.command = "exec cat";
  start.pty = p::terminal_size{80, 24};
  std::string buffer;
  p::process_started_message started;
  if (!ws.send_text(p::encode(start)) || !next(ws, buffer, started)) {
    m.fail("no process_started_message");
    return m;
  }
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(keys));
  for (int i = 0; i < keys; ++i) {
    // Letters only: the terminal echoes them as typed (canonical mode), one byte each.
    const std::string key(1, static_cast<char>('a' + i % 26));
    const auto t0 = std::chrono::steady_clock::now();
    if (!ws.send_text(p::encode(p::process_stdin_message{started.process_id, key, false}))) {
      m.fail("cannot send a key");
      return m;
    }
    std::string echoed;
    while (echoed.find(key) == std::string::npos) {
      p::process_output_message out;
      if (!next(ws, buffer, out)) {
        m.fail("no echo for key " + std::to_string(i));
        return m;
      }
      echoed += out.data;
    }
    samples.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    // A line now and then, so that the terminal's line buffer never fills (4095 bytes).
    if (i % 64 == 63) {
      ws.send_text(p::encode(p::process_stdin_message{started.process_id, "\n", false}));
      std::string line;
      while (line.find('\n') == std::string::npos) {
        p::process_output_message out;
        if (!next(ws, buffer, out))
          break;
        line += out.data;
      }
    }
  }
  m.add("p50_ms", "keystroke -> echo p50", percentile(samples, 50), "ms", at_most(2));
  m.add("p90_ms", "keystroke -> echo p90", percentile(samples, 90), "ms");
  m.add("p99_ms", "keystroke -> echo p99", percentile(samples, 99), "ms");
  ws.close();
  return m;
}

measurement measure_idle_processes(bench_env& env) {
  constexpr int count = 100;
  const auto idle_for = std::chrono::seconds(env.options().quick ? 3 : 10);
  measurement m{"idle_processes",
                "runtime memory and CPU with " + std::to_string(count) + " idle session processes"};
  // More than the default --max-session-processes (64).
  auto [rt, why] = env.acquire("idle_processes", {"--max-session-processes", "128"});
  if (!rt) {
    m.fail(why);
    return m;
  }
  if (rt->pid() <= 0) {
    m.skip("needs the runtime's pid (--pid) for its memory and CPU");
    return m;
  }
  raw_ws_connection ws;
  if (auto problem = open_processes(ws, rt->url(), env.options().token); !problem.empty()) {
    problem.rfind("the runtime did not", 0) == 0 ? m.skip(problem) : m.fail(problem);
    return m;
  }
  const long before_kib = read_memory(rt->pid()).rss_kib;
  std::string buffer;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    p::process_start_message start;
    start.command = "exec sleep 1000";
    // Half of them with stdin open and half on a terminal: the costlier shapes.
    start.stdin_open = i % 2 == 0;
    if (i % 2 == 1)
      start.pty = p::terminal_size{80, 24};
    p::process_started_message started;
    if (!ws.send_text(p::encode(start)) || !next(ws, buffer, started)) {
      m.fail("process " + std::to_string(i) + " did not start");
      return m;
    }
  }
  const double start_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const long after_kib = read_memory(rt->pid()).rss_kib;
  const double cpu0 = cpu_seconds(rt->pid());
  std::this_thread::sleep_for(idle_for);
  const double cpu = cpu_seconds(rt->pid()) - cpu0;
  const double idle_s = std::chrono::duration<double>(idle_for).count();

  p::process_list_result_message list;
  if (!ws.send_text(p::encode(p::process_list_message{})) || !next(ws, buffer, list) ||
      list.processes.size() != static_cast<std::size_t>(count)) {
    m.fail("the list does not hold the " + std::to_string(count) + " processes");
  }
  m.add("start_ms", "start " + std::to_string(count) + " processes", start_ms, "ms");
  m.add("rss_delta_mib", "runtime RSS added", mib(after_kib - before_kib), "MiB");
  m.add("rss_per_process_kib", "runtime RSS per process",
        static_cast<double>(after_kib - before_kib) / count, "KiB");
  m.add("idle_cpu_percent", "runtime CPU while they idle", cpu / idle_s * 100.0, "%");
  m.notes.push_back("idle for " + std::to_string(static_cast<int>(idle_s)) +
                    " s; half with stdin open, half on a pseudo-terminal");
  ws.send_text(p::encode(p::end_session_message{}));
  p::end_session_confirm_message confirm;
  if (!next(ws, buffer, confirm))
    m.fail("no end_session_confirm_message after killing the processes");
  return m;
}

} // namespace agentrt::bench

// Durable-session benchmarks (docs/durable-sessions.md, issue #12 §5): what opting in costs a
// stream, how soon a resumed connection gets its first replayed message, and what the runtime
// holds in memory and on disk while a fast command prints to nobody.
#include <sys/stat.h>
#include <sys/types.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <thread>

#include "agentrt/protocol/codec.hpp"
#include "byte_pattern.hpp"
#include "measurements.hpp"
#include "proc_probe.hpp"
#include "raw_stream.hpp"
#include "raw_ws_connection.hpp"

namespace agentrt::bench {
namespace {

using steady = std::chrono::steady_clock;
namespace p = protocol;

double ms_between(steady::time_point a, steady::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// ---- a bare durable connection --------------------------------------------------------------

// A raw connection's next frame, decoded; false (with the problem) when none came or it does
// not decode.
bool next_frame(raw_ws_connection& ws, std::string& buffer, p::decode_result& out,
                std::string& problem) {
  if (!ws.read_message(buffer)) {
    problem = "connection closed or timed out";
    return false;
  }
  out = p::decode(buffer);
  if (!out.msg) {
    problem = "undecodable frame: " + out.error;
    return false;
  }
  return true;
}

std::string resume_url(const std::string& url, const p::session_info_message& info,
                       std::uint64_t last_seq) {
  return with_query(url, "session=" + info.session_id + "&resume_token=" + info.resume_token +
                             "&last_seq=" + std::to_string(last_seq));
}

// Connects (`session=new` or a resume URL) and reads the session_info_message that opens every
// durable connection; the problem in words, or "".
std::string open_durable(raw_ws_connection& ws, const std::string& url,
                         const std::optional<std::string>& token, std::chrono::milliseconds timeout,
                         p::session_info_message& info) {
  if (auto problem = ws.connect(url, token, timeout); !problem.empty())
    return problem;
  // A runtime without the extension (runtimeuse) says nothing until a request arrives.
  std::string head = ws.response_head();
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (head.find("\r\nagentrt-extensions: durable-sessions") == std::string::npos)
    return "the runtime did not open a durable session (no Agentrt-Extensions: durable-sessions)";
  std::string buffer, problem;
  p::decode_result d;
  if (!next_frame(ws, buffer, d, problem))
    return "no first frame: " + problem;
  const auto* got = std::get_if<p::session_info_message>(&*d.msg);
  if (!got)
    return std::string("the runtime did not open a durable session (first frame: ") +
           p::message_type_name(*d.msg) + ")";
  info = *got;
  return {};
}

// Cancels what is running, waits for its terminal, then ends the session (drain + confirm).
std::string cancel_and_end(raw_ws_connection& ws) {
  std::string buffer, problem;
  p::decode_result d;
  if (!ws.send_text(p::encode(p::cancel_message{})))
    return "cannot send cancel_message";
  for (;;) {
    if (!next_frame(ws, buffer, d, problem))
      return "no terminal after cancel: " + problem;
    if (std::holds_alternative<p::command_execution_result_message>(*d.msg) ||
        std::holds_alternative<p::error_message>(*d.msg))
      break;
  }
  if (!ws.send_text(p::encode(p::end_session_message{})))
    return "cannot send end_session_message";
  for (;;) {
    if (!next_frame(ws, buffer, d, problem))
      return "no end_session_confirm_message: " + problem;
    if (std::holds_alternative<p::end_session_confirm_message>(*d.msg))
      return {};
  }
}

// ---- the spill file -------------------------------------------------------------------------

struct spill_usage {
  std::uint64_t allocated = 0; // blocks on disk (the journal punches holes as it forgets)
  std::uint64_t apparent = 0;  // st_size
};

// The journal's spill file is unnamed (O_TMPFILE, or unlinked at once); it is found among the
// runtime's descriptors by the directory it was created in.
spill_usage read_spill(pid_t pid, const std::string& dir) {
  spill_usage u;
  std::error_code ec;
  const std::string fds = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& e : std::filesystem::directory_iterator(fds, ec)) {
    const auto target = std::filesystem::read_symlink(e.path(), ec);
    if (ec || target.string().rfind(dir + "/", 0) != 0)
      continue;
    struct stat st {};
    if (::stat(e.path().c_str(), &st) == 0) {
      u.allocated += static_cast<std::uint64_t>(st.st_blocks) * 512;
      u.apparent += static_cast<std::uint64_t>(st.st_size);
    }
  }
  return u;
}

struct series {
  double first = 0, min = 0, max = 0, last = 0;
  bool empty = true;
  void add(double v) {
    if (empty) {
      first = min = max = v;
      empty = false;
    }
    min = std::min(min, v);
    max = std::max(max, v);
    last = v;
  }
};

double to_mib(std::uint64_t bytes) {
  return static_cast<double>(bytes) / (1 << 20);
}

} // namespace

measurement measure_durable_output(bench_env& env) {
  const std::uint64_t bytes = env.options().output_bytes;
  const int rounds = env.options().quick ? 2 : 3;
  measurement m{"durable_output", "stdout streaming of one command printing " +
                                      std::to_string(bytes >> 20) +
                                      " MiB, durable session off vs on"};
  auto [rt, why] = env.acquire("durable_output");
  if (!rt) {
    m.fail(why);
    return m;
  }
  const std::string command = pattern_command(bytes);
  p::command request_command;
  request_command.command = command;
  // Best of `rounds` per mode and reader; the modes alternate so that a neighbour's load
  // hurts both alike.
  double client_best[2] = {0, 0}, raw_best[2] = {0, 0};
  long peak_kib[2] = {0, 0};
  bool runtime_durable = true;
  for (int round = 0; round < rounds; ++round) {
    for (int k = 0; k < 2; ++k) {
      const int durable = (round + k) % 2; // 0: off, 1: on (the array index)
      const char* mode = durable ? "on" : "off";
      client::connect_options o = env.connect_options(rt->url());
      o.durable = durable == 1;
      auto [s, err] = client::session::connect(o);
      if (err) {
        m.fail(std::string("connect (durable ") + mode + "): " + err.message);
        return m;
      }
      if (durable && !s->durable()) {
        runtime_durable = false;
        s->end();
        break;
      }
      pattern_checker checker;
      client::execute_options opts;
      opts.timeout = env.request_timeout();
      opts.on_command_output = [&](const p::command_output_message& msg) {
        if (msg.stream == "stdout")
          checker.feed(msg.text);
      };
      std::uint64_t gaps = 0;
      opts.on_gap = [&](const p::gap_message&) { ++gaps; };
      rss_sampler sampler(rt->pid());
      const auto t0 = steady::now();
      auto [r, e] = s->execute_commands({request_command}, opts);
      const double secs = seconds_between(t0, steady::now());
      peak_kib[durable] = std::max(peak_kib[durable], sampler.stop());
      if (e || r.results.size() != 1 || r.results[0].exit_code != 0)
        m.fail(std::string("client (durable ") + mode +
               "): " + (e ? e.message : "command did not exit 0"));
      if (checker.bytes() != bytes || !checker.matches() || gaps != 0)
        m.fail(std::string("client (durable ") + mode + "): " + std::to_string(checker.bytes()) +
               " stdout bytes, pattern " + (checker.matches() ? "intact" : "broken") + ", " +
               std::to_string(gaps) + " gap notice(s)");
      if (const auto ee = s->end())
        m.fail("end session: " + ee.message);
      client_best[durable] = std::max(client_best[durable], bytes / 1e6 / secs);

      pattern_checker raw_checker;
      const auto raw = raw_stream(rt->url(), env.options().token, command, env.request_timeout(),
                                  raw_checker, durable == 1);
      if (!raw.problem.empty())
        m.fail(std::string("bare reader (durable ") + mode + "): " + raw.problem);
      else if (raw.durable != (durable == 1))
        m.fail(std::string("bare reader (durable ") + mode + "): the runtime answered " +
               (raw.durable ? "with" : "without") + " a durable session");
      else if (raw_checker.bytes() != bytes || !raw_checker.matches())
        m.fail(std::string("bare reader (durable ") + mode +
               "): " + std::to_string(raw_checker.bytes()) + " stdout bytes, pattern " +
               (raw_checker.matches() ? "intact" : "broken"));
      else
        raw_best[durable] = std::max(raw_best[durable], bytes / 1e6 / raw.seconds);
    }
    if (!runtime_durable)
      break;
  }
  if (!runtime_durable) {
    m.skip("the runtime does not offer durable sessions (no session_info_message)");
    return m;
  }
  if (m.status == measurement::state::failed)
    return m;
  m.add("client_off_mb_per_s", "through the client, durable off", client_best[0], "MB/s");
  m.add("client_on_mb_per_s", "through the client, durable on", client_best[1], "MB/s");
  m.add("client_ratio", "through the client, on / off", client_best[1] / client_best[0], "",
        at_least(0.9));
  m.add("raw_off_mb_per_s", "bare reader, durable off", raw_best[0], "MB/s");
  m.add("raw_on_mb_per_s", "bare reader, durable on (ack / 256)", raw_best[1], "MB/s");
  m.add("raw_ratio", "bare reader, on / off", raw_best[1] / raw_best[0], "", at_least(0.9));
  if (rt->pid() > 0) {
    m.add("runtime_peak_rss_off_mib", "runtime peak RSS, durable off (client)", mib(peak_kib[0]),
          "MiB");
    m.add("runtime_peak_rss_on_mib", "runtime peak RSS, durable on (client)", mib(peak_kib[1]),
          "MiB");
  }
  m.notes.push_back("best of " + std::to_string(rounds) +
                    " runs per mode and reader, modes alternating; command: " + command +
                    "; every byte checked; the client acknowledges every 256 messages or 1 s, "
                    "the bare reader every 256 messages");
  return m;
}

measurement measure_resume(bench_env& env) {
  const int cuts = env.options().resume_cuts;
  measurement m{"resume", "reconnect -> first replayed message over " + std::to_string(cuts) +
                              " dropped connections of one durable session"};
  auto [rt, why] = env.acquire("resume");
  if (!rt) {
    m.fail(why);
    return m;
  }
  const auto timeout = std::chrono::milliseconds(30000);
  const auto& token = env.options().token;
  auto ws = std::make_unique<raw_ws_connection>();
  p::session_info_message info;
  if (auto problem = open_durable(*ws, with_query(rt->url(), "session=new"), token, timeout, info);
      !problem.empty()) {
    if (problem.rfind("the runtime did not", 0) == 0)
      m.skip(problem);
    else
      m.fail(problem);
    return m;
  }
  // A line every few milliseconds, for longer than the cuts take (cancelled at the end).
  p::command_execution_message req;
  req.commands.emplace_back();
  req.commands.back().command = "i=0; while [ $i -lt " + std::to_string(cuts * 100 + 2000) +
                                " ]; do i=$((i+1)); echo line$i; sleep 0.002; done";
  if (!ws->send_text(p::encode(req))) {
    m.fail("cannot send the request");
    return m;
  }
  std::string out, buffer, problem;
  std::uint64_t last = 0;
  p::decode_result d;
  // Takes one numbered frame: its seq must follow the last one; output is kept.
  const auto take = [&]() -> bool {
    if (!d.seq || *d.seq != last + 1) {
      problem = "expected seq " + std::to_string(last + 1) + ", got " +
                (d.seq ? std::to_string(*d.seq) : std::string("none")) + " (" +
                p::message_type_name(*d.msg) + ")";
      return false;
    }
    last = *d.seq;
    if (auto* o = std::get_if<p::command_output_message>(&*d.msg); o && o->stream == "stdout")
      out += o->text;
    if (std::holds_alternative<p::command_execution_result_message>(*d.msg) ||
        std::holds_alternative<p::error_message>(*d.msg)) {
      problem = "the command ended before the cuts did";
      return false;
    }
    return true;
  };
  std::vector<double> first_ms, info_ms;
  for (int cut = 0; cut < cuts; ++cut) {
    // A few messages on this connection, then the connection drops.
    for (int n = 0; n < 3; ++n) {
      if (!next_frame(*ws, buffer, d, problem) || !take()) {
        m.fail("cut " + std::to_string(cut) + ": " + problem);
        return m;
      }
    }
    ws->drop();
    // Output goes on into the journal meanwhile.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ws = std::make_unique<raw_ws_connection>();
    const auto t0 = steady::now();
    p::session_info_message again;
    if (auto problem2 = open_durable(*ws, resume_url(rt->url(), info, last), token, timeout, again);
        !problem2.empty()) {
      m.fail("resume " + std::to_string(cut) + ": " + problem2);
      return m;
    }
    const auto t_info = steady::now();
    if (!next_frame(*ws, buffer, d, problem) || !take()) {
      m.fail("resume " + std::to_string(cut) + ": " + problem);
      return m;
    }
    const auto t_first = steady::now();
    if (!again.resumed)
      m.fail("resume " + std::to_string(cut) + ": session_info_message says resumed: false");
    first_ms.push_back(ms_between(t0, t_first));
    info_ms.push_back(ms_between(t0, t_info));
  }
  if (auto problem2 = cancel_and_end(*ws); !problem2.empty())
    m.fail(problem2);
  // Every line exactly once and in order across all connections.
  std::size_t pos = 0, lines = 0;
  while (pos < out.size()) {
    const std::size_t nl = out.find('\n', pos);
    const std::string expected = "line" + std::to_string(lines + 1);
    if (nl == std::string::npos || out.compare(pos, nl - pos, expected) != 0) {
      m.fail("stdout line " + std::to_string(lines + 1) + " is not " + expected);
      break;
    }
    ++lines;
    pos = nl + 1;
  }
  m.add("p50_ms", "reconnect -> first replayed msg, p50", percentile(first_ms, 50), "ms",
        at_most(5));
  m.add("p90_ms", "reconnect -> first replayed msg, p90", percentile(first_ms, 90), "ms");
  m.add("max_ms", "reconnect -> first replayed msg, max", percentile(first_ms, 100), "ms");
  m.add("session_info_p50_ms", "reconnect -> session_info_message, p50", percentile(info_ms, 50),
        "ms");
  m.add("lines", "lines, each once and in order", static_cast<double>(lines), "");
  m.notes.push_back("bare WebSocket client on loopback: TCP connect + upgrade with session, "
                    "resume_token and last_seq in the query + session_info_message + the first "
                    "numbered message; each connection reads 3 messages, drops (no close "
                    "frame), waits 10 ms, resumes; the command prints a line every ~2 ms");
  return m;
}

measurement measure_detached_rss(bench_env& env) {
  const int seconds = env.options().detach_seconds;
  const std::uint64_t rate = env.options().detach_rate;
  const std::uint64_t memory_budget = 8ull << 20;
  const std::uint64_t disk_budget = env.options().quick ? 64ull << 20 : 256ull << 20;
  measurement m{"detached_rss", "runtime memory and spill file while a command prints ~" +
                                    std::to_string(rate / 1000000) + " MB/s to nobody for " +
                                    std::to_string(seconds) + " s"};
  if (!env.options().runtime_is_ours()) {
    m.skip("needs a runtime the bench starts itself (journal flags and spill directory)");
    return m;
  }
  const std::string spill_dir = env.log_dir() + "/journal";
  std::error_code ec;
  std::filesystem::create_directories(spill_dir, ec);
  auto [rt, why] = env.acquire(
      "detached_rss", {"--journal-memory-bytes", std::to_string(memory_budget),
                       "--journal-disk-bytes", std::to_string(disk_budget), "--journal-dir",
                       spill_dir, "--resume-window", std::to_string(seconds + 120)});
  if (!rt) {
    m.fail(why);
    return m;
  }
  const pid_t pid = rt->pid();
  const double idle_rss = mib(read_memory(pid).rss_kib);
  const auto timeout = std::chrono::milliseconds(60000);
  const auto& token = env.options().token;
  auto ws = std::make_unique<raw_ws_connection>();
  p::session_info_message info;
  if (auto problem = open_durable(*ws, with_query(rt->url(), "session=new"), token, timeout, info);
      !problem.empty()) {
    m.fail(problem);
    return m;
  }
  // 5 MiB of the pattern (a multiple of its 64-byte line, so the chunks join up) per period
  // of 5 MiB / rate, each chunk paced against the start so that the rate holds on average
  // (or is as high as the machine allows); the command reports its duration on stderr.
  const std::uint64_t chunk = 5ull << 20;
  const std::uint64_t period_ns = chunk * 1000000000ull / rate;
  const std::uint64_t chunks =
      std::max<std::uint64_t>(1, static_cast<std::uint64_t>(seconds) * 1000000000ull / period_ns);
  const std::uint64_t total = chunks * chunk;
  p::command_execution_message req;
  req.commands.emplace_back();
  req.commands.back().command =
      "s=$(date +%s%N); i=0; while [ $i -lt " + std::to_string(chunks) + " ]; do " +
      pattern_command(chunk) + "; i=$((i+1)); d=$((s + i*" + std::to_string(period_ns) +
      " - $(date +%s%N))); if [ $d -gt 0 ]; then sleep $(printf '%d.%09d' $((d/1000000000)) "
      "$((d%1000000000))); fi; done; echo $(($(date +%s%N) - s)) >&2";
  if (!ws->send_text(p::encode(req))) {
    m.fail("cannot send the request");
    return m;
  }
  pattern_checker checker;
  std::string buffer, problem, stderr_text;
  p::decode_result d;
  std::uint64_t last = 0, gap_bytes = 0, gap_notices = 0, gap_messages = 0;
  bool terminal = false;
  int exit_code = -1;
  // One frame of the stream (before the drop or in the replay).
  const auto take = [&]() {
    if (d.seq)
      last = *d.seq;
    if (auto* g = std::get_if<p::gap_message>(&*d.msg)) {
      ++gap_notices;
      last = g->to_seq;
      for (const auto& lost : g->lost) {
        if (lost.stream == "stdout") {
          gap_bytes += lost.bytes;
          gap_messages += lost.messages;
          checker.skip(lost.bytes);
        }
      }
    } else if (auto* o = std::get_if<p::command_output_message>(&*d.msg)) {
      if (o->stream == "stdout")
        checker.feed(o->text);
      else
        stderr_text += o->text;
    } else if (auto* r = std::get_if<p::command_execution_result_message>(&*d.msg)) {
      terminal = true;
      exit_code = r->results.size() == 1 ? r->results[0].exit_code : -1;
    } else if (auto* e = std::get_if<p::error_message>(&*d.msg)) {
      terminal = true;
      problem = "error_message: " + e->error;
    }
  };
  // Attached until the first output arrives; acknowledged; then the connection drops.
  while (checker.bytes() == 0 && !terminal) {
    if (!next_frame(*ws, buffer, d, problem)) {
      m.fail("before the drop: " + problem);
      return m;
    }
    take();
  }
  p::ack_message ack;
  ack.seq = last;
  ws->send_text(p::encode(ack));
  std::this_thread::sleep_for(std::chrono::milliseconds(20)); // the ack lands before the drop
  const std::uint64_t before_drop = checker.bytes();
  const double rss_at_drop = mib(read_memory(pid).rss_kib);
  ws->drop();
  series rss, spill;
  std::vector<double> rss_second_half;
  const auto t_drop = steady::now();
  const auto t_end = t_drop + std::chrono::seconds(seconds);
  while (steady::now() < t_end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const double r = mib(read_memory(pid).rss_kib);
    rss.add(r);
    if (steady::now() - t_drop > std::chrono::seconds(seconds) / 2)
      rss_second_half.push_back(r);
    spill.add(to_mib(read_spill(pid, spill_dir).allocated));
  }
  const spill_usage spill_end = read_spill(pid, spill_dir);
  // Resume and collect what the journal kept: gap notices + replayed bytes must add up.
  ws = std::make_unique<raw_ws_connection>();
  p::session_info_message again;
  if (auto problem2 = open_durable(*ws, resume_url(rt->url(), info, last), token, timeout, again);
      !problem2.empty()) {
    m.fail("resume: " + problem2);
    return m;
  }
  const auto t_replay = steady::now();
  const std::uint64_t before_replay = checker.bytes();
  while (!terminal) {
    if (!next_frame(*ws, buffer, d, problem)) {
      m.fail("replay: " + problem);
      return m;
    }
    take();
  }
  const double replay_s = seconds_between(t_replay, steady::now());
  const std::uint64_t replayed = checker.bytes() - before_replay - gap_bytes;
  if (!problem.empty())
    m.fail(problem);
  if (exit_code != 0)
    m.fail("the command exited " + std::to_string(exit_code));
  if (checker.bytes() != total)
    m.fail("received " + std::to_string(before_drop) + " + replayed " + std::to_string(replayed) +
           " + gap notices " + std::to_string(gap_bytes) + " stdout bytes, the command printed " +
           std::to_string(total));
  if (!checker.matches())
    m.fail("stdout differs from the pattern at byte " + std::to_string(checker.first_mismatch()));
  ws->send_text(p::encode(p::end_session_message{}));
  const double produced_s = std::strtod(stderr_text.c_str(), nullptr) / 1e9;
  const double journal_mib = to_mib(memory_budget);
  m.add("rss_idle_mib", "runtime RSS, idle", idle_rss, "MiB");
  m.add("rss_at_drop_mib", "runtime RSS when the connection dropped", rss_at_drop, "MiB");
  m.add("rss_min_mib", "runtime RSS while detached, min", rss.min, "MiB");
  m.add("rss_max_mib", "runtime RSS while detached, max", rss.max, "MiB");
  m.add("rss_last_mib", "runtime RSS while detached, last", rss.last, "MiB");
  m.add("rss_growth_mib", "RSS growth: max detached - at the drop", rss.max - rss_at_drop, "MiB",
        at_most(journal_mib));
  if (!rss_second_half.empty()) {
    const auto [lo, hi] = std::minmax_element(rss_second_half.begin(), rss_second_half.end());
    m.add("rss_second_half_drift_mib", "RSS range over the second half", *hi - *lo, "MiB",
          std::nullopt, "flat");
  }
  // The kept frames' bytes are within the budget; the blocks at either end are shared with
  // frames already forgotten.
  m.add("spill_max_mib", "spill file on disk, max", spill.max, "MiB",
        at_most(to_mib(disk_budget + 2 * 4096)));
  m.add("spill_last_mib", "spill file on disk, at the resume", to_mib(spill_end.allocated), "MiB");
  if (produced_s > 0)
    m.add("produced_mb_per_s", "the command's output rate", total / 1e6 / produced_s, "MB/s");
  m.add("printed_mib", "printed by the command", to_mib(total), "MiB");
  m.add("gap_mib", "dropped and reported by gap notices", to_mib(gap_bytes), "MiB");
  m.add("replayed_mib", "replayed on resume", to_mib(replayed), "MiB");
  m.add("replay_mb_per_s", "replay to the bare reader", replayed / 1e6 / replay_s, "MB/s");
  m.notes.push_back("journal: --journal-memory-bytes " + std::to_string(memory_budget) +
                    " --journal-disk-bytes " + std::to_string(disk_budget) + "; " +
                    std::to_string(gap_notices) + " gap notice(s) for " +
                    std::to_string(gap_messages) +
                    " messages; RSS sampled every 100 ms, "
                    "the spill file's allocated blocks (it is sparse: the journal punches holes "
                    "as it forgets; apparent size at the resume " +
                    std::to_string(spill_end.apparent >> 20) +
                    " MiB); stdout bytes checked: received + gaps + replayed = printed");
  return m;
}

} // namespace agentrt::bench

// Artifact benchmarks: how soon a closed file is announced, and how fast (and in how much
// memory) a large artifact is uploaded to the bench's PUT receiver.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <sstream>

#include "byte_pattern.hpp"
#include "measurements.hpp"
#include "proc_probe.hpp"
#include "socket_io.hpp"

namespace agentrt::bench {
namespace {

using steady = std::chrono::steady_clock;

std::int64_t realtime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The loopback reference for uploads: the same receiver fed by a plain socket writer.
// Returns MB/s, or 0 when it failed.
double loopback_put_mb_per_s(http_bench_server& http, const std::string& host,
                             std::uint64_t bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(http.port());
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0)
      ::close(fd);
    return 0;
  }
  const std::string path = "/pattern/loopback-reference";
  const std::string head = "PUT " + path + " HTTP/1.1\r\nHost: " + host +
                           "\r\nContent-Length: " + std::to_string(bytes) + "\r\n\r\n";
  // Whole pattern lines, so that every chunk starts at phase 0.
  std::string chunk;
  while (chunk.size() < 256 * 1024)
    chunk += pattern_line;
  const auto t0 = steady::now();
  bool ok = send_all(fd, head.data(), head.size());
  for (std::uint64_t sent = 0; ok && sent < bytes;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), bytes - sent));
    ok = send_all(fd, chunk.data(), n);
    sent += n;
  }
  const auto rec = http.wait_put(path, std::chrono::minutes(5));
  ::close(fd);
  if (!ok || !rec || !rec->pattern_ok)
    return 0;
  return bytes / 1e6 / seconds_between(t0, rec->done_at);
}

} // namespace

measurement measure_announce(bench_env& env) {
  const int n = env.options().announce_files;
  measurement m{"announce", "file close in a watched directory -> artifact_upload_request"};
  auto [target, why] = env.connect("announce");
  if (!target.session) {
    m.fail(why);
    return m;
  }
  const auto& s = target.session;
  const std::string dir = env.work_path("announce");
  std::mutex mutex;
  std::map<std::string, std::vector<std::int64_t>> announced; // filename -> arrival times
  client::execute_options opts;
  opts.timeout = env.request_timeout();
  opts.artifacts_dirs = {dir};
  opts.on_artifact_upload_request = [&](const protocol::artifact_upload_request_message& req,
                                        client::upload_reply reply) {
    const std::int64_t now = realtime_ns();
    {
      std::lock_guard lock(mutex);
      announced[req.filename].push_back(now);
    }
    reply(client::upload_target{env.http().url("/sink/announce/" + req.filename)});
  };
  // The timestamp is taken just before the file is opened, so the delay measured includes
  // the (microsecond) write and close: it can only overstate the runtime's delay.
  const std::string script =
      "mkdir -p " + shell_quote(dir) + " && cd " + shell_quote(dir) + " && i=0; while [ $i -lt " +
      std::to_string(n) +
      " ]; do t=$(date +%s%N); printf 'bench artifact %s\\n' $i > f$i.txt; echo f$i.txt $t; "
      "sleep 0.02; i=$((i+1)); done";
  auto [out, problem] = run_checked(*s, {script}, opts);
  if (!problem.empty()) {
    m.fail(problem);
    return m;
  }
  // end() drains: it returns once every announcement is answered and uploaded.
  if (const auto e = s->end())
    m.fail("end session: " + e.message);
  std::vector<double> delays_ms;
  int written = 0, duplicates = 0, missing = 0;
  std::istringstream lines(out);
  std::string name;
  std::int64_t closed_at = 0;
  std::lock_guard lock(mutex);
  while (lines >> name >> closed_at) {
    ++written;
    const auto it = announced.find(name);
    if (it == announced.end()) {
      ++missing;
      continue;
    }
    duplicates += static_cast<int>(it->second.size()) - 1;
    delays_ms.push_back((it->second.front() - closed_at) / 1e6);
  }
  if (written != n)
    m.fail("the command reported " + std::to_string(written) + " files, expected " +
           std::to_string(n));
  if (missing > 0)
    m.fail(std::to_string(missing) + " files were never announced");
  if (duplicates > 0)
    m.fail(std::to_string(duplicates) + " duplicate announcements");
  if (announced.size() != static_cast<std::size_t>(written))
    m.fail(std::to_string(announced.size()) + " distinct files announced, " +
           std::to_string(written) + " written");
  m.add("p50_ms", "close -> announce, p50", percentile(delays_ms, 50), "ms", at_most(50));
  m.add("p90_ms", "close -> announce, p90", percentile(delays_ms, 90), "ms", at_most(50));
  m.add("p99_ms", "close -> announce, p99", percentile(delays_ms, 99), "ms", at_most(50));
  m.add("max_ms", "close -> announce, max", percentile(delays_ms, 100), "ms");
  m.notes.push_back(std::to_string(n) + " files, one every ~20 ms; compares the command's "
                                        "CLOCK_REALTIME with the bench's (same machine only)");
  return m;
}

measurement measure_upload(bench_env& env) {
  const std::uint64_t bytes = env.options().upload_bytes;
  measurement m{"upload", "one " + std::to_string(bytes >> 20) +
                              " MiB artifact PUT to the bench's loopback receiver"};
  const double reference = loopback_put_mb_per_s(env.http(), env.options().http_host, bytes);
  auto [target, why] = env.connect("upload");
  if (!target.session) {
    m.fail(why);
    return m;
  }
  const auto& rt = target.runtime;
  const auto& s = target.session;
  const std::string src = env.work_path("upload-src"), dir = env.work_path("upload");
  client::execute_options prep;
  prep.timeout = env.request_timeout();
  // Written outside the watched directory and moved in, so it is announced complete once.
  if (auto [out, problem] =
          run_checked(*s,
                      {"mkdir -p " + shell_quote(src) + " && " + pattern_command(bytes) + " > " +
                       shell_quote(src + "/big.bin")},
                      prep);
      !problem.empty()) {
    m.fail("preparing the file: " + problem);
    return m;
  }
  const std::string put_path = "/pattern/upload/big.bin";
  std::mutex mutex;
  steady::time_point answered_at{};
  int announcements = 0;
  client::execute_options opts;
  opts.timeout = env.request_timeout();
  opts.artifacts_dirs = {dir};
  opts.on_artifact_upload_request = [&](const protocol::artifact_upload_request_message& req,
                                        client::upload_reply reply) {
    {
      std::lock_guard lock(mutex);
      ++announcements;
      answered_at = steady::now();
    }
    if (req.filename != "big.bin")
      return reply(std::nullopt);
    reply(client::upload_target{env.http().url(put_path)});
  };
  const pid_t pid = rt->pid();
  rss_sampler sampler(pid);
  const double cpu0 = cpu_seconds(pid);
  auto [out, problem] =
      run_checked(*s,
                  {"mkdir -p " + shell_quote(dir) + " && mv " + shell_quote(src + "/big.bin") +
                   " " + shell_quote(dir + "/big.bin")},
                  opts);
  if (!problem.empty())
    m.fail(problem);
  const auto rec =
      problem.empty() ? env.http().wait_put(put_path, env.request_timeout()) : std::nullopt;
  const long peak_kib = sampler.stop();
  const double cpu = cpu_seconds(pid) - cpu0;
  run_checked(*s, {"rm -rf " + shell_quote(src) + " " + shell_quote(dir)}, prep);
  if (const auto e = s->end())
    m.fail("end session: " + e.message);
  if (!problem.empty())
    return m;
  std::lock_guard lock(mutex);
  if (announcements != 1)
    m.fail(std::to_string(announcements) + " announcements, expected 1");
  if (!rec) {
    m.fail("the upload did not arrive within the request timeout");
    return m;
  }
  if (!rec->complete || rec->bytes != bytes || rec->content_length != bytes)
    m.fail("received " + std::to_string(rec->bytes) + " of Content-Length " +
           std::to_string(rec->content_length) + ", expected " + std::to_string(bytes));
  else if (!rec->pattern_ok)
    m.fail("the uploaded body differs from the file");
  const double secs = seconds_between(answered_at, rec->done_at);
  char ref[64];
  std::snprintf(ref, sizeof ref, "loopback %.0f", reference);
  m.add("mb_per_s", "upload (answer -> last byte received)", bytes / 1e6 / secs, "MB/s",
        std::nullopt, ref);
  m.add("loopback_mb_per_s", "same receiver, plain socket writer", reference, "MB/s");
  if (pid > 0) {
    m.add("runtime_rss_before_mib", "runtime RSS before", mib(sampler.start_kib()), "MiB");
    m.add("runtime_peak_rss_mib", "runtime peak RSS while uploading", mib(peak_kib), "MiB",
          std::nullopt, "flat");
    m.add("runtime_cpu_s_per_gib", "runtime CPU per GiB uploaded", cpu * (1 << 30) / bytes, "s");
  }
  m.notes.push_back("file written by `yes | head -c` (page cache), moved into the watched "
                    "directory; receiver checks every byte");
  return m;
}

} // namespace agentrt::bench

// Files API throughput against a plain loopback TCP socket moving the same bytes with the same
// buffer size: the ceiling this machine puts on any transfer. Figures only; correctness checks
// (byte counts, the file's size on the runtime) decide the status.
#include "bench_files.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "agentrt/client/files.hpp"
#include "proc_probe.hpp"

namespace agentrt::bench {
namespace {

constexpr std::size_t chunk = 256 * 1024;

double mb_per_s(std::uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0;
}

// bytes from a writer thread to a reader over 127.0.0.1; seconds, or -1 on a socket error.
double loopback_seconds(std::uint64_t bytes) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (listener >= 0)
      ::close(listener);
    return -1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::thread writer([&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      std::vector<char> buf(chunk, 'x');
      for (std::uint64_t left = bytes; left > 0;) {
        const ssize_t n =
            ::send(fd, buf.data(), std::min<std::uint64_t>(left, buf.size()), MSG_NOSIGNAL);
        if (n <= 0)
          break;
        left -= static_cast<std::uint64_t>(n);
      }
    }
    ::close(fd);
  });
  const int conn = ::accept(listener, nullptr, nullptr);
  std::uint64_t got = 0;
  if (conn >= 0) {
    std::vector<char> buf(chunk);
    for (;;) {
      const ssize_t n = ::recv(conn, buf.data(), buf.size(), 0);
      if (n <= 0)
        break;
      got += static_cast<std::uint64_t>(n);
    }
    ::close(conn);
  }
  writer.join();
  ::close(listener);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return got == bytes ? secs : -1;
}

} // namespace

measurement measure_files(bench_env& env) {
  measurement m("files", "files API: one file up (PUT) and down (GET) vs a plain loopback socket");
  const std::uint64_t bytes = env.options().upload_bytes;
  auto [rt, why] = env.acquire("files");
  if (!rt) {
    m.fail(why);
    return m;
  }
  client::files_options fo;
  fo.url = rt->url();
  fo.token = env.options().token;
  client::files_client files(fo);
  const std::string remote = env.work_path("files-bench.bin");

  rss_sampler up_rss(rt->pid());
  std::uint64_t sent = 0;
  std::vector<char> pattern(chunk);
  for (std::size_t i = 0; i < pattern.size(); ++i)
    pattern[i] = static_cast<char>(i * 131 + 7);
  const auto t0 = std::chrono::steady_clock::now();
  const auto put = files.write(
      remote,
      [&](char* buf, std::size_t n) {
        const std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>({n, pattern.size(), bytes - sent}));
        std::memcpy(buf, pattern.data(), take);
        sent += take;
        return take;
      },
      bytes);
  const auto t1 = std::chrono::steady_clock::now();
  const long up_peak = up_rss.stop();
  if (!put.ok()) {
    if (put.status == 404 && put.code != "not_found")
      m.skip("the runtime has no files API");
    else
      m.fail("PUT: " + put.error.message + "\n" + rt->log_tail());
    return m;
  }
  rss_sampler down_rss(rt->pid());
  std::uint64_t got = 0;
  const auto get = files.read(remote, [&](const char*, std::size_t n) {
    got += n;
    return true;
  });
  const auto t2 = std::chrono::steady_clock::now();
  const long down_peak = down_rss.stop();
  files.remove(remote);
  if (!get.ok())
    m.fail("GET: " + get.error.message);
  if (got != bytes)
    m.fail("GET delivered " + std::to_string(got) + " of " + std::to_string(bytes) + " bytes");

  const double base = loopback_seconds(bytes);
  const auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  const double up = mb_per_s(bytes, secs(t1 - t0));
  const double down = mb_per_s(bytes, secs(t2 - t1));
  const double loop = base > 0 ? mb_per_s(bytes, base) : 0;
  m.add("up_mb_s", "PUT /files", up, "MB/s");
  m.add("down_mb_s", "GET /files", down, "MB/s");
  m.add("loopback_mb_s", "plain loopback socket, same bytes", loop, "MB/s");
  if (loop > 0) {
    m.add("up_pct_of_loopback", "PUT as % of loopback", 100 * up / loop, "%", at_least(50));
    m.add("down_pct_of_loopback", "GET as % of loopback", 100 * down / loop, "%", at_least(50));
  }
  if (rt->pid() > 0) {
    m.add("up_peak_rss_mib", "runtime peak RSS during PUT", up_peak / 1024.0, "MiB", std::nullopt,
          "flat");
    m.add("down_peak_rss_mib", "runtime peak RSS during GET", down_peak / 1024.0, "MiB",
          std::nullopt, "flat");
  }
  m.notes.push_back(std::to_string(bytes) +
                    " bytes each way; the file is written to disk on the "
                    "runtime's side (" +
                    remote + "), the loopback reference writes nowhere");
  return m;
}

} // namespace agentrt::bench

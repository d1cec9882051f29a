// SIGTERM while 50 sessions stream output to clients that read slowly, and 10 more sit idle:
// every client must see the 1001 close. The close frame used to be queued after the request's
// processes were dead, behind megabytes of output the client had not read yet, and only 10-22
// of 60 clients saw it before the runtime exited; now the runtime drops queued output and sends
// the close at once, and kills the request's processes once it is written.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agentrt/protocol/codec.hpp"
#include "support/process_resources.hpp"
#include "support/protocol_helpers.hpp"
#include "support/raw_ws_socket.hpp"
#include "support/runtime_process.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;

struct client_state {
  raw_ws_socket sock;
  int close_code = -1;      // -1: no close frame (yet)
  double closed_after = -1; // seconds after SIGTERM
  std::uint64_t read_after_term = 0;
};

// Whether pid has exited (a zombie not yet reaped counts: the exit status is collected later).
bool exited(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z';
}

// Reads at most budget bytes from c (a slow client reads a little at a time) and notes a close.
void read_slowly(client_state& c, std::size_t budget, bool terminated,
                 std::chrono::steady_clock::time_point term_at) {
  if (c.close_code >= 0 || c.sock.eof())
    return;
  const long n = c.sock.read_some(0ms, budget);
  if (n > 0 && terminated)
    c.read_after_term += static_cast<std::uint64_t>(n);
  while (auto f = c.sock.next_frame()) {
    if (f->opcode == raw_ws_socket::op_close) {
      c.close_code = raw_ws_socket::close_code(*f);
      c.closed_after =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - term_at).count();
      return;
    }
  }
}

TEST(ShutdownUnderLoad, EveryClientSeesTheCloseWhileSessionsStream) {
  runtime_process rt;
  constexpr int streaming = 50;
  constexpr int idle = 10;
  // At most 8 KiB per client every 10 ms (under 0.8 MB/s each), far below what the commands
  // print. Ahead of the close frame are what the kernel holds for the socket (a few MB on
  // loopback) and what the runtime queued: 4 to 8 MiB in the old runtime, so its close frames
  // were still unwritten when it exited 4 s later; now at most ~0.1 MiB.
  constexpr std::size_t slice = 8 * 1024;
  std::vector<client_state> clients(streaming + idle);
  for (auto& c : clients) {
    ASSERT_TRUE(c.sock.connect(rt.port()));
    ASSERT_TRUE(c.sock.upgrade());
  }
  const auto before = resources_of(rt.pid());
  for (int i = 0; i < streaming; ++i) {
    const std::string frame =
        p::encode(exec_request({"exec yes shutdown-under-load-" + std::to_string(i)}));
    ASSERT_TRUE(
        clients[i].sock.send_all(raw_ws_socket::client_frame(raw_ws_socket::op_text, frame), 5s));
  }
  const auto stream_until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < stream_until) {
    for (auto& c : clients)
      read_slowly(c, slice, false, {});
    std::this_thread::sleep_for(10ms);
  }
  const auto during = resources_of(rt.pid());
  const auto term_at = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(rt.pid(), SIGTERM), 0);
  const auto read_until = term_at + 15s;
  double exited_after = -1;
  while (std::chrono::steady_clock::now() < read_until) {
    if (exited_after < 0 && exited(rt.pid())) {
      exited_after =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - term_at).count();
    }
    bool open = false;
    for (auto& c : clients) {
      read_slowly(c, slice, true, term_at);
      open = open || (c.close_code < 0 && !c.sock.eof());
    }
    if (!open)
      break;
    std::this_thread::sleep_for(10ms);
  }
  // Every client can have seen its close a moment before the runtime finished exiting (it
  // writes the last close frames on its way out): wait for the exit the first SIGTERM asked
  // for, rather than sending a second one into the middle of it (which kills it by signal).
  const auto exit_deadline = std::chrono::steady_clock::now() + 10s;
  while (!exited(rt.pid()) && std::chrono::steady_clock::now() < exit_deadline)
    std::this_thread::sleep_for(5ms);
  if (exited_after < 0 && exited(rt.pid())) {
    exited_after =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - term_at).count();
  }
  const int status = rt.stop(SIGTERM, 10s); // reaps it (a zombie ignores the signal)

  int saw_1001 = 0;
  int saw_other = 0;
  int eof_without_close = 0;
  std::vector<double> times;
  std::uint64_t max_read = 0;
  for (const auto& c : clients) {
    if (c.close_code == 1001) {
      ++saw_1001;
      times.push_back(c.closed_after);
    } else if (c.close_code >= 0) {
      ++saw_other;
    } else {
      ++eof_without_close;
    }
    max_read = std::max(max_read, c.read_after_term);
  }
  std::sort(times.begin(), times.end());
  std::printf("[ figures  ] SIGTERM with %d sessions streaming to slow readers and %d idle: %d "
              "saw 1001, %d another close, %d none; close seen after %.2f s (median) / %.2f s "
              "(max); at most %.1f MiB read by one client after SIGTERM\n",
              streaming, idle, saw_1001, saw_other, eof_without_close,
              times.empty() ? -1.0 : times[times.size() / 2], times.empty() ? -1.0 : times.back(),
              static_cast<double>(max_read) / (1 << 20));
  std::printf("[ figures  ] runtime exited %.2f s after SIGTERM; descriptors %d, threads %d "
              "before the sessions streamed; %d, %d while they streamed\n",
              exited_after, before.fds, before.threads, during.fds, during.threads);
  EXPECT_EQ(saw_1001, streaming + idle);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

} // namespace
} // namespace agentrt::test

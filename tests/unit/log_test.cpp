// The log's three defences, each on its own: escaping (no client string can forge a line or
// reach the terminal as a control sequence), the repeat filter (identical lines counted, not
// written), and the writer (a pipe nobody reads never blocks a caller; dropped lines are
// counted and reported once the pipe moves again).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "log/async_writer.hpp"
#include "log/log_escape.hpp"
#include "log/repeat_filter.hpp"

namespace agentrt::runtime::log {
namespace {

using namespace std::chrono_literals;

std::string escaped(std::string_view s) {
  std::string out;
  append_escaped(out, s);
  return out;
}

TEST(LogEscape, PrintableTextAndUtf8AreUnchanged) {
  EXPECT_EQ(escaped("plain text: 1 + 1 = 2, a\\b \"quoted\""),
            "plain text: 1 + 1 = 2, a\\b \"quoted\"");
  EXPECT_EQ(escaped("p\xC3\xA4ss \xE5\xAF\x86 \xF0\x9F\x94\x91"),
            "p\xC3\xA4ss \xE5\xAF\x86 \xF0\x9F\x94\x91");
  EXPECT_EQ(escaped(""), "");
}

TEST(LogEscape, LineBreaksAndControlsAreEscaped) {
  EXPECT_EQ(escaped("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(escaped("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(escaped(std::string("nul\0bell\a del\x7f", 14)), "nul\\x00bell\\x07 del\\x7f");
}

TEST(LogEscape, ForgedLineStaysOnOneLine) {
  const std::string forged = "id\n2024-01-01T00:00:00.000Z ERROR [admin] forged";
  const std::string out = escaped(forged);
  EXPECT_EQ(out.find('\n'), std::string::npos);
  EXPECT_EQ(out, "id\\n2024-01-01T00:00:00.000Z ERROR [admin] forged");
}

TEST(LogEscape, C1ControlsAreEscapedAndInvalidUtf8Replaced) {
  // U+009B is an 8-bit CSI for terminals that honour C1 controls.
  EXPECT_EQ(escaped("x\xC2\x9B"
                    "31m"),
            "x\\u009b31m");
  EXPECT_EQ(escaped("\xC2\x85"), "\\u0085");  // NEL, a line break to some tools
  EXPECT_EQ(escaped("\xC2\xA0"), "\xC2\xA0"); // U+00A0 is printable
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(escaped("bad \xFF\xFE"), "bad " + fffd + fffd);
  EXPECT_EQ(escaped("\xC3"), fffd);                       // truncated sequence
  EXPECT_EQ(escaped("\xC2"), fffd);                       // ... of a C1 control's lead byte
  EXPECT_EQ(escaped("\xC0\xAF"), fffd + fffd);            // overlong '/'
  EXPECT_EQ(escaped("\xED\xA0\x80"), fffd + fffd + fffd); // surrogate
  EXPECT_EQ(escaped("a\xC2\n"), "a" + fffd + "\\n");
}

TEST(LogEscape, OutputNeverContainsAControlByte) {
  std::string all;
  for (int c = 0; c < 256; ++c)
    all += static_cast<char>(c);
  const std::string out = escaped(all + all);
  for (const char c : out) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u >= 0x20 && u != 0x7f) << static_cast<int>(u);
  }
}

// ---- repeat_filter ---------------------------------------------------------------------------

using tp = repeat_filter::clock::time_point;

TEST(RepeatFilter, CopiesWithinTheWindowAreCountedAndReportedWhenItEnds) {
  repeat_filter f(5s);
  std::vector<repeat_filter::summary> due;
  const tp t0{};
  EXPECT_TRUE(f.admit("WARN bad frame", t0, due));
  for (int i = 1; i <= 1000; ++i)
    EXPECT_FALSE(f.admit("WARN bad frame", t0 + std::chrono::milliseconds(i), due));
  EXPECT_TRUE(due.empty());
  f.expire(t0 + 4s, due);
  EXPECT_TRUE(due.empty());
  f.expire(t0 + 5s, due);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key, "WARN bad frame");
  EXPECT_EQ(due[0].repeats, 1000u);
  EXPECT_EQ(due[0].interval, 5s);
  EXPECT_EQ(f.tracked(), 0u);
  // A new window: the line is written again.
  due.clear();
  EXPECT_TRUE(f.admit("WARN bad frame", t0 + 6s, due));
}

TEST(RepeatFilter, DistinctLinesPassAndInterleavedFloodsAreLimitedToo) {
  repeat_filter f(5s);
  std::vector<repeat_filter::summary> due;
  const tp t0{};
  EXPECT_TRUE(f.admit("a", t0, due));
  EXPECT_TRUE(f.admit("b", t0, due));
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(f.admit("a", t0 + 1ms, due));
    EXPECT_FALSE(f.admit("b", t0 + 1ms, due));
  }
  EXPECT_TRUE(f.admit("c", t0 + 2ms, due));
  f.flush(t0 + 3s, due);
  ASSERT_EQ(due.size(), 2u); // c had no copies
  EXPECT_EQ(due[0].key, "a");
  EXPECT_EQ(due[0].repeats, 100u);
  EXPECT_EQ(due[1].key, "b");
}

TEST(RepeatFilter, TheOldestLineIsReportedWhenSlotsRunOut) {
  repeat_filter f(5s, 2);
  std::vector<repeat_filter::summary> due;
  const tp t0{};
  f.admit("a", t0, due);
  f.admit("a", t0, due);
  f.admit("b", t0, due);
  EXPECT_TRUE(due.empty());
  EXPECT_TRUE(f.admit("c", t0, due)); // evicts a, which had one copy
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key, "a");
  EXPECT_EQ(due[0].repeats, 1u);
  EXPECT_EQ(f.tracked(), 2u);
}

// ---- async_writer ----------------------------------------------------------------------------

struct pipe_pair {
  int read_end = -1;
  int write_end = -1;
  pipe_pair() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~pipe_pair() {
    if (read_end >= 0)
      ::close(read_end);
    if (write_end >= 0)
      ::close(write_end);
  }
  std::string read_all() {
    std::string out;
    const int flags = ::fcntl(read_end, F_GETFL);
    ::fcntl(read_end, F_SETFL, flags | O_NONBLOCK);
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(read_end, buf, sizeof buf);
      if (n <= 0)
        break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::fcntl(read_end, F_SETFL, flags);
    return out;
  }
};

TEST(AsyncWriter, APipeNobodyReadsNeverBlocksTheCaller) {
  pipe_pair p;
  constexpr std::size_t capacity = 64 * 1024;
  async_writer w(p.write_end, capacity,
                 [](std::uint64_t n) { return std::to_string(n) + " dropped\n"; });
  // 100,000 lines of 100 bytes: 10 MB, far beyond the pipe (64 KiB) and the buffer, pushed
  // in rounds so that the writer fills the pipe and blocks on it in between.
  const std::string line = std::string(99, 'x') + "\n";
  std::uint64_t accepted = 0;
  std::chrono::steady_clock::duration slowest{};
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 10000; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      accepted += w.push(line) ? 1 : 0;
      slowest = std::max(slowest, std::chrono::steady_clock::now() - t0);
    }
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_LT(accepted, 100000u);
  EXPECT_GT(accepted, 0u);
  EXPECT_EQ(w.dropped_total(), 100000u - accepted);
  EXPECT_FALSE(w.flush(50ms)); // the pipe is full: a bounded wait, not a hang
  std::printf("[ figures  ] 100000 log lines pushed at a full pipe: %llu accepted, slowest push "
              "%.1f us\n",
              static_cast<unsigned long long>(accepted),
              std::chrono::duration<double, std::micro>(slowest).count());

  // Reading the pipe lets the writer through; notices account for every dropped line.
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!w.flush(1ms) && std::chrono::steady_clock::now() < deadline)
    got += p.read_all();
  got += p.read_all();
  std::uint64_t noticed = 0;
  std::size_t notice_bytes = 0;
  for (std::size_t at = 0; at < got.size();) {
    const std::size_t nl = got.find('\n', at);
    ASSERT_NE(nl, std::string::npos);
    const std::string l = got.substr(at, nl - at);
    if (l != line.substr(0, line.size() - 1)) {
      ASSERT_EQ(l.substr(l.find(' ')), " dropped") << l;
      noticed += std::stoull(l);
      notice_bytes += l.size() + 1;
    }
    at = nl + 1;
  }
  EXPECT_EQ(noticed, 100000u - accepted);
  EXPECT_EQ(got.size(), accepted * line.size() + notice_bytes);
}

TEST(AsyncWriter, LinesArriveWholeAndInOrderFromManyThreads) {
  pipe_pair p;
  async_writer w(p.write_end, 1 << 20, nullptr);
  std::string got;
  std::atomic<bool> reading{true};
  std::thread reader([&] {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(p.read_end, buf, sizeof buf);
      if (n <= 0)
        break;
      got.append(buf, static_cast<std::size_t>(n));
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&w, t] {
      for (int i = 0; i < 2000; ++i)
        w.push("thread " + std::to_string(t) + " line " + std::to_string(i) + "\n");
    });
  }
  for (auto& t : writers)
    t.join();
  ASSERT_TRUE(w.flush(10s));
  ::close(p.write_end);
  p.write_end = -1;
  reader.join();
  EXPECT_EQ(w.dropped_total(), 0u);
  std::vector<int> next(4, 0);
  std::size_t lines = 0;
  for (std::size_t at = 0; at < got.size();) {
    const std::size_t nl = got.find('\n', at);
    ASSERT_NE(nl, std::string::npos);
    const std::string l = got.substr(at, nl - at);
    int t = -1, i = -1;
    ASSERT_EQ(std::sscanf(l.c_str(), "thread %d line %d", &t, &i), 2) << l;
    EXPECT_EQ(i, next[static_cast<std::size_t>(t)]++) << l;
    ++lines;
    at = nl + 1;
  }
  EXPECT_EQ(lines, 8000u);
}

TEST(AsyncWriter, TickRunsOnTheWriterThreadAndMayPush) {
  pipe_pair p;
  std::atomic<int> ticks{0};
  std::atomic<async_writer*> self{nullptr};
  std::atomic<bool> pushed{false};
  async_writer w(
      p.write_end, 1 << 16, nullptr,
      [&] {
        ++ticks;
        if (async_writer* s = self.load(); s && !pushed.exchange(true))
          s->push("from tick\n");
      },
      10ms);
  self = &w;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (ticks < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  EXPECT_GE(ticks.load(), 3);
  EXPECT_TRUE(pushed.load());
  EXPECT_TRUE(w.flush(5s));
  EXPECT_EQ(p.read_all(), "from tick\n");
}

} // namespace
} // namespace agentrt::runtime::log

// The durable-session journal: frames read back byte-exact from memory and from the spill file,
// budgets hold, only droppable frames are dropped, and every dropped frame is accounted for in
// exactly one gap.
#include <stdlib.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <tuple>

#include "server/journal.hpp"

namespace agentrt::runtime::server {
namespace {

journal_entry_info output(const std::string& command, const std::string& stream, std::size_t n) {
  journal_entry_info i;
  i.droppable = true;
  i.message_type = "command_output_message";
  i.command = command;
  i.stream = stream;
  i.bytes = n;
  return i;
}

journal_entry_info essential(const std::string& type) {
  journal_entry_info i;
  i.message_type = type;
  return i;
}

std::string frame(std::uint64_t seq, std::size_t n) {
  std::string s = "{\"seq\":" + std::to_string(seq) + ",\"text\":\"";
  for (std::size_t i = 0; i < n; ++i)
    s += static_cast<char>('a' + (seq * 7 + i) % 26);
  return s + "\"}";
}

TEST(Journal, NumbersFramesFromOneAndReadsThemBackInOrder) {
  journal j({});
  EXPECT_EQ(j.next_seq(), 1u);
  for (std::uint64_t s = 1; s <= 5; ++s)
    j.append(frame(s, 10), output("c", "stdout", 10));
  EXPECT_EQ(j.last_seq(), 5u);
  std::error_code ec;
  for (std::uint64_t s = 1; s <= 5; ++s) {
    auto item = j.read(s);
    ASSERT_TRUE(item);
    if (item->read_error)
      ec = item->read_error;
    EXPECT_EQ(item->first_seq, s);
    EXPECT_EQ(item->frame, frame(s, 10));
    EXPECT_FALSE(item->gap);
  }
  EXPECT_FALSE(j.read(6));
  EXPECT_FALSE(ec);
}

// A command printing one tiny message after another: the spill file has room for all of them,
// but their records would outgrow the memory budget many times over. The bookkeeping bound
// turns the oldest into one gap instead, and every message is still accounted for.
TEST(Journal, RecordsOfManyTinySpilledFramesStayWithinTheBookkeepingBound) {
  journal_limits limits;
  limits.memory_bytes = 64u << 10;
  limits.disk_bytes = 1u << 30;
  journal j(limits);
  const std::string command = "a command line long enough to live on the heap, as most do";
  constexpr std::uint64_t total = 200000;
  std::size_t peak = 0;
  for (std::uint64_t s = 1; s <= total; ++s) {
    j.append(frame(s, 4), output(command, "stdout", 4));
    peak = std::max(peak, j.bookkeeping_bytes());
  }
  j.append(frame(total + 1, 4), essential("command_execution_result_message"));
  // One record over at most: the bound is checked after each append.
  EXPECT_LE(peak, j.bookkeeping_limit() + 512);
  EXPECT_GT(j.dropped_messages(), 0u);
  // Every message is either read back byte-exact or counted in exactly one gap.
  std::error_code ec;
  std::uint64_t delivered = 0, lost = 0, seq = 1;
  while (auto item = j.read(seq)) {
    if (item->read_error)
      ec = item->read_error;
    if (item->gap) {
      for (const auto& l : item->gap->lost) {
        EXPECT_EQ(l.command, command);
        lost += l.messages;
      }
    } else {
      EXPECT_EQ(item->frame, frame(item->first_seq, 4));
      ++delivered;
    }
    seq = item->last_seq + 1;
  }
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(delivered + lost, total + 1);
  EXPECT_EQ(lost, j.dropped_messages());
}

TEST(Journal, AckForgetsEverythingUpToTheAcknowledgedSeq) {
  journal j({});
  for (std::uint64_t s = 1; s <= 10; ++s)
    j.append(frame(s, 100), output("c", "stdout", 100));
  j.ack(4);
  EXPECT_EQ(j.acked(), 4u);
  EXPECT_EQ(j.entries(), 6u);
  auto item = j.read(2); // already acknowledged: the oldest kept one
  ASSERT_TRUE(item);
  EXPECT_EQ(item->first_seq, 5u);
  j.ack(3); // an old ack changes nothing
  EXPECT_EQ(j.entries(), 6u);
  j.ack(1000); // clamped
  EXPECT_EQ(j.acked(), 10u);
  EXPECT_EQ(j.entries(), 0u);
  EXPECT_EQ(j.memory_bytes(), 0u);
}

TEST(Journal, SpillsPastTheMemoryBudgetAndReadsSpilledFramesByteExact) {
  journal_limits limits;
  limits.memory_bytes = 4096;
  limits.disk_bytes = 1u << 20;
  journal j(limits);
  for (std::uint64_t s = 1; s <= 200; ++s)
    j.append(frame(s, 500), output("c", "stdout", 500));
  EXPECT_LE(j.memory_bytes(), limits.memory_bytes);
  EXPECT_GT(j.disk_bytes(), 0u);
  EXPECT_EQ(j.dropped_messages(), 0u);
  std::error_code ec;
  for (std::uint64_t s = 1; s <= 200; ++s) {
    auto item = j.read(s);
    ASSERT_TRUE(item);
    if (item->read_error)
      ec = item->read_error;
    ASSERT_EQ(item->frame, frame(s, 500)) << s;
  }
  EXPECT_FALSE(ec);
  j.ack(200);
  EXPECT_EQ(j.disk_bytes(), 0u);
}

TEST(Journal, PastBothBudgetsDropsTheOldestOutputAndSaysExactlyWhatWasLost) {
  journal_limits limits;
  limits.memory_bytes = 2000;
  limits.disk_bytes = 4000;
  journal j(limits);
  std::map<std::uint64_t, std::string> essentials;
  std::map<std::tuple<std::string, std::string>, std::uint64_t> appended_bytes;
  for (std::uint64_t s = 1; s <= 300; ++s) {
    if (s % 50 == 0) {
      const std::string f = frame(s, 30);
      essentials[s] = f;
      j.append(f, essential("artifact_upload_request_message"));
      continue;
    }
    const std::string stream = s % 3 ? "stdout" : "stderr";
    const std::size_t n = 100 + s % 17;
    appended_bytes[{"make", stream}] += n;
    j.append(frame(s, n), output("make", stream, n));
  }
  EXPECT_GT(j.dropped_messages(), 0u);
  EXPECT_LE(j.memory_bytes(), limits.memory_bytes + 6 * 50); // essentials may be pinned
  EXPECT_LE(j.disk_bytes(), limits.disk_bytes);

  // Replay from 1: every seq exactly once, as a frame or inside one gap; essentials intact;
  // gaps plus delivered frames add up to everything appended.
  std::error_code ec;
  std::uint64_t next = 1;
  std::map<std::tuple<std::string, std::string>, std::uint64_t> seen_bytes;
  std::uint64_t lost_messages = 0;
  while (auto item = j.read(next)) {
    if (item->read_error)
      ec = item->read_error;
    ASSERT_EQ(item->first_seq, next);
    if (item->gap) {
      EXPECT_EQ(item->gap->from_seq, item->first_seq);
      EXPECT_EQ(item->gap->to_seq, item->last_seq);
      std::uint64_t messages = 0;
      for (const auto& l : item->gap->lost) {
        EXPECT_EQ(l.message_type, "command_output_message");
        seen_bytes[{l.command, l.stream}] += l.bytes;
        messages += l.messages;
      }
      EXPECT_EQ(messages, item->last_seq - item->first_seq + 1);
      lost_messages += messages;
    } else if (essentials.count(next)) {
      EXPECT_EQ(item->frame, essentials[next]);
    } else {
      const std::size_t n = 100 + next % 17;
      EXPECT_EQ(item->frame, frame(next, n));
      seen_bytes[{"make", next % 3 ? "stdout" : "stderr"}] += n;
    }
    next = item->last_seq + 1;
  }
  EXPECT_FALSE(ec);
  EXPECT_EQ(next, 301u);
  EXPECT_EQ(lost_messages, j.dropped_messages());
  EXPECT_EQ(seen_bytes, appended_bytes);
}

TEST(Journal, ARunOfDroppedOutputIsOneGap) {
  journal_limits limits;
  limits.memory_bytes = 0;
  limits.disk_bytes = 0;
  journal j(limits);
  for (std::uint64_t s = 1; s <= 100; ++s)
    j.append(frame(s, 10), output("yes", "stdout", 10));
  j.append(frame(101, 5), essential("command_execution_result_message"));
  auto gap = j.read(1);
  ASSERT_TRUE(gap && gap->gap);
  EXPECT_EQ(gap->gap->from_seq, 1u);
  EXPECT_EQ(gap->gap->to_seq, 100u);
  ASSERT_EQ(gap->gap->lost.size(), 1u);
  EXPECT_EQ(gap->gap->lost[0].messages, 100u);
  EXPECT_EQ(gap->gap->lost[0].bytes, 1000u);
  auto terminal = j.read(101);
  ASSERT_TRUE(terminal);
  EXPECT_EQ(terminal->frame, frame(101, 5));
  EXPECT_EQ(j.entries(), 2u);
}

TEST(Journal, ASpillDirectoryThatCannotBeWrittenDropsOutputAndKeepsEssentials) {
  journal_limits limits;
  limits.memory_bytes = 1000;
  limits.disk_bytes = 1u << 20;
  limits.dir = "/nonexistent/agentrt-journal-test";
  journal j(limits);
  for (std::uint64_t s = 1; s <= 50; ++s) {
    if (s == 25) {
      j.append(frame(s, 300), essential("result_message"));
    } else {
      j.append(frame(s, 300), output("c", "stdout", 300));
    }
  }
  EXPECT_TRUE(j.spill_error());
  EXPECT_GT(j.dropped_messages(), 0u);
  auto item = j.read(25);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->frame, frame(25, 300));
  EXPECT_LE(j.memory_bytes(), limits.memory_bytes + 400);
}

// The blocks the spill file of a journal whose dir is `dir` has allocated (it is unnamed: found
// among this process's descriptors).
std::uint64_t spill_file_blocks_bytes(const std::string& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const auto target = std::filesystem::read_symlink(e.path(), ec);
    if (ec || target.string().rfind(dir + "/", 0) != 0)
      continue;
    struct stat st {};
    if (::stat(e.path().c_str(), &st) == 0)
      total += static_cast<std::uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

// Frames of a size that is no multiple of a block, forgotten one by one (dropped past the budget,
// or acknowledged while newer ones stay): the file's blocks stay within the disk budget. Holes
// punched over each frame's own bytes kept the block at every frame boundary, and the file grew
// by a block per frame for as long as the stream went on.
TEST(Journal, TheSpillFileGivesBackEveryBlockItNoLongerNeeds) {
  char tmpl[] = "/tmp/agentrt-journal-blocks-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  for (const bool acking : {false, true}) {
    SCOPED_TRACE(acking ? "acknowledged" : "dropped");
    journal_limits limits;
    limits.memory_bytes = 16u << 10;
    limits.disk_bytes = 256u << 10;
    limits.dir = dir;
    journal j(limits);
    std::uint64_t peak = 0;
    for (std::uint64_t s = 1; s <= 4000; ++s) { // ~20 MB through a 256 KiB budget
      j.append(frame(s, 5000), output("c", "stdout", 5000));
      if (acking && s > 40)
        j.ack(s - 40); // the client is 40 frames (~200 KB) behind: always something on disk
      if (s % 100 == 0)
        peak = std::max(peak, spill_file_blocks_bytes(dir));
    }
    EXPECT_GT(j.disk_bytes(), 0u);
    EXPECT_EQ(j.dropped_messages() > 0, !acking);
    // The budget, plus the partly used block at each end of what is kept.
    EXPECT_LE(peak, limits.disk_bytes + 2 * 4096);
    std::printf("[ figures  ] spill file blocks, peak: %llu KiB for a %zu KiB budget (%s)\n",
                static_cast<unsigned long long>(peak >> 10), limits.disk_bytes >> 10,
                acking ? "acknowledged" : "dropped");
  }
  std::filesystem::remove_all(dir);
}

TEST(Journal, RandomAppendsAcksAndBudgetsNeverLoseAFrameSilently) {
  for (unsigned seed = 0; seed < 30; ++seed) {
    std::mt19937 rng(seed);
    journal_limits limits;
    limits.memory_bytes = std::uniform_int_distribution<std::size_t>(0, 5000)(rng);
    limits.disk_bytes = std::uniform_int_distribution<std::size_t>(0, 20000)(rng);
    journal j(limits);
    std::map<std::uint64_t, std::string> frames;
    std::map<std::uint64_t, bool> droppable;
    for (int step = 0; step < 400; ++step) {
      if (rng() % 10 == 0) {
        j.ack(std::uniform_int_distribution<std::uint64_t>(0, j.last_seq())(rng));
        continue;
      }
      const std::uint64_t s = j.next_seq();
      const std::size_t n = std::uniform_int_distribution<std::size_t>(0, 700)(rng);
      frames[s] = frame(s, n);
      droppable[s] = rng() % 8 != 0;
      j.append(frames[s], droppable[s] ? output("c", "stdout", n) : essential("error_message"));
    }
    std::error_code ec;
    std::uint64_t next = j.acked() + 1;
    while (auto item = j.read(next)) {
      if (item->read_error)
        ec = item->read_error;
      // Nothing is skipped: the item starts at next, or is a gap that covers next (a gap that
      // was acknowledged in part is kept whole: its counts cannot be split).
      if (item->gap) {
        ASSERT_LE(item->first_seq, next) << "seed " << seed;
        ASSERT_GE(item->last_seq, next) << "seed " << seed;
        for (std::uint64_t s = next; s <= item->last_seq; ++s) {
          ASSERT_TRUE(droppable[s]) << "seed " << seed << " seq " << s << " dropped";
        }
      } else {
        ASSERT_EQ(item->first_seq, next) << "seed " << seed;
        ASSERT_EQ(item->frame, frames[next]) << "seed " << seed;
      }
      next = item->last_seq + 1;
    }
    ASSERT_FALSE(ec);
    ASSERT_EQ(next, j.last_seq() + 1) << "seed " << seed;
  }
}

} // namespace
} // namespace agentrt::runtime::server

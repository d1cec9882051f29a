// output_tail keeps exactly the last N bytes of everything appended, however the output was cut
// into chunks, and never holds more than N.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "execution/output_tail.hpp"

namespace agentrt::runtime::execution {
namespace {

std::string pattern(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(byte(rng));
  return s;
}

std::string last(const std::string& s, std::size_t n) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

TEST(OutputTail, KeepsTheLastCapBytesAcrossRandomChunkBoundaries) {
  for (const std::size_t cap : {1u, 7u, 64u, 1000u, 4096u}) {
    for (unsigned seed = 0; seed < 20; ++seed) {
      const std::string all = pattern(3 * cap + seed * 13, seed);
      std::mt19937 rng(seed + 100);
      std::uniform_int_distribution<std::size_t> chunk(0, cap + cap / 2 + 2);
      output_tail tail(cap);
      std::size_t at = 0;
      while (at < all.size()) {
        const std::size_t n = std::min(chunk(rng), all.size() - at);
        tail.append(std::string_view(all).substr(at, n));
        at += n;
        // Checked after every chunk, not just at the end: wrap-around in every position.
        output_tail copy = tail;
        ASSERT_EQ(copy.take(), last(all.substr(0, at), cap)) << "cap " << cap << " at " << at;
      }
      EXPECT_EQ(tail.total(), all.size());
      EXPECT_EQ(tail.take(), last(all, cap));
    }
  }
}

TEST(OutputTail, LessThanCapIsKeptWhole) {
  output_tail tail(100);
  tail.append("hello ");
  tail.append("");
  tail.append("world");
  EXPECT_EQ(tail.total(), 11u);
  EXPECT_EQ(tail.take(), "hello world");
}

TEST(OutputTail, ExactlyCapThenOneMoreByte) {
  output_tail tail(4);
  tail.append("ab");
  tail.append("cd");
  output_tail full = tail;
  EXPECT_EQ(full.take(), "abcd");
  tail.append("e");
  EXPECT_EQ(tail.take(), "bcde");
  EXPECT_EQ(tail.total(), 5u);
}

TEST(OutputTail, AChunkLongerThanCapReplacesEverything) {
  output_tail tail(4);
  tail.append("xy");
  tail.append("0123456789");
  EXPECT_EQ(tail.take(), "6789");
  output_tail again(4);
  again.append("abc");
  again.append("1");    // full, oldest at 0
  again.append("23");   // wrapped
  again.append("WXYZ"); // exactly cap while wrapped
  EXPECT_EQ(again.take(), "WXYZ");
}

TEST(OutputTail, ZeroCapKeepsNothingButCounts) {
  output_tail tail(0);
  tail.append("abc");
  EXPECT_EQ(tail.total(), 3u);
  EXPECT_EQ(tail.take(), "");
}

TEST(OutputTail, MemoryStaysWithinCap) {
  const std::size_t cap = 1 << 20;
  output_tail tail(cap);
  const std::string chunk(65536 + 17, 'z');
  for (int i = 0; i < 100; ++i)
    tail.append(chunk);
  EXPECT_EQ(tail.take().capacity(), cap); // grown to the cap exactly, never doubled past it
}

} // namespace
} // namespace agentrt::runtime::execution

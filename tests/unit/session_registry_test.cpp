// The durable-session registry: found with the right token, refused with a wrong one or an
// unknown id (the same verdict), expired once retired, tombstones bounded.
#include <gtest/gtest.h>

#include <set>

#include "server/session_registry.hpp"
#include "util/secure_token.hpp"

namespace agentrt::runtime::server {
namespace {

TEST(SessionRegistry, CredentialsAreRandomHexOfTheDocumentedSizes) {
  session_registry reg;
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const auto made = reg.make_credentials();
    ASSERT_TRUE(made.ok());
    const session_credentials& c = made.value();
    EXPECT_EQ(c.session_id.size(), 16u);
    EXPECT_EQ(c.resume_token.size(), 32u);
    EXPECT_EQ(c.resume_token.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_TRUE(seen.insert(c.resume_token).second);
  }
}

TEST(SessionRegistry, RightTokenFindsWrongTokenAndUnknownIdAreRefusedAlike) {
  session_registry reg;
  reg.add({"s1", "secret-token"}, nullptr);
  EXPECT_EQ(reg.find("s1", "secret-token").first, resume_verdict::found);
  EXPECT_EQ(reg.find("s1", "secret-tokeN").first, resume_verdict::refused);
  EXPECT_EQ(reg.find("s1", "").first, resume_verdict::refused);
  EXPECT_EQ(reg.find("nope", "secret-token").first, resume_verdict::refused);
  EXPECT_EQ(reg.size(), 1u);
}

TEST(SessionRegistry, ARetiredSessionIsExpiredForItsTokenAndRefusedForOthers) {
  session_registry reg;
  reg.add({"s1", "tok"}, nullptr);
  reg.retire("s1");
  EXPECT_EQ(reg.size(), 0u);
  EXPECT_EQ(reg.find("s1", "tok").first, resume_verdict::expired);
  EXPECT_EQ(reg.find("s1", "bad").first, resume_verdict::refused);
}

TEST(SessionRegistry, TombstonesAreBoundedOldestFirst) {
  session_registry reg(3, std::chrono::hours(1));
  for (int i = 0; i < 5; ++i) {
    reg.add({"s" + std::to_string(i), "t"}, nullptr);
    reg.retire("s" + std::to_string(i));
  }
  EXPECT_EQ(reg.tombstones(), 3u);
  EXPECT_EQ(reg.find("s0", "t").first, resume_verdict::refused);
  EXPECT_EQ(reg.find("s4", "t").first, resume_verdict::expired);
}

TEST(SessionRegistry, TombstonesAgeOut) {
  session_registry reg(100, std::chrono::seconds(0));
  reg.add({"s", "t"}, nullptr);
  reg.retire("s");
  EXPECT_EQ(reg.find("s", "t").first, resume_verdict::refused);
  EXPECT_EQ(reg.tombstones(), 0u);
}

TEST(SecureToken, ConstantTimeEqualComparesContentsAndLengths) {
  EXPECT_TRUE(util::constant_time_equal("abc", "abc"));
  EXPECT_FALSE(util::constant_time_equal("abc", "abd"));
  EXPECT_FALSE(util::constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(util::constant_time_equal("", "a"));
  EXPECT_TRUE(util::constant_time_equal("", ""));
}

} // namespace
} // namespace agentrt::runtime::server

// The harness error category: each code's name and text, and that codes of other categories
// never compare equal to it.
#include <string>
#include <system_error>

#include <gtest/gtest.h>

#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/result.hpp"
#include "harness/harness_errc.hpp"

namespace {

namespace hs = agentrt::runtime::harness;

TEST(HarnessErrc, EachCodeHasItsText) {
  const std::error_code mismatch = hs::harness_errc::output_mismatch;
  EXPECT_EQ(mismatch.category().name(), std::string("harness"));
  EXPECT_EQ(mismatch.message(), "the answer does not match the requested output schema");
  EXPECT_EQ(std::error_code(hs::harness_errc::agent_unavailable).message(),
            "the agent is not available");
  EXPECT_EQ(std::error_code(hs::harness_errc::unsupported_setting).message(),
            "the agent cannot honour a harness setting");
  EXPECT_EQ(std::error_code(hs::harness_errc::agent_failed).message(),
            "the agent reported a failure");
  EXPECT_EQ(std::error_code(hs::harness_errc::agent_exited).message(),
            "the agent ended without an answer");
  EXPECT_EQ(std::error_code(hs::harness_errc::limit_reached).message(),
            "the run reached its turn or token limit");
  EXPECT_EQ(std::error_code(0, hs::harness_category()).message(), "unknown harness error 0");
  EXPECT_EQ(std::error_code(99, hs::harness_category()).message(), "unknown harness error 99");
}

TEST(HarnessErrc, CodesAreTheirOwn) {
  const std::error_code failed = hs::harness_errc::agent_failed;
  EXPECT_TRUE(failed);
  EXPECT_EQ(failed, hs::harness_errc::agent_failed);
  EXPECT_NE(failed, hs::harness_errc::agent_exited);
  // Same numeric value, another category.
  EXPECT_NE(failed, std::error_code(static_cast<int>(hs::harness_errc::agent_failed),
                                    agentrt::protocol::error_category()));
}

TEST(HarnessErrc, AFailedResultCarriesCodeAndText) {
  const agentrt::protocol::result<void> r{hs::harness_errc::output_mismatch, "why"};
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, hs::harness_errc::output_mismatch);
  EXPECT_EQ(r.error().message(), "why");
  const agentrt::protocol::error no_text{hs::harness_errc::limit_reached};
  EXPECT_EQ(no_text.message(), "the run reached its turn or token limit");
}

} // namespace

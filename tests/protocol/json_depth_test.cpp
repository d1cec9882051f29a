// The nesting guard that keeps RapidJSON's recursive parser from overflowing the stack: the
// scan itself, and decode() refusing a deep frame with its own error code instead of crashing.
#include <gtest/gtest.h>

#include <string>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/json_depth.hpp"

namespace agentrt::protocol {
namespace {

TEST(JsonDepth, CountsOpenArraysAndObjects) {
  EXPECT_FALSE(json_nesting_exceeds("{}", 1));
  EXPECT_TRUE(json_nesting_exceeds("{[]}", 1));
  EXPECT_FALSE(json_nesting_exceeds("[[]][[]]", 2)); // siblings do not add up
  EXPECT_TRUE(json_nesting_exceeds(std::string(257, '['), 256));
  EXPECT_FALSE(json_nesting_exceeds(std::string(256, '[') + std::string(256, ']'), 256));
}

TEST(JsonDepth, BracketsInsideStringsAreNotNesting) {
  EXPECT_FALSE(json_nesting_exceeds(R"({"a":"[[[[{{{{"})", 1));
  // An escaped quote does not end the string.
  EXPECT_FALSE(json_nesting_exceeds(R"({"a":"\"[[[["})", 1));
  EXPECT_TRUE(json_nesting_exceeds(R"({"a":"\\",[]})", 1)); // "\\" ends, then [ nests
}

TEST(JsonDepth, DecodeRefusesAMillionBracketsWithoutCrashing) {
  const std::string frame = R"({"message_type":"cancel_message","x":)" + std::string(1000000, '[');
  decode_result r = decode(frame);
  EXPECT_FALSE(r.msg);
  EXPECT_EQ(r.ec, make_error_code(errc::nesting_too_deep));
  EXPECT_EQ(r.error, "JSON nested deeper than 256 levels");
}

TEST(JsonDepth, OrdinaryNestingStillDecodes) {
  const std::string frame = R"({"message_type":"cancel_message","x":)" + std::string(200, '[') +
                            std::string(200, ']') + "}";
  decode_result r = decode(frame);
  EXPECT_TRUE(r.msg) << r.error;
}

} // namespace
} // namespace agentrt::protocol

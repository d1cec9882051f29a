// secrets_to_redact is capped per request (max_secrets, max_secrets_total_bytes): over either
// limit, decode() refuses the frame with an error that names the limit; at the limit it is
// accepted.
#include <gtest/gtest.h>

#include <string>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/redactor.hpp"

namespace agentrt::protocol {
namespace {

std::string secrets_json(std::size_t count, std::size_t each_bytes) {
  std::string json = "[";
  for (std::size_t i = 0; i < count; ++i) {
    if (i)
      json += ',';
    std::string s = std::to_string(i);
    s.resize(std::max(each_bytes, s.size()), 'x');
    json += '"' + s + '"';
  }
  return json + "]";
}

std::string exec_frame(const std::string& secrets) {
  return R"({"message_type":"command_execution_message","commands":[{"command":"true"}],)"
         R"("secrets_to_redact":)" +
         secrets + "}";
}

std::string invocation_frame(const std::string& secrets) {
  return R"({"message_type":"invocation_message","system_prompt":"s","user_prompt":"u",)"
         R"("model":"m","secrets_to_redact":)" +
         secrets + "}";
}

TEST(SecretsLimits, CountAtTheLimitIsAccepted) {
  for (const auto& frame :
       {exec_frame(secrets_json(max_secrets, 8)), invocation_frame(secrets_json(max_secrets, 8))}) {
    const decode_result r = decode(frame);
    ASSERT_TRUE(r.msg) << r.error;
  }
}

TEST(SecretsLimits, OneSecretTooManyIsRefusedNamingTheLimit) {
  const std::string over = secrets_json(max_secrets + 1, 8);
  for (const auto& frame : {exec_frame(over), invocation_frame(over)}) {
    const decode_result r = decode(frame);
    EXPECT_FALSE(r.msg);
    EXPECT_EQ(r.ec, make_error_code(errc::invalid_value));
    EXPECT_EQ(r.error, "secrets_to_redact: at most 10000 secrets, got 10001");
  }
}

TEST(SecretsLimits, TotalSizeOverTheLimitIsRefusedNamingTheLimit) {
  // 64 secrets of 16 KiB = exactly 1 MiB: accepted; one byte more: refused.
  const std::size_t each = max_secrets_total_bytes / 64;
  ASSERT_TRUE(decode(exec_frame(secrets_json(64, each))).msg);
  std::string over = secrets_json(64, each);
  over.insert(over.size() - 2, "y"); // the last secret gets one byte longer
  const decode_result r = decode(exec_frame(over));
  EXPECT_FALSE(r.msg);
  EXPECT_EQ(r.ec, make_error_code(errc::invalid_value));
  EXPECT_EQ(r.error, "secrets_to_redact: at most 1048576 bytes of secrets in total, got 1048577");
}

TEST(SecretsLimits, HundredThousandSecretsAreRefused) {
  const decode_result r = decode(exec_frame(secrets_json(100000, 32)));
  EXPECT_FALSE(r.msg);
  EXPECT_EQ(r.error, "secrets_to_redact: at most 10000 secrets, got 100000");
}

} // namespace
} // namespace agentrt::protocol

// The openai loop's chat attempt: how its preparation reads before and after transfer_engine
// prepared it (the run reports a failed one as CURLE_FAILED_INIT with its text).
#include <memory>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

#include "harness/openai_http.hpp"
#include "transfer/curl_handle.hpp"

namespace {

namespace hs = agentrt::runtime::harness;

std::unique_ptr<hs::chat_attempt> attempt(const std::string& api_key) {
  return std::make_unique<hs::chat_attempt>("http://127.0.0.1:9/v1/chat/completions", api_key,
                                            std::make_shared<const std::string>("{}"));
}

TEST(ChatAttempt, UnpreparedSaysWhy) {
  const auto a = attempt("key");
  const auto& prepared = a->preparation();
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.error().code, std::errc::not_enough_memory);
  EXPECT_EQ(prepared.error().message(), "could not initialise curl");
}

TEST(ChatAttempt, PreparedOnAHandle) {
  for (const std::string key : {"", "key"}) {
    const auto a = attempt(key);
    agentrt::runtime::transfer::easy_handle h(curl_easy_init());
    ASSERT_TRUE(h);
    EXPECT_TRUE(a->prepare(h.get())) << "api key \"" << key << "\"";
    EXPECT_TRUE(a->preparation().ok()) << a->preparation().error().message();
  }
}

} // namespace

// Userinfo redaction: what is hidden, what is left alone.
#include <gtest/gtest.h>

#include "util/url_text.hpp"

namespace agentrt::test {
namespace {

namespace util = agentrt::runtime::util;

TEST(UrlText, HidesUserinfo) {
  EXPECT_EQ(util::redact_url_userinfo("http://user:pass@host/x"), "http://***@host/x");
  EXPECT_EQ(util::redact_url_userinfo("https://token@host:8443/a?b=c"),
            "https://***@host:8443/a?b=c");
  EXPECT_EQ(util::redact_url_userinfo("http://u:p@ss@host"), "http://***@host");
  EXPECT_EQ(util::redact_url_userinfo("HTTP://a:b@h#frag@x"), "HTTP://***@h#frag@x");
}

TEST(UrlText, LeavesOtherUrlsAlone) {
  for (const char* url : {"http://host/x", "http://host/a@b", "http://host/?q=a@b",
                          "file:///tmp/a@b", "not a url @ all", ""}) {
    EXPECT_EQ(util::redact_url_userinfo(url), url);
  }
}

TEST(UrlText, HidesUserinfoInsideOtherTexts) {
  const std::string url = "http://alice:s3cret-pw@host/f";
  EXPECT_EQ(util::hide_url_userinfo("login alice:s3cret-pw refused, s3cret-pw again", url),
            "login *** refused, *** again");
  // A password too short to hunt for on its own is only hidden as part of the userinfo.
  EXPECT_EQ(util::hide_url_userinfo("a b a:b", "http://a:b@h/"), "a b ***");
  EXPECT_EQ(util::hide_url_userinfo("nothing here", "http://h/"), "nothing here");
}

} // namespace
} // namespace agentrt::test

// Only RFC 6455 (Sec-WebSocket-Version: 13) is spoken. websocketpp also accepted the pre-RFC
// drafts, and a hixie-76 connection's frames went around --max-message-bytes and the UTF-8
// check (a 512 MiB message was taken with the limit at 1 MiB). Refused upgrades are answered
// 426 with the version the runtime speaks.
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "support/raw_ws_socket.hpp"
#include "support/runtime_fault_fixture.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;

class HandshakeVersion : public runtime_fault_fixture {
protected:
  void SetUp() override {
    start_runtime({"--max-message-bytes", "1024"});
    take_baseline();
  }
  // The upgrade's status, and whether the answer names version 13.
  std::pair<int, bool> upgrade(const std::string& what, const std::string& headers,
                               const std::string& body) {
    raw_ws_socket s;
    EXPECT_TRUE(s.connect(rt().port()));
    std::string head;
    const int status = s.request(headers, body, &head, 10s);
    std::printf("[ figures  ] %s upgrade -> %s\n", what.c_str(),
                head.substr(0, head.find("\r\n")).c_str());
    return {status, head.find("Sec-WebSocket-Version: 13\r\n") != std::string::npos};
  }
};

TEST_F(HandshakeVersion, Hixie76IsRefusedWith426) {
  // The example handshake of draft-hixie-thewebsocketprotocol-76, section 1.3.
  const auto [status, names_13] =
      upgrade("hixie-76",
              "Origin: http://example.com\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n"
              "Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n",
              "^n:ds[4U");
  EXPECT_EQ(status, 426);
  EXPECT_TRUE(names_13);
  expect_recovered();
}

TEST_F(HandshakeVersion, DraftVersionsAreRefusedWith426) {
  // (Versions websocketpp does not know at all it answers 400 itself, listing what it knows.)
  for (const char* version : {"8", "7"}) {
    const auto [status, names_13] = upgrade(
        std::string("version ") + version,
        std::string("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: ") +
            version + "\r\n",
        "");
    EXPECT_EQ(status, 426) << "version " << version;
    EXPECT_TRUE(names_13) << "version " << version;
  }
  const auto [status, names_13] =
      upgrade("version 13",
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", "");
  EXPECT_EQ(status, 101);
  expect_recovered();
}

} // namespace
} // namespace agentrt::test

// The loopback HTTP test server itself, driven with raw sockets so its behaviour does not
// depend on the curl code it is used to test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "support/http_test_server.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;

// Sends request, reads until the server closes (or 5 s pass); returns everything received.
std::string raw_exchange(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return {};
  }
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[65536];
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string get(int port, const std::string& target) {
  return raw_exchange(port, "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
}

std::string body_of(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

TEST(HttpTestServer, UnknownPathIs404) {
  http_test_server s;
  EXPECT_EQ(get(s.port(), "/nothing").rfind("HTTP/1.1 404 ", 0), 0u);
  EXPECT_EQ(s.request_count("/nothing"), 1u);
}

TEST(HttpTestServer, StatusSequenceThenGeneratedBody) {
  http_test_server s;
  s.route("/seq", {http_response::with_status(500), http_response::generated(100003)});
  EXPECT_EQ(get(s.port(), "/seq").rfind("HTTP/1.1 500 ", 0), 0u);
  const std::string second = get(s.port(), "/seq?x=1");
  EXPECT_EQ(second.rfind("HTTP/1.1 200 ", 0), 0u);
  EXPECT_NE(second.find("Content-Length: 100003\r\n"), std::string::npos);
  std::string want(100003, '\0');
  fill_generated(0, want.data(), want.size());
  EXPECT_TRUE(body_of(second) == want);
  EXPECT_EQ(s.request_count("/seq"), 2u);
  EXPECT_EQ(s.requests().back().target, "/seq?x=1");
}

TEST(HttpTestServer, GeneratedPatternIsOffsetConsistent) {
  std::string whole(1000, '\0');
  fill_generated(0, whole.data(), whole.size());
  std::string part(333, '\0');
  fill_generated(101, part.data(), part.size());
  EXPECT_EQ(part, whole.substr(101, 333));
  EXPECT_EQ(generated_checksum(1000), fnv1a64(fnv1a64_offset_basis, whole.data(), whole.size()));
}

TEST(HttpTestServer, RedirectAndResetAfter) {
  http_test_server s;
  s.route("/r", http_response::redirect("/elsewhere"));
  EXPECT_NE(get(s.port(), "/r").find("Location: /elsewhere\r\n"), std::string::npos);
  auto cut = http_response::generated(1000000);
  cut.reset_after = 5000;
  s.route("/cut", cut);
  EXPECT_LE(body_of(get(s.port(), "/cut")).size(), 5000u);
}

TEST(HttpTestServer, ThrottledBodyTakesItsTime) {
  http_test_server s;
  auto slow = http_response::generated(2000);
  slow.bytes_per_second = 4000;
  s.route("/slow", slow);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(body_of(get(s.port(), "/slow")).size(), 2000u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 400ms);
}

TEST(HttpTestServer, RecordsPut) {
  http_test_server s;
  s.route("/up", {http_response::with_status(500), http_response::with_status(201, "made")});
  const std::string req =
      "PUT /up?sig=1 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
      "hello world";
  EXPECT_EQ(raw_exchange(s.port(), req).rfind("HTTP/1.1 500 ", 0), 0u);
  const std::string second = raw_exchange(s.port(), req);
  EXPECT_EQ(second.rfind("HTTP/1.1 201 ", 0), 0u);
  EXPECT_EQ(body_of(second), "made");
  const auto puts = s.puts();
  ASSERT_EQ(puts.size(), 2u);
  EXPECT_EQ(puts[1].path, "/up");
  EXPECT_EQ(puts[1].target, "/up?sig=1");
  EXPECT_EQ(puts[1].content_type, "text/plain");
  EXPECT_EQ(puts[1].content_length, 11u);
  EXPECT_EQ(puts[1].body_bytes, 11u);
  EXPECT_EQ(puts[1].body_head, "hello world");
  EXPECT_EQ(puts[1].body_fnv1a64, fnv1a64(fnv1a64_offset_basis, "hello world", 11));
  EXPECT_TRUE(puts[1].complete);
  EXPECT_EQ(s.request_count("/up"), 2u);
}

TEST(HttpTestServer, StopsPromptlyWithStalledConnections) {
  const auto start = std::chrono::steady_clock::now();
  {
    http_test_server s;
    auto hang = http_response::generated(10);
    hang.hang = true;
    s.route("/hang", hang);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(s.port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string req = "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n";
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    while (s.request_count("/hang") == 0)
      std::this_thread::sleep_for(5ms);
    ::close(fd);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

} // namespace
} // namespace agentrt::test

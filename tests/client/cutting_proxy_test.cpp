// The cutting proxy (tests/support/cutting_proxy.hpp) that the durable-session fault tests put
// between a client and the runtime: bytes pass unchanged in both directions, a cut after N bytes
// lets exactly N through and ends both sides, a cut on command ends every connection, and a
// refusing proxy forwards nothing.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/cutting_proxy.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;

// A blocking TCP echo server on 127.0.0.1 that counts the connections whose end it saw.
class echo_server {
public:
  echo_server() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listener_, 16);
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_thread_ = std::thread([this] {
      for (;;) {
        const int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0)
          return;
        std::lock_guard lock(mutex_);
        workers_.emplace_back([this, fd] { echo(fd); });
      }
    });
  }
  ~echo_server() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    accept_thread_.join();
    std::lock_guard lock(mutex_);
    for (auto& w : workers_)
      w.join();
  }
  int port() const { return port_; }
  bool wait_ended(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return ended_ >= n; });
  }

private:
  void echo(int fd) {
    char buf[16384];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0)
        break;
      for (ssize_t off = 0; off < n;) {
        const ssize_t w = ::send(fd, buf + off, static_cast<std::size_t>(n - off), MSG_NOSIGNAL);
        if (w <= 0)
          break;
        off += w;
      }
    }
    ::close(fd);
    std::lock_guard lock(mutex_);
    ++ended_;
    cv_.notify_all();
  }

  int listener_ = -1;
  int port_ = 0;
  std::thread accept_thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  int ended_ = 0;
};

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<unsigned short>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0}; // a hung test fails instead of hanging
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::string random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(gen());
  return s;
}

// Writes data on a thread (echoes come back while it writes), reads until end of file or an
// error; returns what was read and the errno of the end (0 for end of file).
std::pair<std::string, int> round_trip(int fd, const std::string& data) {
  std::thread writer([fd, &data] {
    for (std::size_t off = 0; off < data.size();) {
      const ssize_t w = ::send(fd, data.data() + off,
                               std::min<std::size_t>(data.size() - off, 8192), MSG_NOSIGNAL);
      if (w <= 0)
        return;
      off += static_cast<std::size_t>(w);
    }
    ::shutdown(fd, SHUT_WR);
  });
  std::string got;
  char buf[16384];
  int end_errno = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      got.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    end_errno = n == 0 ? 0 : errno;
    break;
  }
  writer.join();
  return {got, end_errno};
}

TEST(CuttingProxy, BytesPassUnchangedInBothDirections) {
  echo_server echo;
  cutting_proxy proxy(echo.port());
  const int fd = connect_to(proxy.port());
  ASSERT_GE(fd, 0);
  const std::string data = random_bytes(1 << 20, 7);
  auto [got, end_errno] = round_trip(fd, data);
  ::close(fd);
  EXPECT_EQ(end_errno, 0);
  EXPECT_TRUE(got == data) << "got " << got.size() << " bytes of " << data.size();
  EXPECT_EQ(proxy.forwarded(0, cutting_proxy::direction::to_target), data.size());
  EXPECT_EQ(proxy.forwarded(0, cutting_proxy::direction::to_client), data.size());
  EXPECT_EQ(proxy.accepted(), 1u);
}

TEST(CuttingProxy, ACutAfterNBytesPassesExactlyNThenEndsBothSides) {
  for (const auto style : {cutting_proxy::cut_style::close, cutting_proxy::cut_style::reset}) {
    echo_server echo;
    cutting_proxy proxy(echo.port());
    const std::uint64_t n =
        proxy.cut_after_random(0, cutting_proxy::direction::to_client, 1, 300000, 42, style);
    const int fd = connect_to(proxy.port());
    ASSERT_GE(fd, 0);
    const std::string data = random_bytes(1 << 20, 9);
    auto [got, end_errno] = round_trip(fd, data);
    ::close(fd);
    EXPECT_TRUE(got == data.substr(0, got.size()));
    if (style == cutting_proxy::cut_style::reset) {
      // A reset drops what the proxy's socket had not sent yet. The RST's error is reported
      // once, to whichever call comes first: when the writer thread's send takes it, the
      // reader sees end of file.
      EXPECT_LE(got.size(), n);
      EXPECT_TRUE(end_errno == ECONNRESET || end_errno == 0) << end_errno;
    } else {
      EXPECT_EQ(got.size(), n) << "cut after " << n;
      EXPECT_EQ(end_errno, 0);
    }
    EXPECT_TRUE(echo.wait_ended(1, 5s)) << "the target side was not closed";
    EXPECT_EQ(proxy.open_connections(), 0u);
    EXPECT_EQ(proxy.forwarded(0, cutting_proxy::direction::to_client), n);
  }
}

TEST(CuttingProxy, ACutInTheClientDirectionStopsWhatTheTargetReceives) {
  echo_server echo;
  cutting_proxy proxy(echo.port());
  proxy.cut_after(0, cutting_proxy::direction::to_target, 1000);
  const int fd = connect_to(proxy.port());
  ASSERT_GE(fd, 0);
  auto [got, end_errno] = round_trip(fd, random_bytes(100000, 3));
  ::close(fd);
  EXPECT_LE(got.size(), 1000u); // only what passed can come back
  EXPECT_EQ(proxy.forwarded(0, cutting_proxy::direction::to_target), 1000u);
  EXPECT_TRUE(echo.wait_ended(1, 5s));
}

TEST(CuttingProxy, CutAllAndRefuse) {
  echo_server echo;
  cutting_proxy proxy(echo.port());
  const int a = connect_to(proxy.port()), b = connect_to(proxy.port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_TRUE(proxy.wait_accepted(2, 5s));
  // Both forward until the cut.
  for (int fd : {a, b}) {
    ASSERT_EQ(::send(fd, "ping", 4, MSG_NOSIGNAL), 4);
    char buf[4];
    ASSERT_EQ(::recv(fd, buf, 4, MSG_WAITALL), 4);
  }
  for (int i = 0; i < 100 && proxy.open_connections() < 2; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(proxy.cut_all(), 2u);
  char buf[8];
  EXPECT_EQ(::read(a, buf, sizeof buf), 0);
  EXPECT_EQ(::read(b, buf, sizeof buf), 0);
  EXPECT_TRUE(echo.wait_ended(2, 5s));
  EXPECT_FALSE(proxy.cut(0)); // already cut
  ::close(a);
  ::close(b);

  proxy.refuse(true);
  const int refused = connect_to(proxy.port()); // the kernel accepts; the proxy closes it
  ASSERT_GE(refused, 0);
  ::send(refused, "x", 1, MSG_NOSIGNAL);
  const ssize_t n = ::read(refused, buf, sizeof buf);
  EXPECT_LE(n, 0);
  ::close(refused);
  EXPECT_EQ(proxy.forwarded(2, cutting_proxy::direction::either), 0u);
  proxy.refuse(false);
  const int again = connect_to(proxy.port());
  ASSERT_GE(again, 0);
  auto [got, end_errno] = round_trip(again, "hello");
  ::close(again);
  EXPECT_EQ(got, "hello");
}

} // namespace
} // namespace agentrt::test

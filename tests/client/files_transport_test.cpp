// The texts files_client gives for transport failures (nothing listening, a name that does not
// resolve, a TLS handshake refused, an answer that is not HTTP, a head or body cut, a send that
// stalls while the peer has answered or not), pinned word for word with their code. The peer is
// a scripted socket on 127.0.0.1, as no real runtime fails these ways on demand. Which text a
// failure shows depends on which step failed first (a stalled send answered 201 says the send
// was lost; a stalled send never answered says no answer came), so a change in how the HTTP
// exchange reports its errors cannot change what a user reads.
#include "agentrt/client/files.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/runtime_process.hpp"

namespace agentrt::test {
namespace {

using client::files_client;
using client::files_options;

// Accepts connections on 127.0.0.1 one at a time and runs script on each, on its own thread;
// the connection is closed when script returns. A script that holds the connection polls stop,
// which the destructor sets.
class scripted_peer_socket {
public:
  using script_fn = std::function<void(int fd, const std::atomic<bool>& stop)>;

  explicit scripted_peer_socket(script_fn script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 4) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error(std::string("scripted peer: ") + std::strerror(errno));
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~scripted_peer_socket() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  scripted_peer_socket(const scripted_peer_socket&) = delete;
  scripted_peer_socket& operator=(const scripted_peer_socket&) = delete;

  std::string url(const std::string& scheme = "ws") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + "/";
  }
  std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }

private:
  void serve() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) != 1)
        continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0)
        continue;
      script_(fd, stop_);
      ::close(fd);
    }
  }

  script_fn script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The request's head (through the blank line), or what came before the client closed.
std::string read_request_head(int fd) {
  std::string head;
  char c;
  while (head.size() < 64 * 1024 && head.find("\r\n\r\n") == std::string::npos &&
         ::recv(fd, &c, 1, 0) == 1)
    head.push_back(c);
  return head;
}

void send_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t w = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (w <= 0)
      return;
    done += static_cast<std::size_t>(w);
  }
}

void hold(const std::atomic<bool>& stop) {
  while (!stop)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

// The head is read, then `answer` is sent and the connection closed.
scripted_peer_socket::script_fn answer_then_close(std::string answer) {
  return [answer](int fd, const std::atomic<bool>&) {
    read_request_head(fd);
    send_all(fd, answer);
  };
}

files_options options_for(const std::string& url) {
  files_options o;
  o.url = url;
  o.idle_timeout = std::chrono::milliseconds(300);
  return o;
}

void expect_transport_failure(const client::files_result& r, const std::string& text) {
  EXPECT_EQ(r.error.code, client::errc::connection_failed) << r.error.message;
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error.message, text);
}

// Enough body to fill both sockets' buffers on loopback many times over, made on the fly.
std::size_t endless_zeros(char* buf, std::size_t n, std::uint64_t& left) {
  const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, left));
  std::memset(buf, 0, take);
  left -= take;
  return take;
}
constexpr std::uint64_t stall_size = 256ull << 20;

TEST(FilesClientTransport, NothingListening) {
  const int port = free_port();
  files_client c(options_for("ws://127.0.0.1:" + std::to_string(port) + "/"));
  expect_transport_failure(c.mkdir("/tmp/x"), "POST /files/mkdir: cannot connect to 127.0.0.1:" +
                                                  std::to_string(port) + ": Connection refused");
}

TEST(FilesClientTransport, ANameThatDoesNotResolve) {
  const std::string host = "no-such-host.invalid";
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), "80", &hints, &res);
  if (rc == 0) {
    ::freeaddrinfo(res);
    GTEST_SKIP() << host << " resolves here";
  }
  files_client c(options_for("ws://" + host + ":80/"));
  client::file_info info;
  expect_transport_failure(c.stat("/tmp", info),
                           "GET /files/stat: cannot resolve " + host + ": " + ::gai_strerror(rc));
}

TEST(FilesClientTransport, ATlsHandshakeThePeerDoesNotSpeak) {
  scripted_peer_socket peer([](int fd, const std::atomic<bool>&) {
    char buf[512];
    (void)::recv(fd, buf, sizeof buf, 0); // the ClientHello, left unanswered
  });
  files_client c(options_for(peer.url("wss")));
  client::file_info info;
  expect_transport_failure(c.stat("/tmp", info),
                           "GET /files/stat: TLS handshake with 127.0.0.1 failed");
}

TEST(FilesClientTransport, TheConnectionClosesBeforeAnAnswer) {
  scripted_peer_socket peer(answer_then_close(""));
  files_client c(options_for(peer.url()));
  client::file_info info;
  expect_transport_failure(c.stat("/tmp", info),
                           "no answer: the connection closed before an answer");
  expect_transport_failure(c.read("/tmp/f", [](const char*, std::size_t) { return true; }),
                           "read /tmp/f: the connection closed before an answer");
  expect_transport_failure(c.download_directory("/tmp/d", make_temp_dir() + "/d"),
                           "download /tmp/d: the connection closed before an answer");
}

TEST(FilesClientTransport, AnAnswerThatIsNotHttp) {
  scripted_peer_socket peer(answer_then_close("SSH-2.0-OpenSSH_9.6\r\n" + std::string(200, 'x')));
  files_client c(options_for(peer.url()));
  expect_transport_failure(c.remove("/tmp/f"),
                           "no answer: not an HTTP answer: SSH-2.0-OpenSSH_9.6");
  scripted_peer_socket long_line(answer_then_close("NOT-HTTP " + std::string(100, 'z') + "\r\n"));
  expect_transport_failure(files_client(options_for(long_line.url())).remove("/tmp/f"),
                           "no answer: not an HTTP answer: NOT-HTTP " + std::string(71, 'z'));
}

TEST(FilesClientTransport, TheHeadIsCut) {
  scripted_peer_socket peer(answer_then_close("HTTP/1.1 200 OK\r\nContent-Len"));
  files_client c(options_for(peer.url()));
  expect_transport_failure(c.move("/tmp/a", "/tmp/b"),
                           "no answer: the connection closed in the answer's head");
  expect_transport_failure(c.read("/tmp/f", [](const char*, std::size_t) { return true; }),
                           "read /tmp/f: the connection closed in the answer's head");
}

TEST(FilesClientTransport, TheBodyIsCut) {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
  scripted_peer_socket peer(answer_then_close(head + "{\"path\":\""));
  files_client c(options_for(peer.url()));
  client::file_info info;
  expect_transport_failure(c.stat("/tmp", info), "the answer was cut: connection lost");
  std::string got;
  expect_transport_failure(c.read("/tmp/f",
                                  [&](const char* d, std::size_t n) {
                                    got.append(d, n);
                                    return true;
                                  }),
                           "read /tmp/f cut after 9 bytes: connection lost");
  EXPECT_EQ(got, "{\"path\":\"");
  // A chunked body cut inside a chunk, and one cut before its next chunk's size.
  scripted_peer_socket chunked(answer_then_close(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n8\r\nfg"));
  expect_transport_failure(
      files_client(options_for(chunked.url())).download_directory("/tmp/d", make_temp_dir() + "/d"),
      "download /tmp/d cut after 7 bytes: connection lost");
}

// An answer larger than the client keeps for a small call reads as a cut one.
TEST(FilesClientTransport, AnAnswerTooLargeToKeep) {
  constexpr std::uint64_t size = (64ull << 20) + (1 << 20);
  scripted_peer_socket peer([](int fd, const std::atomic<bool>&) {
    read_request_head(fd);
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n");
    const std::string mib(1 << 20, ' ');
    for (std::uint64_t sent = 0; sent < size; sent += mib.size())
      if (::send(fd, mib.data(), mib.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(mib.size()))
        return; // the client has seen enough
  });
  std::vector<client::file_info> entries;
  expect_transport_failure(files_client(options_for(peer.url())).list("/tmp", entries),
                           "the answer was cut: connection lost");
}

// An error answer cut short is still read for what it says: here its whole JSON came, only the
// rest its Content-Length announced did not.
TEST(FilesClientTransport, AnErrorAnswerCutAfterItsJson) {
  const std::string json = R"({"error":"path_refused","message":"refused here"})";
  scripted_peer_socket peer(
      answer_then_close("HTTP/1.1 403 Forbidden\r\nContent-Length: 500\r\n\r\n" + json + "\n"));
  const auto r = files_client(options_for(peer.url())).mkdir("/tmp/x");
  EXPECT_EQ(r.error.code, client::errc::runtime_error);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.code, "path_refused");
  EXPECT_EQ(r.error.message, "refused here");
  EXPECT_EQ(r.error.metadata_json, json);
  // Without a JSON body, the status says it.
  scripted_peer_socket bare(
      answer_then_close("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 500\r\n\r\n<html>"));
  const auto b = files_client(options_for(bare.url())).mkdir("/tmp/x");
  EXPECT_EQ(b.error.code, client::errc::runtime_error);
  EXPECT_EQ(b.status, 502);
  EXPECT_EQ(b.error.message, "HTTP 502");
}

// The peer answers at once, then neither reads nor closes: the idle timeout ends the send, and
// the answer already there does not hide that the body did not get through. Each call has its
// own peer, as the held connection keeps the next one waiting to be accepted.
scripted_peer_socket::script_fn answer_then_stall() {
  return [](int fd, const std::atomic<bool>& stop) {
    read_request_head(fd);
    send_all(fd, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    hold(stop);
  };
}

TEST(FilesClientTransport, ASendThatStallsAfterTheAnswer) {
  for (const bool chunked : {false, true}) {
    scripted_peer_socket peer(answer_then_stall());
    std::uint64_t left = stall_size;
    const auto r =
        files_client(options_for(peer.url()))
            .write(
                "/tmp/f", [&](char* b, std::size_t n) { return endless_zeros(b, n, left); },
                chunked ? std::nullopt : std::optional<std::uint64_t>(stall_size));
    SCOPED_TRACE(chunked ? "chunked" : "Content-Length");
    expect_transport_failure(r, "write /tmp/f: connection lost while sending");
  }
}

TEST(FilesClientTransport, ASendThatStallsWithoutAnAnswer) {
  scripted_peer_socket peer([](int fd, const std::atomic<bool>& stop) {
    read_request_head(fd);
    hold(stop);
  });
  files_client c(options_for(peer.url()));
  std::uint64_t left = stall_size;
  expect_transport_failure(
      c.write(
          "/tmp/f", [&](char* b, std::size_t n) { return endless_zeros(b, n, left); }, stall_size),
      "write /tmp/f: the connection closed before an answer");
}

TEST(FilesClientTransport, ADirectoryUploadThatStalls) {
  const std::string dir = make_temp_dir();
  {
    std::FILE* f = std::fopen((dir + "/big").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  std::filesystem::resize_file(dir + "/big", stall_size); // sparse: reads as zeros
  for (const bool answered : {true, false}) {
    scripted_peer_socket peer([answered](int fd, const std::atomic<bool>& stop) {
      read_request_head(fd);
      if (answered)
        send_all(fd, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
      hold(stop);
    });
    const auto r = files_client(options_for(peer.url())).upload_directory(dir, "/tmp/up");
    // A connection failure, not a local file's (invalid_options with write_tar's "the upload
    // connection failed" before: agentrt-client exited as for an unreadable file).
    EXPECT_EQ(r.error.code, client::errc::connection_failed) << answered;
    EXPECT_EQ(r.error.message, "upload " + dir +
                                   (answered ? ": connection lost while sending"
                                             : ": the connection closed before an answer"))
        << answered;
  }
}

} // namespace
} // namespace agentrt::test

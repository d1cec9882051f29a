// spool_body: a request body copied into a file descriptor, and how each way it can end is told
// apart by the caller (the bytes written, the peer gone, the limit, the write's errno).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include "files/body_spool.hpp"
#include "files/files_errc.hpp"
#include "files/files_error.hpp"
#include "files/http_request.hpp"
#include "files/http_socket.hpp"

namespace agentrt::runtime::files {
namespace {

// What spool_body made of a body: its result and the bytes it wrote.
struct spool_run {
  protocol::result<std::uint64_t> spooled;
  std::string written;
};

enum class sink { pipe, unwritable };

// body sent (then the connection closed) on one end of a socket pair under a request head;
// spool_body on the other end writes it into a pipe, or into the pipe's read end, which cannot
// be written (EBADF, as a file the runtime cannot write).
spool_run spool(std::string_view head, std::string_view body, std::uint64_t max_bytes,
                sink into = sink::pipe) {
  int sp[2] = {-1, -1}, pp[2] = {-1, -1};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0 ||
      ::pipe2(pp, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "socketpair/pipe2: " << std::strerror(errno);
    return {std::make_error_code(std::errc::io_error), ""};
  }
  http_socket sock{util::unique_fd{sp[0]}, 5};
  util::unique_fd client(sp[1]), read_end(pp[0]), write_end(pp[1]);
  auto req = parse_request_head(head);
  EXPECT_TRUE(req.ok()) << head;
  EXPECT_TRUE(req.ok() && sock.begin_body(req.value()).ok()) << head;
  EXPECT_EQ(::write(client.get(), body.data(), body.size()), static_cast<ssize_t>(body.size()));
  client.reset();
  spool_run run{spool_body(sock, into == sink::pipe ? write_end.get() : read_end.get(), max_bytes),
                ""};
  write_end.reset();
  char buf[4096];
  for (ssize_t n; (n = ::read(read_end.get(), buf, sizeof buf)) > 0;)
    run.written.append(buf, static_cast<std::size_t>(n));
  return run;
}

constexpr std::string_view length_11 = "PUT /files?path=/x HTTP/1.1\r\nContent-Length: 11";
constexpr std::string_view chunked = "PUT /files?path=/x HTTP/1.1\r\nTransfer-Encoding: chunked";

TEST(BodySpool, AWholeBodyIsWrittenAndCounted) {
  const spool_run run = spool(length_11, "hello world", 11);
  ASSERT_TRUE(run.spooled.ok()) << run.spooled.error().message();
  EXPECT_EQ(run.spooled.value(), 11u);
  EXPECT_EQ(run.written, "hello world");

  const spool_run chunks = spool(chunked, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", UINT64_MAX);
  ASSERT_TRUE(chunks.spooled.ok()) << chunks.spooled.error().message();
  EXPECT_EQ(chunks.spooled.value(), 11u);
  EXPECT_EQ(chunks.written, "hello world"); // without the chunked framing
}

TEST(BodySpool, ABodyBeyondTheLimitIsTooLargeAndNotWritten) {
  const spool_run run = spool(length_11, "hello world", 10);
  ASSERT_FALSE(run.spooled.ok());
  EXPECT_EQ(run.spooled.error().code, files_errc::too_large);
  EXPECT_NE(run.spooled.error().code, std::errc::connection_aborted);
  EXPECT_EQ(run.written, "");
}

TEST(BodySpool, APeerGoneEarlyOrBrokenFramingIsConnectionAborted) {
  const spool_run early =
      spool("PUT /files?path=/x HTTP/1.1\r\nContent-Length: 100", "only ten b", UINT64_MAX);
  ASSERT_FALSE(early.spooled.ok());
  EXPECT_EQ(early.spooled.error().code, std::errc::connection_aborted);
  EXPECT_EQ(early.written, "only ten b"); // what came first is written; the caller discards it

  const spool_run broken = spool(chunked, "zz\r\nhello\r\n0\r\n\r\n", UINT64_MAX);
  ASSERT_FALSE(broken.spooled.ok());
  EXPECT_EQ(broken.spooled.error().code, std::errc::connection_aborted);
}

TEST(BodySpool, AFailedWriteCarriesItsErrno) {
  const spool_run run = spool(length_11, "hello world", UINT64_MAX, sink::unwritable);
  ASSERT_FALSE(run.spooled.ok());
  const std::error_code& e = run.spooled.error().code;
  EXPECT_EQ(e, std::error_code(EBADF, std::generic_category()));
  EXPECT_NE(e, std::errc::connection_aborted);
  EXPECT_NE(e, files_errc::too_large);
  // The callers' answer: the errno's text under the file's name.
  EXPECT_EQ(from_errno(e.value(), "/x").text, "/x: Bad file descriptor");
}

} // namespace
} // namespace agentrt::runtime::files

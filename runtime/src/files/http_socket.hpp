// One files-API connection on its worker thread: blocking reads and writes of bounded chunks on
// the accepted TCP socket (with send/receive timeouts, so that a stalled peer frees the thread),
// the request head, the request body (Content-Length or chunked), and the response.
// Memory per connection is the fixed input buffer plus what a handler uses.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "files/files_error.hpp"
#include "files/http_request.hpp"
#include "util/unique_fd.hpp"

namespace agentrt::runtime::files {

class http_socket {
public:
  // fd: a connected TCP socket; made blocking, with the given idle timeout on each read/write.
  http_socket(util::unique_fd fd, int idle_timeout_s);

  int fd() const noexcept { return fd_.get(); }

  // Reads the request head (up to the blank line, at most max_head_bytes). Fails with the error
  // to send for a malformed or too large head, and with std::errc::connection_aborted (nothing
  // to send) when the peer closed or timed out.
  protocol::result<http_request> read_head();

  // The body framing of req: Content-Length, chunked, or none (no body). Fails with the error
  // to send for a body whose framing is unusable.
  protocol::result<void> begin_body(const http_request& req);
  // Content-Length when the body has one.
  std::optional<std::uint64_t> body_length() const { return body_length_; }
  // Sends "100 Continue" if the client asked for it and nothing was sent yet.
  bool send_continue(const http_request& req);
  // Up to n body bytes into buf: >0 bytes read, 0 at the end of the body, -1 when the peer
  // closed early, timed out or broke the chunked framing.
  ssize_t read_body(char* buf, std::size_t n);
  bool body_done() const noexcept { return body_done_; }

  bool write_all(std::string_view data);
  // Status line and headers; Connection: close is always added (one request per connection).
  bool write_head(int status, const std::vector<std::pair<std::string, std::string>>& headers);
  // A whole small response: JSON body with Content-Length.
  bool send_json(int status, const std::string& json,
                 std::vector<std::pair<std::string, std::string>> headers = {});
  bool send_error(const files_error& e);
  // One chunk of a chunked body ("" is not allowed: use end_chunks).
  bool write_chunk(std::string_view data);
  bool end_chunks();

  // Sends the rest of what we have, stops writing, and reads (and drops) what the peer still
  // sends for a short while, so that a client still uploading sees our response rather than a
  // reset. Then closes.
  void lingering_close();

private:
  // Refills in_ when empty; false at EOF or on error.
  bool fill();
  bool read_line(std::string& line, std::size_t max);

  util::unique_fd fd_;
  std::vector<char> in_;
  std::size_t in_begin_ = 0;
  std::size_t in_end_ = 0;

  enum class framing { none, length, chunked };
  framing framing_ = framing::none;
  std::optional<std::uint64_t> body_length_;
  std::uint64_t remaining_ = 0; // of the body (length) or of the current chunk (chunked)
  bool body_done_ = true;
  bool continue_sent_ = false;
};

} // namespace agentrt::runtime::files

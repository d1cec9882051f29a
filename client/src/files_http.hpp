// One HTTP/1.1 exchange with the runtime's files API over a blocking socket (plain, or TLS
// through OpenSSL on the same descriptor), with an idle timeout on every read and write: the
// request head, a body sent whole, by Content-Length or chunked, and the response with its body
// decoded (Content-Length, chunked, or up to the close).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agentrt/client/files.hpp"
#include "agentrt/protocol/result.hpp"

namespace agentrt::client::detail {

struct base_url {
  bool tls = false;
  std::string host;
  std::string port;
};

// ws:// wss:// http:// https://; the path is ignored. Fails with protocol::errc::invalid_value.
protocol::result<base_url> parse_base_url(const std::string& url);

// Percent-encodes a query value.
std::string query_encode(std::string_view s);

// Every step that can fail returns a protocol::result whose error's text says what happened
// ("cannot connect to ...", "connection lost while sending", "the connection closed before an
// answer", ...); the files client puts it after what it was doing. Codes: errc::connection_failed
// (resolve, connect, TLS), errc::closed (the peer closed or the connection broke),
// errc::protocol_violation (not HTTP), or the errno of a failed send or receive.
class http_exchange {
public:
  http_exchange(const files_options& options, const base_url& url);
  ~http_exchange();
  http_exchange(const http_exchange&) = delete;
  http_exchange& operator=(const http_exchange&) = delete;

  // Connects and sends the head; content_length or chunked frame the body to come (neither:
  // no body). The token is added when set.
  protocol::result<void> start(const std::string& method, const std::string& target,
                               std::optional<std::uint64_t> content_length, bool chunked,
                               const std::string& extra_headers = {});
  protocol::result<void> send(std::string_view data); // body bytes (chunk-framed when chunked)
  protocol::result<void> finish_body();               // the last chunk when chunked
  // Reads the status line and headers (skipping 100 Continue).
  protocol::result<void> read_head();
  int status() const noexcept { return status_; }
  std::string header(const std::string& lower_name) const;
  // Body bytes put in buf: >0, 0 at the end. Fails ("connection lost") on a cut or failed
  // connection.
  protocol::result<std::size_t> read_body(char* buf, std::size_t n);
  // The whole (small) body. Fails on a cut, and past max (with the same text: "connection
  // lost").
  protocol::result<std::string> read_all(std::size_t max = 64u << 20);
  // The body up to max, or as much as arrived before a cut: an error answer is read this way,
  // since even a part of its JSON may say more than the status alone.
  std::string read_best_effort(std::size_t max);
  bool body_complete() const noexcept { return done_; }

private:
  protocol::result<void> write_raw(const char* data, std::size_t n);
  // Bytes read into buf, 0 at the peer's orderly close.
  protocol::result<std::size_t> read_raw(char* buf, std::size_t n);
  // Something buffered in in_ past in_pos_; fails at the close too.
  protocol::result<void> fill();
  // One line without its CRLF.
  protocol::result<std::string> read_line();
  // Appends body bytes to out up to the end; fails on a cut or past max, out keeping what came.
  protocol::result<void> append_body(std::string& out, std::size_t max);

  const files_options& options_;
  base_url url_;
  int fd_ = -1;
  struct tls_state;
  std::unique_ptr<tls_state> tls_;
  bool chunked_out_ = false;

  std::string in_;
  std::size_t in_pos_ = 0;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
  bool chunked_in_ = false;
  std::optional<std::uint64_t> left_;
  std::uint64_t chunk_left_ = 0;
  bool done_ = false;
};

} // namespace agentrt::client::detail

// A raw HTTP/1.1 client for the runtime's files API in tests: one request per connection (the
// runtime closes after each), the request body from a string or streamed from a source, the
// response body into a string or streamed to a sink, with chunked responses decoded. Raw
// sockets rather than libcurl so that a test can cut a transfer where it wants.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace agentrt::test {

struct files_reply {
  int status = 0;                             // 0 when no status line arrived
  std::map<std::string, std::string> headers; // names lower-cased
  std::string body;                           // unless a sink took it
  bool complete = false; // the body arrived whole (Content-Length reached, or the last chunk)
  std::string header(const std::string& lower_name) const;
};

struct files_call {
  std::string method = "GET";
  std::string target;               // "/files?path=..." (already percent-encoded)
  std::vector<std::string> headers; // "Name: value"
  std::optional<std::string> body;  // sent with Content-Length
  // Streamed body: body_length bytes taken from source (fills buf, returns bytes; 0 = end).
  std::optional<std::uint64_t> body_length;
  std::function<std::size_t(char* buf, std::size_t n)> source;
  bool chunked_body = false; // stream source with Transfer-Encoding: chunked
  bool half_close = false;   // shut down our sending side after the body (a cut upload)
  // Response body bytes; return false to stop reading (the connection is then cut).
  std::function<bool(const char* data, std::size_t n)> sink;
};

files_reply files_request(int port, const files_call& call);

// Percent-encodes a query value.
std::string url_encode(const std::string& s);

} // namespace agentrt::test

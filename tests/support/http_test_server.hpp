// A real HTTP/1.1 server on 127.0.0.1 for transfer tests, scriptable per path: bodies from
// memory, disk or a generated pattern (streamed, so 1 GiB costs no memory), status sequences,
// redirects, delays, throttled or stalled bodies, resets mid-body, and PUT receiving that
// records headers, byte count and an FNV-1a checksum without keeping large bodies.
// One thread accepts; each connection gets its own thread (tests open a handful).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace agentrt::test {

constexpr std::uint64_t fnv1a64_offset_basis = 14695981039346656037ull;
// Streaming FNV-1a 64: feed chunks in order, starting from fnv1a64_offset_basis.
std::uint64_t fnv1a64(std::uint64_t hash, const void* data, std::size_t size);

// The generated body pattern: byte i of a generated body of any size. Deterministic and
// position-dependent, so a dropped, duplicated or shifted chunk changes the content.
void fill_generated(std::uint64_t offset, char* out, std::size_t size);
// FNV-1a 64 of the first size bytes of the generated pattern.
std::uint64_t generated_checksum(std::uint64_t size);

// One scripted answer. For GET/HEAD the body source is file_path if set, else generated_size
// if set, else body. For PUT/POST the request body is received and recorded first, then
// status and body are sent.
struct http_response {
  int status = 200;
  std::string body;
  std::optional<std::uint64_t> generated_size;
  std::string file_path;
  std::string location; // sets a Location header (for 3xx)
  std::vector<std::pair<std::string, std::string>> headers;
  // Waits before the status line (GET) or before reading the body (PUT).
  std::chrono::milliseconds delay{0};
  // Throttles the body sent (GET) or read (PUT); 0 = as fast as possible.
  std::uint64_t bytes_per_second = 0;
  // After this many body bytes sent (GET) or read (PUT) the connection is reset (RST).
  std::optional<std::uint64_t> reset_after;
  // After this many body bytes sent or read, nothing more happens until the client leaves.
  std::optional<std::uint64_t> stall_after;
  // GET: never sends the status line. PUT: reads the whole body, records it, never answers.
  bool hang = false;
  // GET: the body one byte at a time, each after this pause (a peer that drips, e.g. 900 ms:
  // slower than any useful transfer yet never silent for a whole second).
  std::chrono::milliseconds byte_interval{0};
  // GET: no Content-Length; the body ends when the server closes the connection (an endless
  // stream, with a huge generated_size).
  bool close_delimited = false;

  static http_response with_status(int status, std::string body = {});
  static http_response generated(std::uint64_t size);
  static http_response file(std::string path);
  static http_response redirect(std::string location, int status = 302);
};

struct http_request_record {
  std::string method;
  std::string target;                         // as sent, query included
  std::string path;                           // target without query
  std::map<std::string, std::string> headers; // names lower-cased
};

struct http_put_record {
  std::string path;
  std::string target;
  std::map<std::string, std::string> headers; // names lower-cased
  std::string content_type;                   // "" when absent
  std::optional<std::uint64_t> content_length;
  std::uint64_t body_bytes = 0;
  std::uint64_t body_fnv1a64 = fnv1a64_offset_basis;
  std::string body_head; // the first 64 KiB of the body
  bool complete = false; // the whole Content-Length arrived
};

class http_test_server {
public:
  // Binds 127.0.0.1 on an ephemeral port and starts serving; throws std::runtime_error when
  // it cannot (test setup only).
  http_test_server();
  // Stops accepting, cuts open connections and joins every thread.
  ~http_test_server();
  http_test_server(const http_test_server&) = delete;
  http_test_server& operator=(const http_test_server&) = delete;

  std::uint16_t port() const;
  // "http://127.0.0.1:PORT" + path.
  std::string url(const std::string& path) const;

  // Request n (0-based) on path gets script[min(n, size - 1)]; paths without a script get 404.
  void route(const std::string& path, std::vector<http_response> script);
  void route(const std::string& path, http_response response);

  // Requests whose headers arrived, per path (query ignored).
  std::size_t request_count(const std::string& path) const;
  std::vector<http_request_record> requests() const;
  // Bodies received, in completion order (also partial ones, with complete = false).
  std::vector<http_put_record> puts() const;
  // Connections currently open (a client that gave up should have closed its own).
  std::size_t open_connections() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace agentrt::test

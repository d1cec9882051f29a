// The bench's own HTTP/1.1 server: GET serves files (sendfile, so the download figures measure
// the runtime, not the server) and PUT receives bodies into one reused buffer, counting them
// and checking those under /pattern/ against the byte pattern. One thread per connection:
// the bench opens a handful.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace agentrt::bench {

struct put_record {
  std::string path;
  std::uint64_t content_length = 0;
  std::uint64_t bytes = 0;
  bool complete = false;   // Content-Length bytes arrived
  bool pattern_ok = false; // only for /pattern/ paths: every byte matched
  std::chrono::steady_clock::time_point headers_at{}, done_at{};
};

class http_bench_server {
public:
  // bind_host: the address to listen on; url_host: the one put into URLs for the runtime.
  http_bench_server(std::string bind_host, std::string url_host);
  ~http_bench_server(); // stops: cuts open connections and joins every thread
  http_bench_server(const http_bench_server&) = delete;
  http_bench_server& operator=(const http_bench_server&) = delete;

  std::error_code start(); // binds an ephemeral port and starts accepting
  std::string url(const std::string& path) const;
  std::uint16_t port() const noexcept { return port_; }

  // GET/HEAD path -> the file's content (404 for anything else).
  void serve_file(const std::string& path, const std::string& file_path);
  // Waits until a PUT to path has finished (complete or cut short); nullopt on timeout.
  std::optional<put_record> wait_put(const std::string& path, std::chrono::milliseconds timeout);
  std::size_t puts_completed() const;

private:
  void accept_loop();
  void serve(int fd);
  bool serve_request(int fd, std::string& pending); // false: close the connection
  bool handle_put(int fd, const std::string& path, std::uint64_t length, bool expect_continue,
                  std::string& pending);
  bool handle_get(int fd, const std::string& path, bool head_only);

  std::string bind_host_, url_host_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  bool stopping_ = false;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::string> files_;
  std::map<std::string, put_record> puts_; // by path, the latest
  std::size_t puts_completed_ = 0;
  std::set<int> live_fds_;
  std::thread acceptor_;
  std::vector<std::thread> connections_;
};

} // namespace agentrt::bench

// A minimal HTTP PUT server for the samples' artifact_sink: every URL it hands out accepts one
// PUT, whose body becomes a file in the target directory. It is sample code, kept short on
// purpose (your program would rather hand out presigned object-store URLs), with explicit
// bounds so that a misbehaving sender cannot exhaust the machine:
//   - plain HTTP on one IPv4 address (loopback by default), no TLS;
//   - one connection at a time, on one thread;
//   - request heads up to 16 KiB; bodies need Content-Length and are at most max_body_bytes;
//   - a sender silent for 10 s is dropped (its URL stays valid for a retry).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace agentrt::samples {

class put_server {
public:
  static constexpr std::uint64_t max_body_bytes = 1ULL << 30;

  // Creates dir and listens on an ephemeral port of bind_host (an IPv4 address); on failure
  // error is set and nothing is served.
  put_server(std::string dir, const std::string& bind_host, std::string& error);
  ~put_server(); // stops serving and joins the thread
  put_server(const put_server&) = delete;
  put_server& operator=(const put_server&) = delete;

  // A fresh one-shot URL whose body is stored as dir/file_name (a plain name, no '/'). The
  // body goes to file_name.part first, renamed when complete.
  std::string url_for(const std::string& file_name);
  // Waits at most timeout_ms until every URL handed out has received its file.
  bool wait_idle(int timeout_ms);

private:
  struct state;
  std::unique_ptr<state> state_;
};

} // namespace agentrt::samples

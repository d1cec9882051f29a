// The CLI's one-shot HTTP PUT receiver for --upload-to: each URL it hands out accepts exactly
// one PUT, whose body is stored under the target directory. Meant for runtimes that can reach
// this machine (a local container, loopback); plain HTTP, no TLS.
#pragma once

#include <memory>
#include <string>

namespace agentrt::cli {

class put_receiver {
public:
  // Listens on bind_host (an IPv4 address) on an ephemeral port; URLs use advertise_host.
  // On failure, error is set and the receiver serves nothing.
  put_receiver(std::string dir, const std::string& bind_host, std::string advertise_host,
               std::string& error);
  ~put_receiver(); // stops serving and joins the thread
  put_receiver(const put_receiver&) = delete;
  put_receiver& operator=(const put_receiver&) = delete;

  // A fresh one-shot URL for an artifact; the body will be written to dir/filename.
  std::string url_for(const std::string& filename);
  // Waits (bounded) until every handed-out URL has been used; false on timeout.
  bool wait_idle(int timeout_ms);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace agentrt::cli

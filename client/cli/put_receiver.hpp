// The CLI's one-shot HTTP PUT receiver for --upload-to: each URL it hands out accepts exactly
// one PUT, whose body is stored under the target directory. Meant for runtimes that can reach
// this machine (a local container, loopback); plain HTTP, no TLS.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agentrt/protocol/result.hpp"

namespace agentrt::cli {

class put_receiver {
public:
  // Creates dir and listens on bind_host (an IPv4 address) on an ephemeral port; URLs use
  // advertise_host. Fails with the errno of the step that did (protocol::errc::invalid_value
  // for a bind_host that is no IPv4 address) and the text to show.
  static protocol::result<std::unique_ptr<put_receiver>>
  open(std::string dir, const std::string& bind_host, std::string advertise_host);
  ~put_receiver(); // stops serving and joins the thread
  put_receiver(const put_receiver&) = delete;
  put_receiver& operator=(const put_receiver&) = delete;

  // Called on the receiver's thread once the PUT to a URL was stored (ok()) or could not be
  // (the errno, and "cannot write PATH" as the text).
  using done_handler = std::function<void(const protocol::result<void>& stored)>;

  // A fresh one-shot URL for an artifact; the body will be written to dir/filename, where
  // filename may hold '/'-separated subdirectories (created on demand; the caller keeps it
  // free of "..", "." and empty components). The body goes to a temporary file renamed into
  // place when complete, so a cut upload never leaves half a file under the final name.
  std::string url_for(const std::string& filename, done_handler done = nullptr);
  // Waits (bounded) until every handed-out URL has been used; false on timeout.
  bool wait_idle(int timeout_ms);

private:
  put_receiver();

  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace agentrt::cli

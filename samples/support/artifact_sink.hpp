// Receives a sandbox's artifacts into a local directory: serves one-shot HTTP PUT URLs
// (put_server.hpp) and answers the runtime's upload requests with them. For runtimes that can reach
// this machine (local Docker, loopback); a cloud sandbox would get presigned object-store URLs.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agentrt/client/options.hpp"

namespace agentrt::samples {

class put_server;

class artifact_sink {
public:
  // Listens on 127.0.0.1 (or bind_host); error is set when it cannot.
  explicit artifact_sink(std::string local_dir, std::string& error,
                         const std::string& bind_host = "127.0.0.1");
  ~artifact_sink();
  artifact_sink(const artifact_sink&) = delete;
  artifact_sink& operator=(const artifact_sink&) = delete;

  // Sets on_artifact_upload_request (and the result callback) on a request's options.
  void attach(client::request_options& options);
  // After session::end(): waits (bounded) until every announced file has arrived.
  bool wait(int timeout_ms);
  // Files in the local directory, sorted.
  std::vector<std::string> received() const;
  // Uploads the runtime reported as failed (agentrt runtimes report each outcome).
  std::vector<std::string> failed() const;

private:
  std::string dir_;
  std::unique_ptr<put_server> receiver_;
  mutable std::mutex mutex_;
  std::vector<std::string> failed_;
};

} // namespace agentrt::samples

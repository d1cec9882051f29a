// The files API's workers: each accepted files connection gets its own thread, which does the
// connection's blocking socket and file I/O with a fixed buffer, so that a 1 GiB transfer never
// touches the io_context thread and memory stays bounded (max_connections x the per-connection
// buffers). Connections beyond max_connections get 503 at once.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "files/files_connection.hpp"
#include "files/files_root.hpp"
#include "util/unique_fd.hpp"

namespace agentrt::runtime::files {

class files_server {
public:
  static constexpr std::size_t max_connections = 16;

  // Fails (errno and a text naming the directory) when --files-root cannot be opened (fatal at
  // startup).
  protocol::result<void> start(files_config config, const std::string& root_dir);
  // Joins every worker (after shutdown() they end promptly).
  ~files_server();

  // Serves fd on a worker thread. Called on the io_context thread; never blocks.
  void serve(util::unique_fd fd);
  // Cuts every connection in progress (their threads see the socket fail and end).
  void shutdown();

private:
  struct worker {
    std::thread thread;
    // A duplicate of the connection's socket, for shutdown(): unlike the worker's own
    // descriptor it cannot be closed and its number reused while shutdown() uses it.
    util::unique_fd control;
    bool done = false;
  };
  void reap_locked();

  files_config config_;
  files_root root_;
  std::mutex mutex_;
  std::list<worker> workers_;
  bool shutting_down_ = false;
};

} // namespace agentrt::runtime::files

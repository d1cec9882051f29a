// The runtime's files API (docs/protocol.md, "Files API") from C++: read a remote file into a
// sink or a local file (resuming a partial one with Range), write one from a source or a local
// file, stat, list, mkdir, move, remove, and whole directories up (as a tar stream) and down.
// Blocking calls, one HTTP/1.1 connection each, memory bounded by a fixed buffer whatever the
// size. The URL is the runtime's WebSocket URL (ws:// or wss://; http:// and https:// are
// accepted too) and the token the same one.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agentrt/client/errors.hpp"

namespace agentrt::client {

struct files_options {
  std::string url{};                  // "ws://host:port/" (the path is ignored)
  std::optional<std::string> token{}; // sent as "Authorization: Bearer <token>"
  std::optional<std::string> ca_file{};
  bool verify_tls = true;
  // A connect, read or write that makes no progress for this long fails the call.
  std::chrono::milliseconds idle_timeout{60000};
  // Called as bytes move (transferred so far, total when known) for reads and writes.
  std::function<void(std::uint64_t done, std::optional<std::uint64_t> total)> progress{};
};

struct file_info {
  std::string path{}; // as the runtime reports it (absolute for stat, relative for list)
  std::string type{}; // "file", "directory", "symlink" or "other"
  std::uint64_t size = 0;
  unsigned mode = 0;    // permission bits
  double mtime = 0;     // seconds since the epoch
  std::string target{}; // a symlink's target
};

// The outcome of a call. On an error answer from the runtime, error.code is
// errc::runtime_error, error.message its message, error.metadata_json its JSON body, and
// status/code the HTTP status and the API's error code ("not_found", "path_refused", ...).
// Transport failures are errc::connection_failed (status 0); bad arguments invalid_options.
struct files_result {
  client_error error{};
  int status = 0;
  std::string code{};
  // An outcome says ok(); only an error (client_error) converts to bool, and to true when it
  // holds one.
  bool ok() const noexcept { return !error; }
};

class files_client {
public:
  explicit files_client(files_options options);

  // Remote file bytes from offset on into sink (return false to stop: the call then fails
  // with errc::cancelled).
  files_result read(const std::string& remote,
                    const std::function<bool(const char* data, std::size_t n)>& sink,
                    std::uint64_t offset = 0);
  // Into local (written as local + ".part", renamed when complete). With resume, an existing
  // local + ".part" is continued with Range instead of starting over.
  files_result read_to_file(const std::string& remote, const std::string& local,
                            bool resume = true);
  // length: the size when known (Content-Length), else the body is sent chunked. source fills
  // buf and returns the bytes put there; 0 ends the body.
  files_result write(const std::string& remote,
                     const std::function<std::size_t(char* buf, std::size_t n)>& source,
                     std::optional<std::uint64_t> length = std::nullopt,
                     std::optional<unsigned> mode = std::nullopt);
  files_result write_from_file(const std::string& local, const std::string& remote,
                               std::optional<unsigned> mode = std::nullopt);
  files_result stat(const std::string& remote, file_info& out);
  files_result list(const std::string& remote, std::vector<file_info>& out, int depth = 1);
  files_result mkdir(const std::string& remote, std::optional<unsigned> mode = std::nullopt);
  files_result move(const std::string& from, const std::string& to, bool overwrite = false);
  files_result remove(const std::string& remote, bool recursive = false);
  // local_dir's tree (files, directories, symlinks) streamed as a tar and extracted under
  // remote_dir by the runtime's archive extractor.
  files_result upload_directory(const std::string& local_dir, const std::string& remote_dir);
  // remote_dir's tree as a tar stream, extracted under local_dir (created). Entries are checked
  // as hostile input: no absolute paths, no "..", nothing written through a symlink.
  files_result download_directory(const std::string& remote_dir, const std::string& local_dir);

private:
  files_options options_;
};

} // namespace agentrt::client

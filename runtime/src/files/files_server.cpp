// Worker threads of the files API.
#include "files/files_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <system_error>

#include "files/http_socket.hpp"
#include "log/logger.hpp"

namespace agentrt::runtime::files {

protocol::result<void> files_server::start(files_config config, const std::string& root_dir) {
  config_ = std::move(config);
  return root_.open(root_dir);
}

files_server::~files_server() {
  shutdown();
  std::list<worker> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    all.swap(workers_);
  }
  for (auto& w : all) {
    if (w.thread.joinable())
      w.thread.join();
  }
}

void files_server::reap_locked() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done) {
      it->thread.join(); // it has returned already (done is set last)
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

void files_server::serve(util::unique_fd fd) {
  std::lock_guard<std::mutex> lock(mutex_);
  reap_locked();
  if (shutting_down_ || workers_.size() >= max_connections) {
    // A fresh socket's send buffer takes this small answer without blocking.
    http_socket sock(std::move(fd), 1);
    sock.send_error(make_error(files_errc::busy, shutting_down_
                                                     ? "the runtime is shutting down"
                                                     : "too many files API transfers at once (" +
                                                           std::to_string(max_connections) +
                                                           "); try again later"));
    return;
  }
  workers_.emplace_back();
  worker& w = workers_.back();
  w.control.reset(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
  try {
    w.thread = std::thread([this, &w, fd = std::move(fd)]() mutable {
      serve_files_connection(std::move(fd), config_, root_);
      std::lock_guard<std::mutex> l(mutex_);
      w.control.reset();
      w.done = true;
    });
  } catch (const std::system_error& e) {
    workers_.pop_back();
    log::warn({}, std::string("files API: cannot start a worker thread: ") + e.what());
  }
}

void files_server::shutdown() {
  std::lock_guard<std::mutex> lock(mutex_);
  shutting_down_ = true;
  for (auto& w : workers_) {
    if (w.control)
      ::shutdown(w.control.get(), SHUT_RDWR);
  }
}

} // namespace agentrt::runtime::files

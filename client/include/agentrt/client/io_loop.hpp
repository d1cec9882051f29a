// One I/O thread that serves any number of sessions: every socket, timer and callback of the
// sessions created on it runs there, so one process can drive thousands of runtimes.
#pragma once

#include <memory>

namespace agentrt::client {

class io_loop {
public:
  io_loop(); // starts the thread
  // Waits (bounded) for the sessions' connections to close, then stops and joins the thread.
  // Destroy every session of the loop first.
  ~io_loop();
  io_loop(const io_loop&) = delete;
  io_loop& operator=(const io_loop&) = delete;

  // True when called from this loop's thread (where blocking calls would deadlock).
  bool in_loop_thread() const noexcept;

  struct impl;
  impl& internals() noexcept { return *impl_; } // for the library's own use

private:
  std::unique_ptr<impl> impl_;
};

} // namespace agentrt::client

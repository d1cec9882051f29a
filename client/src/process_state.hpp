// The shared state behind a process_handle (processes.hpp): what the runtime said about the
// process when it started, and — touched on the session's I/O thread only — its stdin queue
// and flow-control counters, its readiness and who waits for what.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agentrt/client/processes.hpp"

namespace agentrt::client::detail {

class session_core;

// One process_handle::async_write_stdin (or the end of input) waiting for window credit.
struct stdin_chunk {
  std::string data;
  std::size_t offset = 0; // bytes of data already sent
  bool eof = false;       // close stdin after data
  process_handle::done_handler done;
};

struct process_state {
  // Fixed once the handle exists.
  std::weak_ptr<session_core> core;
  std::string id;
  std::int64_t pid = 0;
  bool pty = false;
  std::uint64_t window = 0;
  process_callbacks callbacks;
  std::optional<bool> ready_asked; // unknown for a handle from async_session::process

  // I/O thread only.
  std::uint64_t sent = 0;    // stdin bytes handed to the connection
  std::uint64_t written = 0; // the runtime's latest process_stdin_ack_message
  bool stdin_closed = false; // acknowledged closed, or refused
  bool eof_sent = false;
  // Stdin sent and not yet acknowledged written, from offset unconfirmed_from: what a dropped
  // connection may have lost, resent after the resume (at most the window).
  std::string unconfirmed;
  std::uint64_t unconfirmed_from = 0;
  bool eof_on_wire = false;     // the end of input went out
  bool stdin_uncertain = false; // resumed: nothing more is sent until the barrier says what arrived
  std::deque<stdin_chunk> stdin_queue;
  std::uint64_t queued = 0;                                // bytes in stdin_queue not yet sent
  std::vector<process_handle::done_handler> close_waiters; // until the ack says closed
  std::optional<process_ready> ready;
  std::vector<process_handle::ready_handler> ready_waiters;
};

} // namespace agentrt::client::detail

// What every session of one runtime shares: configuration, the process reaper, and the counters
// that /health reports.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include <asio/io_context.hpp>

#include "config/options.hpp"
#include "harness/harness.hpp"
#include "process/process_reaper.hpp"
#include "transfer/thread_pool.hpp"
#include "transfer/transfer_options.hpp"

namespace agentrt::runtime::server {

struct server_state {
  server_state(asio::io_context& io_context, const config::options& opts,
               process::process_reaper& process_reaper, transfer::thread_pool& transfer_pool,
               harness::harness& agent_harness)
      : io(io_context), options(opts), reaper(process_reaper), pool(transfer_pool),
        harness(agent_harness) {}

  transfer::transfer_options transfer_options() const {
    transfer::transfer_options t;
    t.connect_timeout = options.connect_timeout;
    t.low_speed_time = options.low_speed_time;
    t.max_retries = options.transfer_retries;
    return t;
  }

  asio::io_context& io;
  const config::options& options;
  process::process_reaper& reaper;
  transfer::thread_pool& pool; // curl and libarchive work, off the io_context thread
  harness::harness& harness;   // runs invocation_message's agent
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::size_t open_sessions = 0;
  std::size_t requests_in_flight = 0;
  std::uint64_t next_session_id = 1;
  bool shutting_down = false;
};

} // namespace agentrt::runtime::server

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
#include "server/journal.hpp"
#include "server/session_registry.hpp"
#include "transfer/thread_pool.hpp"
#include "transfer/transfer_engine.hpp"
#include "transfer/transfer_options.hpp"

namespace agentrt::runtime::server {

struct server_state {
  server_state(asio::io_context& io_context, const config::options& opts,
               process::process_reaper& process_reaper, transfer::transfer_engine& transfer_engine,
               transfer::thread_pool& local_pool, harness::harness& agent_harness)
      : io(io_context), options(opts), reaper(process_reaper), transfers(transfer_engine),
        pool(local_pool), harness(agent_harness) {}

  transfer::transfer_options transfer_options() const {
    transfer::transfer_options t;
    t.connect_timeout = options.connect_timeout;
    t.low_speed_limit = static_cast<long>(options.low_speed_limit);
    t.low_speed_time = options.low_speed_time;
    t.download_max_bytes = options.download_max_bytes;
    t.max_retries = options.transfer_retries;
    return t;
  }

  journal_limits journal_budget() const {
    journal_limits j;
    j.memory_bytes = static_cast<std::size_t>(options.journal_memory_bytes);
    j.disk_bytes = static_cast<std::size_t>(options.journal_disk_bytes);
    j.dir = options.journal_dir;
    return j;
  }

  asio::io_context& io;
  const config::options& options;
  process::process_reaper& reaper;
  transfer::transfer_engine& transfers; // every download and upload (curl), one thread
  transfer::thread_pool& pool;          // archive extraction and file:// copies, off the io_context
  harness::harness& harness;            // runs invocation_message's agent
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::size_t open_sessions = 0;
  std::size_t requests_in_flight = 0;
  // Durable sessions (docs/durable-sessions.md): every live one by id, with the tombstones of
  // those that ended; detached_sessions counts those without a connection now (/health).
  session_registry durable_sessions;
  std::size_t detached_sessions = 0;
  std::uint64_t next_session_id = 1;
  bool shutting_down = false;
};

} // namespace agentrt::runtime::server

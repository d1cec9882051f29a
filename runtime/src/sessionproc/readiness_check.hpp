// Decides whether a session process is ready (docs/processes.md, "Readiness"): every interval a
// TCP connection to 127.0.0.1:port and/or a probe command run in the process's scope, until both
// succeed in one round or the timeout passes. The outcome is reported once.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "agentrt/protocol/messages.hpp"
#include "agentrt/protocol/result.hpp"
#include "process/child_process.hpp"
#include "process/process_reaper.hpp"
#include "process/process_scope.hpp"

namespace agentrt::runtime::sessionproc {

class readiness_check : public std::enable_shared_from_this<readiness_check> {
public:
  // ok(): ready. Otherwise the error's text says why not (the last failure seen); its code is
  // protocol::errc::timed_out, or the spawn's error when the probe could not be started.
  using done_handler = std::function<void(protocol::result<void> readiness)>;

  struct probe_context {
    std::string cwd;
    std::map<std::string, std::string> env;
  };

  // The scope and reaper must outlive the check (the session process owns all three).
  static std::shared_ptr<readiness_check>
  start(asio::io_context& io, process::process_reaper& reaper, process::process_scope& scope,
        const protocol::process_readiness& spec, probe_context context, done_handler on_done);

  // No handler is called afterwards; a probe still running is killed.
  void cancel();

private:
  readiness_check(asio::io_context& io, process::process_reaper& reaper,
                  process::process_scope& scope, const protocol::process_readiness& spec,
                  probe_context context, done_handler on_done);
  void round();
  void try_port();
  void try_probe();
  void round_failed(std::string why);
  void finish(protocol::result<void> readiness);

  asio::io_context& io_;
  process::process_reaper& reaper_;
  process::process_scope& scope_;
  protocol::process_readiness spec_;
  probe_context context_;
  done_handler on_done_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer interval_timer_;
  asio::steady_timer deadline_timer_;
  std::shared_ptr<process::child_process> probe_;
  std::string last_failure_ = "no check completed";
  bool done_ = false;
};

} // namespace agentrt::runtime::sessionproc

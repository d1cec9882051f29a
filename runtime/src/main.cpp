// The agentrt executable: parse flags, start the listener on one io_context, shut down
// cleanly on SIGTERM/SIGINT.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include "config/options.hpp"
#include "config/process_setup.hpp"
#include "harness/harness.hpp"
#include "log/logger.hpp"
#include "process/containment.hpp"
#include "process/process_reaper.hpp"
#include "server/listener.hpp"

namespace rt = agentrt::runtime;

namespace {

// At exit, what is still buffered for stderr gets this long (stderr may be a pipe nobody
// reads: the log never blocks the process, not even at the end).
constexpr std::chrono::seconds final_log_flush{2};

rt::harness::harness_config harness_config_from(const rt::config::options& opts) {
  rt::harness::harness_config hc;
  hc.agent = opts.agent;
  hc.handler_path = opts.handler_path;
  hc.workdir = opts.workdir;
  hc.timeout = opts.harness_timeout;
  hc.kill_grace = opts.kill_grace;
  hc.max_turns = opts.max_turns;
  hc.openai_token_budget = static_cast<std::int64_t>(opts.openai_token_budget);
  return hc;
}

void log_descriptor_limit(const rt::config::descriptor_limit& fd_limit) {
  if (fd_limit.ec) {
    rt::log::warn({}, "cannot raise the descriptor limit (RLIMIT_NOFILE, soft " +
                          std::to_string(fd_limit.before) + "): " + fd_limit.ec.message());
  } else if (fd_limit.after != fd_limit.before) {
    rt::log::info({}, "descriptor limit (RLIMIT_NOFILE) raised from " +
                          std::to_string(fd_limit.before) + " to " +
                          std::to_string(fd_limit.after));
  }
}

// The containment --containment asks for, handed to the reaper; false (said on stderr) when
// it cannot be had. Before the first thread and the first child: the cgroup set-up may move
// the runtime.
bool set_up_containment(const rt::config::options& opts, rt::process::process_reaper& reaper) {
  auto contained =
      rt::process::containment::create(rt::process::parse_containment_mode(opts.containment)
                                           .value_or(rt::process::containment_mode::automatic));
  if (!contained.ok()) {
    std::fprintf(stderr, "agentrt: --containment %s: %s\n", opts.containment.c_str(),
                 contained.error().message().c_str());
    return false;
  }
  std::unique_ptr<rt::process::containment> containment = std::move(contained).value();
  rt::log::info({}, std::string("process containment: ") + containment->name() + ": " +
                        containment->detail());
  reaper.set_containment(std::move(containment));
  return true;
}

// Until SIGTERM or SIGINT has shut the listener down; then what a request left that its scope
// could not attribute (see containment.hpp) dies, at the latest (the reaper's containment would
// do it on destruction too, silently).
void serve(asio::io_context& io, rt::server::listener& listener,
           rt::process::process_reaper& reaper) {
  asio::signal_set stop_signals(io, SIGTERM, SIGINT);
  stop_signals.async_wait([&](const std::error_code& ec, int signo) {
    if (ec)
      return;
    rt::log::info({}, std::string("received ") + (signo == SIGTERM ? "SIGTERM" : "SIGINT"));
    listener.shutdown([&io] { io.stop(); });
  });
  io.run();
  if (const std::size_t killed = reaper.active_containment()->sweep(std::chrono::seconds(1))) {
    rt::log::info({}, "killed " + std::to_string(killed) +
                          " process(es) left below the runtime on the way out");
  }
}

} // namespace

int main(int argc, char** argv) {
  rt::config::options opts;
  try {
    opts = rt::config::parse_options(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agentrt: %s\n", e.what());
    return 2;
  }
  if (opts.show_help) {
    std::cout << rt::config::help_text(argv[0]);
    return 0;
  }
  if (opts.show_version) {
    std::cout << "agentrt " AGENTRT_VERSION "\n";
    return 0;
  }
  rt::log::set_level(opts.log_level);
  rt::log::set_format(opts.log_format);
  // Before anything can start a child: commands and harnesses must not inherit the token.
  rt::config::hide_token("AGENTRT_TOKEN", "--token", opts.token.value_or(""), argc, argv);
  rt::config::hide_token("AGENTRT_METRICS_TOKEN", "--metrics-token",
                         opts.metrics_token.value_or(""), argc, argv);
  const rt::config::descriptor_limit fd_limit = rt::config::raise_descriptor_limit();

  // A peer that vanishes mid-write must surface as an error code, not kill the runtime.
  std::signal(SIGPIPE, SIG_IGN);
  // Likewise a write past RLIMIT_FSIZE (a sandbox's `ulimit -f`) must fail with EFBIG, which
  // the download reports, instead of killing the runtime. Children get default dispositions.
  std::signal(SIGXFSZ, SIG_IGN);

  asio::io_context io(1);
  auto harness_choice = rt::harness::make_harness(harness_config_from(opts));
  if (!harness_choice.ok()) {
    std::fprintf(stderr, "agentrt: %s\n", harness_choice.error().text.c_str());
    return 2;
  }
  std::unique_ptr<rt::harness::harness> agent_harness = std::move(harness_choice->chosen);
  rt::log::info({}, harness_choice->startup_line);
  log_descriptor_limit(fd_limit);

  rt::process::process_reaper reaper(io);
  if (!set_up_containment(opts, reaper))
    return 2;
  rt::server::listener listener(io, opts, reaper, *agent_harness);
  if (const std::error_code ec = listener.start()) {
    rt::log::error({}, "cannot listen on " + opts.host + ":" + std::to_string(opts.port) + ": " +
                           ec.message());
    rt::log::flush(final_log_flush);
    return 1;
  }

  serve(io, listener, reaper);
  rt::log::info({}, "stopped");
  rt::log::flush(final_log_flush);
  return 0;
}

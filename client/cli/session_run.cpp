#include "session_run.hpp"

#include <algorithm>
#include <cstdio>
#include <future>
#include <thread>

namespace agentrt::cli {

namespace ac = agentrt::client;
using namespace std::chrono_literals;

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

ac::connect_options connect_options_for(const cli_options& o) {
  ac::connect_options connect{o.url, o.token};
  connect.ca_file = o.ca_file;
  connect.verify_tls = !o.insecure;
  connect.durable = o.durable;
  if (o.reconnect_attempts)
    connect.reconnect.max_attempts = *o.reconnect_attempts;
  if (o.reconnect_deadline_s)
    connect.reconnect.deadline = to_ms(*o.reconnect_deadline_s);
  connect.on_connection_event = [](const ac::connection_event& e) {
    if (e.type != ac::connection_event::kind::resumed)
      return;
    print(stderr, "agentrt-client: connection lost (" + e.reason + "); resumed after " +
                      std::to_string(e.attempts) +
                      (e.attempts == 1 ? " attempt, " : " attempts, ") +
                      std::to_string(e.outage.count()) + " ms\n");
  };
  return connect;
}

std::pair<std::shared_ptr<ac::async_session>, ac::client_error>
connect_session(ac::io_loop& loop, const cli_options& o, const run_control& control) {
  ac::connect_options connect = connect_options_for(o);
  const auto deadline = std::chrono::steady_clock::now() + to_ms(o.wait_ready_s.value_or(0));
  for (;;) {
    if (o.wait_ready_s) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      connect.connect_timeout =
          std::clamp(left, std::chrono::milliseconds(100), std::chrono::milliseconds(10000));
    }
    auto [s, e] = ac::async_session::connect(loop, connect).get();
    if (s || !o.wait_ready_s || e.code != ac::errc::connection_failed ||
        from_client_error(e).exit_code == exit_auth_refused || control.interrupted() ||
        std::chrono::steady_clock::now() + 250ms >= deadline)
      return {std::move(s), std::move(e)};
    std::this_thread::sleep_for(250ms);
  }
}

void set_output_callbacks(ac::request_callbacks& callbacks, const cli_options& o,
                          run_control& control) {
  callbacks.on_command_output = [&o, &control](const protocol::command_output_message& m) {
    control.output_arrived();
    if (o.json)
      return emit(m);
    print(m.stream == "stderr" ? stderr : stdout, m.text);
  };
  if (o.json)
    callbacks.on_heartbeat = [](const protocol::heartbeat_message& m) { emit(m); };
}

void set_dead_after(ac::request_limits& limits, const cli_options& o) {
  if (!o.dead_after_s)
    return;
  limits.idle_timeout = to_ms(*o.dead_after_s);
  // A runtime silent that long is taken for dead: it will not answer the cancel either.
  limits.cancel_grace = std::min(limits.cancel_grace, to_ms(*o.dead_after_s));
}

cli_error request_error(const ac::client_error& e, const run_control& control,
                        const std::string& running) {
  cli_error c = from_client_error(e);
  if (e.code == ac::errc::cancelled && control.idle_fired() && !control.interrupted()) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", control.idle_timeout_s());
    c = cli_error{ac::errc_name(ac::errc::idle_timed_out),
                  std::string("idle timeout: no output for ") + seconds +
                      " s (--idle-timeout); the request was cancelled",
                  std::string(R"({"timeout":"idle","timeout_s":)") + seconds + "}", exit_timeout};
  }
  if (!running.empty())
    c.message += " (while running " + running + ")";
  return c;
}

int finish_run(std::shared_ptr<ac::async_session>& session, bool handshake, artifacts* arts,
               const cli_options& o, run_control& control, int status, run_summary& summary) {
  if (session && handshake) {
    auto ended = session->end();
    const auto start = std::chrono::steady_clock::now();
    bool gave_up = false;
    while (ended.wait_for(50ms) != std::future_status::ready) {
      // The runtime waits (its drain timeout) for answers this client will never give.
      if ((arts && arts->only_declined_left(std::chrono::steady_clock::now() - start, 5s)) ||
          control.interrupted()) {
        gave_up = true;
        break;
      }
    }
    if (!gave_up) {
      if (auto e = ended.get(); e && status == 0) {
        const cli_error c = from_client_error(e);
        report(c, o.json);
        summary.error = c;
        status = c.exit_code;
      }
    } else if (control.interrupted() && status == 0) {
      status = exit_cancelled;
    }
  }
  control.unwatch();
  session.reset(); // closes the connection if the handshake was given up on
  if (arts) {
    // end() returns after the runtime finished its uploads; the receiver's last PUT may still
    // be on its way.
    arts->settle(2000);
    summary.artifacts = arts->outcomes();
    if (arts->report_failures(o.json) > 0 && status == 0) {
      status = exit_artifact_failed;
      if (!summary.error)
        summary.error = cli_error{"artifact_not_delivered", "an artifact was not delivered", "{}",
                                  exit_artifact_failed};
    }
  }
  summary.exit_code = status;
  if (o.summary_json)
    write_summary(*o.summary_json, summary);
  return status;
}

cli_run::cli_run(const cli_options& options, const std::string& mode)
    : o(options), arts(artifacts::open(options)), control(options.idle_timeout_s) {
  summary.mode = mode;
}

std::optional<int> cli_run::check_setup() const {
  if (arts.ok())
    return std::nullopt;
  print(stderr, "agentrt-client: " + arts.error().message() + "\n");
  return exit_usage;
}

std::optional<int> cli_run::open() {
  if (auto status = check_setup())
    return status;
  auto [s, e] = connect_session(loop, o, control);
  if (!s) {
    const cli_error c = from_client_error(e);
    report(e, o.json);
    summary.error = c;
    return finish_run(session, false, nullptr, o, control, c.exit_code, summary);
  }
  session = std::move(s);
  control.watch(session);
  return std::nullopt;
}

int cli_run::fail(const client::client_error& e, const std::string& running) {
  const cli_error c = request_error(e, control, running);
  if (e.code == ac::errc::runtime_error)
    report(e, o.json);
  else
    report(c, o.json);
  summary.error = c;
  return c.exit_code;
}

int cli_run::finish(bool handshake, int status) {
  return finish_run(session, handshake, &arts.value(), o, control, status, summary);
}

} // namespace agentrt::cli

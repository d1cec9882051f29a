// Composes GET /metrics (see metrics_page.hpp). Every family is always present, with a zero
// for each label set nothing happened to yet: a dashboard or an alert on a rate then works from
// the first scrape.
#include "metrics/metrics_page.hpp"

#include "metrics/exposition.hpp"
#include "metrics/process_gauges.hpp"
#include "metrics/runtime_metrics.hpp"

namespace agentrt::runtime::metrics {
namespace {

constexpr std::string_view request_kinds[] = {"command", "invocation"};
constexpr std::string_view request_outcomes[] = {"completed", "failed", "cancelled", "abandoned"};
constexpr std::string_view exit_classes[] = {"success", "failure", "signal", "timeout", "killed"};
constexpr std::string_view transfer_kinds[] = {"download", "upload"};
constexpr std::string_view outcomes[] = {"success", "failure"};
constexpr std::string_view streams[] = {"stdout", "stderr"};
constexpr std::string_view kill_signals[] = {"SIGTERM", "SIGKILL"};

static_assert(std::size(request_kinds) == n<request_kind>());
static_assert(std::size(request_outcomes) == n<request_outcome>());
static_assert(std::size(exit_classes) == n<exit_class>());
static_assert(std::size(transfer_kinds) == n<transfer_kind>());
static_assert(std::size(outcomes) == n<transfer_outcome>());
static_assert(std::size(outcomes) == n<harness_outcome>());
static_assert(std::size(streams) == n<output_stream>());
static_assert(std::size(kill_signals) == n<kill_signal>());

void add_counters(exposition& out, const runtime_metrics& m) {
  out.family("agentrt_connections_accepted_total", "counter",
             "WebSocket connections opened (durable resumes included).")
      .sample(m.connections_accepted.get());
  out.family("agentrt_sessions_started_total", "counter", "Sessions started.")
      .sample(m.sessions_started.get());
  out.family("agentrt_session_resumes_total", "counter",
             "Durable sessions resumed or attached on a new connection.")
      .sample(m.durable_resumes.get());
  out.family("agentrt_sessions_expired_total", "counter",
             "Durable sessions ended because nobody resumed them within their window.")
      .sample(m.durable_sessions_expired.get());

  out.family("agentrt_requests_total", "counter", "Requests ended, by kind and outcome.");
  for (std::size_t k = 0; k < n<request_kind>(); ++k) {
    for (std::size_t o = 0; o < n<request_outcome>(); ++o)
      out.sample({{"kind", request_kinds[k]}, {"outcome", request_outcomes[o]}},
                 m.requests[k][o].get());
  }
  out.family("agentrt_commands_started_total", "counter", "Commands started.")
      .sample(m.commands_started.get());
  out.family("agentrt_command_exits_total", "counter",
             "Commands ended, by how: exit 0, another exit status, a signal, past their "
             "timeout, or killed with their cancelled or abandoned request.");
  for (std::size_t c = 0; c < n<exit_class>(); ++c)
    out.sample({{"class", exit_classes[c]}}, m.command_exits[c].get());
  out.family("agentrt_session_processes_started_total", "counter",
             "Session processes started (docs/processes.md).")
      .sample(m.session_processes_started.get());
  out.family("agentrt_output_bytes_total", "counter",
             "Bytes of command output streamed to clients, by stream.");
  for (std::size_t s = 0; s < n<output_stream>(); ++s)
    out.sample({{"stream", streams[s]}}, m.output_bytes[s].get());

  out.family("agentrt_sent_bytes_total", "counter",
             "Bytes of protocol messages queued for clients (every message, before framing).")
      .sample(m.frames_sent_bytes.get());

  out.family("agentrt_transfers_total", "counter",
             "Downloads (downloadables) and artifact uploads ended, by outcome.");
  for (std::size_t k = 0; k < n<transfer_kind>(); ++k) {
    for (std::size_t o = 0; o < n<transfer_outcome>(); ++o)
      out.sample({{"kind", transfer_kinds[k]}, {"outcome", outcomes[o]}}, m.transfers[k][o].get());
  }
  out.family("agentrt_transfer_bytes_total", "counter",
             "Bytes of successful downloads and uploads.");
  for (std::size_t k = 0; k < n<transfer_kind>(); ++k)
    out.sample({{"kind", transfer_kinds[k]}}, m.transfer_bytes[k].get());

  out.family("agentrt_harness_runs_total", "counter", "Agent harness runs, by agent and outcome.");
  for (std::size_t a = 0; a < agent_names.size(); ++a) {
    for (std::size_t o = 0; o < n<harness_outcome>(); ++o)
      out.sample({{"agent", agent_names[a]}, {"outcome", outcomes[o]}}, m.harness_runs[a][o].get());
  }
  out.family("agentrt_process_kill_signals_total", "counter",
             "Processes of requests sent SIGTERM or SIGKILL while their tree was killed (cancel, "
             "timeout, end of request or session), by signal.");
  for (std::size_t s = 0; s < n<kill_signal>(); ++s)
    out.sample({{"signal", kill_signals[s]}}, m.kill_signals[s].get());
}

void add_gauges(exposition& out, const server_gauges& now) {
  out.family("agentrt_build_info", "gauge", "The runtime's version (always 1).")
      .sample({{"version", AGENTRT_VERSION}}, std::uint64_t{1});
  out.family("agentrt_up", "gauge", "1 while serving, 0 once shutting down.")
      .sample(std::uint64_t{now.shutting_down ? 0U : 1U});
  out.family("agentrt_uptime_seconds", "gauge", "Seconds since the runtime started.")
      .sample(now.uptime_seconds);
  out.family("agentrt_sessions_open", "gauge", "Sessions with a connection.")
      .sample(now.open_sessions);
  out.family("agentrt_sessions_detached", "gauge",
             "Durable sessions waiting for a resume or an attach.")
      .sample(now.detached_sessions);
  out.family("agentrt_requests_in_flight", "gauge", "Requests started and not yet ended.")
      .sample(now.requests_in_flight);
  out.family("agentrt_transfers_in_flight", "gauge", "Download and upload attempts running.")
      .sample(now.transfers_in_flight);
  out.family("agentrt_inotify_watches", "gauge",
             "Kernel inotify watches held for artifact directories and their parents.")
      .sample(now.inotify_watches);
  {
    const runtime_metrics& m = get();
    const std::uint64_t started = m.session_processes_started.get();
    const std::uint64_t ended = m.session_processes_ended.get();
    out.family("agentrt_session_processes_running", "gauge",
               "Session processes started whose exit has not been seen yet.")
        .sample(started > ended ? started - ended : 0);
  }

  const process_gauges p = read_process_gauges();
  out.family("process_cpu_seconds_total", "counter", "User and system CPU time of the runtime.")
      .sample(p.cpu_seconds);
  if (p.resident_bytes)
    out.family("process_resident_memory_bytes", "gauge", "Resident memory of the runtime.")
        .sample(*p.resident_bytes);
  if (p.virtual_bytes)
    out.family("process_virtual_memory_bytes", "gauge", "Virtual memory of the runtime.")
        .sample(*p.virtual_bytes);
  if (p.open_fds)
    out.family("process_open_fds", "gauge", "Open file descriptors of the runtime.")
        .sample(*p.open_fds);
  if (p.max_fds)
    out.family("process_max_fds", "gauge", "The runtime's descriptor limit (RLIMIT_NOFILE).")
        .sample(*p.max_fds);
  if (p.threads)
    out.family("agentrt_threads", "gauge", "Threads of the runtime.").sample(*p.threads);
  if (p.start_time_seconds > 0)
    out.family("process_start_time_seconds", "gauge",
               "When the runtime started, in seconds since the epoch.")
        .sample(p.start_time_seconds);
}

} // namespace

std::string render_metrics_page(const server_gauges& now) {
  exposition out;
  add_gauges(out, now);
  add_counters(out, get());
  return out.text();
}

} // namespace agentrt::runtime::metrics

// agentrt-client ps, kill and wait: attach to the session spawn left (its handle), act on its
// processes, detach again so that they keep running. They skip the session's journaled output
// (nobody here prints it), so attaching costs no replay.
#include <rapidjson/document.h>

#include <future>
#include <memory>
#include <sstream>

#include "agentrt/protocol/errc.hpp"
#include "session_handle_text.hpp"
#include "session_run.hpp"
#include "subcommands.hpp"

namespace agentrt::cli {

namespace ac = agentrt::client;
using namespace std::chrono_literals;

namespace {

// Beyond any message the runtime sent: it counts as its last one (docs/durable-sessions.md),
// so the resume replays nothing.
constexpr std::uint64_t skip_replay = 1000000000000000ull;

// The "process_id" of spawn's handle line, "" when there is none.
std::string process_id_of(const std::string& text) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto brace = line.find('{');
    if (brace == std::string::npos)
      continue;
    rapidjson::Document doc;
    doc.Parse(line.c_str() + brace, line.size() - brace);
    if (doc.HasParseError() || !doc.IsObject())
      continue;
    auto it = doc.FindMember("process_id");
    if (it != doc.MemberEnd() && it->value.IsString())
      return it->value.GetString();
  }
  return {};
}

void print_table(const std::vector<ac::process_info>& processes) {
  std::string out = "ID\tSTATE\tEXIT\tPID\tCOMMAND\n";
  for (const auto& p : processes) {
    std::string state = p.state;
    if (p.ready)
      state += *p.ready ? ",ready" : ",not-ready";
    std::string exit = p.exit_code ? std::to_string(*p.exit_code) : "-";
    if (p.signal)
      exit += "(" + *p.signal + ")";
    out += p.process_id + "\t" + state + "\t" + exit + "\t" + std::to_string(p.pid) + "\t" +
           p.command + "\n";
  }
  print(stdout, out);
}

// Waits for f. Fails with client::errc::cancelled when the user interrupted, timed_out when
// `limit` passed.
template <typename T>
protocol::result<T> wait_bounded(std::future<T>& f, const run_control& c,
                                 std::optional<std::chrono::milliseconds> limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit.value_or(0ms);
  while (f.wait_for(50ms) != std::future_status::ready) {
    if (c.interrupted())
      return ac::errc::cancelled;
    if (limit && std::chrono::steady_clock::now() >= deadline)
      return ac::errc::timed_out;
  }
  return f.get();
}

// The session and the process the command acts on.
struct process_target {
  client::session_handle handle;
  std::string id; // "" for ps
};

// From the handle (argument or environment) and the process ID (argument, AGENTRT_PROCESS, or
// the handle's process_id); fails with the text to show before the usage hint.
protocol::result<process_target> resolve_target(const cli_options& o) {
  auto handle = handle_from(o.handle_text);
  if (!handle.ok())
    return std::move(handle).error();
  std::string id = o.process_id;
  if (id.empty() && o.handle_text)
    id = process_id_of(*o.handle_text);
  if (id.empty() && o.mode != "ps")
    return {protocol::errc::missing_field,
            o.mode + " needs a process ID (an argument, AGENTRT_PROCESS, or spawn's output as "
                     "the handle)"};
  return process_target{std::move(handle).value(), std::move(id)};
}

// Attaches without taking over the request in flight (nobody here collects it).
std::pair<std::shared_ptr<ac::async_session>, ac::client_error>
attach_quietly(ac::io_loop& loop, const cli_options& o, const client::session_handle& handle) {
  auto attached = std::make_shared<
      std::promise<std::pair<std::shared_ptr<ac::async_session>, ac::client_error>>>();
  auto attached_future = attached->get_future();
  ac::async_session::attach(
      loop, connect_options_for(o), handle, {},
      [attached](std::shared_ptr<ac::async_session> s, ac::client_error e) {
        attached->set_value({std::move(s), std::move(e)});
      },
      [](ac::attach_result, ac::client_error) {}); // a request in flight is not ours to collect
  return attached_future.get();
}

// What one of ps, kill and wait did: the exit status it chose, and the client error still to
// report (which then decides the status).
struct mode_outcome {
  int status = 0;
  ac::client_error failure;
};

mode_outcome run_ps(ac::async_session& s, const cli_options& o) {
  auto [list, e] = s.list_processes().get();
  if (!e && o.json) {
    protocol::process_list_result_message m;
    m.processes = std::move(list);
    emit(m);
  } else if (!e) {
    print_table(list);
  }
  return {0, e};
}

mode_outcome run_wait(ac::async_session& s, const cli_options& o, const std::string& id,
                      const run_control& control) {
  // Not std::async: its future's destructor would wait for the process after a timeout.
  using answer = std::pair<ac::process_exit, ac::client_error>;
  auto promise = std::make_shared<std::promise<answer>>();
  auto f = promise->get_future();
  s.process(id).async_wait([promise](ac::process_exit exit, ac::client_error e) {
    promise->set_value({exit, std::move(e)});
  });
  auto outcome =
      wait_bounded(f, control, o.timeout_s ? std::optional(to_ms(*o.timeout_s)) : std::nullopt);
  if (!outcome.ok()) {
    // The process keeps running. The detach that follows withdraws the wait at the runtime, so
    // the process stays uncollected and a later wait gets its exit status.
    const bool timed_out = outcome.error().code == ac::errc::timed_out;
    print(stderr, std::string("agentrt-client: ") + (timed_out ? "timed out" : "interrupted") +
                      " waiting for process " + id + "\n");
    return {timed_out ? exit_timeout : exit_cancelled, {}};
  }
  if (outcome->second)
    return {0, outcome->second};
  const auto& exit = outcome->first;
  if (o.json) {
    protocol::process_exit_message m;
    m.process_id = id;
    m.exit_code = exit.exit_code;
    m.signal = exit.signal;
    m.timed_out = exit.timed_out;
    emit(m);
  }
  return {exit.exit_code >= 0 && exit.exit_code < 256 ? exit.exit_code : 1, {}};
}

} // namespace

int run_process_command(const cli_options& o) {
  auto target = resolve_target(o);
  if (!target.ok()) {
    print(stderr, "agentrt-client: " + target.error().message() + "\nRun 'agentrt-client " +
                      o.mode + " --help' for the options.\n");
    return exit_usage;
  }
  target->handle.last_seq = skip_replay;

  run_control control(std::nullopt); // before the loop: its thread inherits the signal mask
  ac::io_loop loop;
  auto [s, attach_error] = attach_quietly(loop, o, target->handle);
  if (!s)
    return report_failure(attach_error, o.json);
  if (!s->supports_processes()) {
    report(cli_error{ac::errc_name(ac::errc::not_supported),
                     o.url + " does not offer session processes", "{}", exit_connection},
           o.json);
    s->detach().wait_for(10s);
    return exit_connection;
  }

  mode_outcome done;
  if (o.mode == "ps")
    done = run_ps(*s, o);
  else if (o.mode == "kill")
    done.failure = s->process(target->id).signal(o.signal_name);
  else
    done = run_wait(*s, o, target->id, control);
  if (done.failure)
    done.status = report_failure(done.failure, o.json);
  if (auto f = s->detach(); f.wait_for(30s) == std::future_status::ready) {
    auto [h, e] = f.get();
    if (e && !done.failure)
      return report_failure(e, o.json);
  }
  return done.status;
}

} // namespace agentrt::cli

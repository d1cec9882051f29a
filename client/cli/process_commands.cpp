// agentrt-client ps, kill and wait: attach to the session spawn left (its handle), act on its
// processes, detach again so that they keep running. They skip the session's journaled output
// (nobody here prints it), so attaching costs no replay.
#include <rapidjson/document.h>

#include <future>
#include <sstream>

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

// Waits for f; nullopt when the user interrupted or `limit` passed.
template <typename T>
std::optional<T> wait_bounded(std::future<T>& f, const run_control& c,
                              std::optional<std::chrono::milliseconds> limit, bool& timed_out) {
  const auto deadline = std::chrono::steady_clock::now() + limit.value_or(0ms);
  while (f.wait_for(50ms) != std::future_status::ready) {
    if (c.interrupted())
      return std::nullopt;
    if (limit && std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
      return std::nullopt;
    }
  }
  return f.get();
}

} // namespace

int run_process_command(const cli_options& o) {
  std::string error;
  auto handle = o.handle_text ? parse_handle(*o.handle_text, error) : handle_from_env(error);
  std::string id = o.process_id;
  if (handle && id.empty() && o.handle_text)
    id = process_id_of(*o.handle_text);
  if (handle && id.empty() && o.mode != "ps")
    error = o.mode + " needs a process ID (an argument, AGENTRT_PROCESS, or spawn's output as "
                     "the handle)";
  if (!handle || (id.empty() && o.mode != "ps")) {
    print(stderr, "agentrt-client: " + error + "\nRun 'agentrt-client " + o.mode +
                      " --help' for the options.\n");
    return exit_usage;
  }
  handle->last_seq = skip_replay;

  run_control control(std::nullopt); // before the loop: its thread inherits the signal mask
  ac::io_loop loop;
  auto attached = std::make_shared<
      std::promise<std::pair<std::shared_ptr<ac::async_session>, ac::client_error>>>();
  auto attached_future = attached->get_future();
  ac::async_session::attach(
      loop, connect_options_for(o), *handle, {},
      [attached](std::shared_ptr<ac::async_session> s, ac::client_error e) {
        attached->set_value({std::move(s), std::move(e)});
      },
      [](ac::attach_result, ac::client_error) {}); // a request in flight is not ours to collect
  auto [s, attach_error] = attached_future.get();
  if (!s) {
    report(attach_error, o.json);
    return from_client_error(attach_error).exit_code;
  }
  if (!s->supports_processes()) {
    report(cli_error{ac::errc_name(ac::errc::not_supported),
                     o.url + " does not offer session processes", "{}", exit_connection},
           o.json);
    s->detach().wait_for(10s);
    return exit_connection;
  }

  int status = 0;
  ac::client_error failure;
  if (o.mode == "ps") {
    auto [list, e] = s->list_processes().get();
    failure = e;
    if (!e && o.json) {
      protocol::process_list_result_message m;
      m.processes = std::move(list);
      emit(m);
    } else if (!e) {
      print_table(list);
    }
  } else if (o.mode == "kill") {
    failure = s->process(id).signal(o.signal_name);
  } else {
    auto f = std::async(std::launch::async, [p = s->process(id)]() mutable { return p.wait(); });
    bool timed_out = false;
    auto outcome = wait_bounded(
        f, control, o.timeout_s ? std::optional(to_ms(*o.timeout_s)) : std::nullopt, timed_out);
    if (!outcome) {
      // The process keeps running. The wait already sent stays pending at the runtime: its
      // answer, when the process exits, collects it into the journal, where nobody reads it
      // (README: a later wait then finds the id unknown).
      status = timed_out ? exit_timeout : exit_cancelled;
      print(stderr, std::string("agentrt-client: ") + (timed_out ? "timed out" : "interrupted") +
                        " waiting for process " + id + "\n");
    } else if (outcome->second) {
      failure = outcome->second;
    } else {
      const auto& exit = outcome->first;
      if (o.json) {
        protocol::process_exit_message m;
        m.process_id = id;
        m.exit_code = exit.exit_code;
        m.signal = exit.signal;
        m.timed_out = exit.timed_out;
        emit(m);
      }
      status = exit.exit_code >= 0 && exit.exit_code < 256 ? exit.exit_code : 1;
    }
  }
  if (failure) {
    report(failure, o.json);
    status = from_client_error(failure).exit_code;
  }
  if (auto f = s->detach(); f.wait_for(30s) == std::future_status::ready) {
    auto [h, e] = f.get();
    if (e && !failure) {
      report(e, o.json);
      return from_client_error(e).exit_code;
    }
  }
  return status;
}

} // namespace agentrt::cli

// A session's processes (see process_table.hpp).
#include "sessionproc/process_table.hpp"

#include <algorithm>
#include <utility>

#include "agentrt/protocol/input_quote.hpp"
#include "log/logger.hpp"
#include "sessionproc/process_errc.hpp"
#include "sessionproc/signal_names.hpp"

namespace agentrt::runtime::sessionproc {

process_table::process_table(asio::io_context& io, process::process_reaper& reaper,
                             table_limits limits, send_handler send)
    : io_(io), reaper_(reaper), limits_(limits), send_(std::move(send)) {}

process_table::~process_table() {
  // Only with something alive when the session is destroyed without ending them (the runtime
  // exiting past its deadline): session_process kills its tree on destruction.
  on_terminated_ = nullptr;
}

void process_table::send(protocol::message m) {
  if (!ending_)
    send_(std::move(m));
}

void process_table::refuse(std::optional<std::string> ref, std::optional<std::string> id,
                           std::error_code ec, std::string detail) {
  protocol::process_error_message e;
  e.ref = std::move(ref);
  e.process_id = std::move(id);
  e.code = wire_code(ec);
  e.error = detail.empty() ? ec.message() : std::move(detail);
  send(std::move(e));
}

session_process* process_table::find(const std::string& id, const std::optional<std::string>& ref) {
  const auto it = processes_.find(id);
  if (it != processes_.end())
    return it->second.get();
  refuse(ref, id, process_errc::unknown_process,
         "no process \"" + protocol::quote_prefix(id) + "\" in this session");
  return nullptr;
}

void process_table::handle(protocol::process_start_message&& m) {
  if (!accepting_)
    return refuse(m.ref, {}, process_errc::session_ending);
  retired_.erase(
      std::remove_if(retired_.begin(), retired_.end(), [](const auto& p) { return p->gone(); }),
      retired_.end());
  if (processes_.size() >= limits_.max_processes) {
    return refuse(m.ref, {}, process_errc::too_many_processes,
                  "the session already holds " + std::to_string(processes_.size()) +
                      " processes (running, or exited and not collected with "
                      "process_wait_message; --max-session-processes)");
  }
  std::string id = "p" + std::to_string(next_id_++);
  std::weak_ptr<process_table> weak = weak_from_this();
  auto made = session_process::start(
      io_, reaper_, id, m, limits_.process,
      [weak](protocol::message out) {
        if (auto self = weak.lock())
          self->send(std::move(out));
      },
      [weak](const std::string& exited) {
        if (auto self = weak.lock())
          self->on_exit(exited);
      });
  if (!made.ok()) {
    std::string detail = "failed to start the command";
    if (m.cwd)
      detail += " in \"" + protocol::quote_prefix(*m.cwd) + "\"";
    detail += ": " + made.error().code.message();
    log::warn({}, "session process " + id + ": " + detail);
    return refuse(m.ref, {}, process_errc::spawn_failed, std::move(detail));
  }
  std::shared_ptr<session_process> process = std::move(made).value();
  if (paused_)
    process->pause_output();
  protocol::process_started_message started;
  started.ref = std::move(m.ref);
  started.process_id = id;
  started.pid = process->info().pid;
  started.pty = m.pty.has_value();
  started.stdin_window = process->stdin_window();
  // The answer goes before any output or readiness of the process: those only come from
  // completions on the io thread, after this returns.
  processes_.emplace(id, std::move(process));
  send(std::move(started));
}

void process_table::handle(protocol::process_stdin_message&& m) {
  session_process* p = find(m.process_id, {});
  if (p == nullptr)
    return;
  if (const std::error_code ec = p->write_stdin(m.data, m.eof))
    refuse({}, m.process_id, ec);
}

void process_table::handle(protocol::process_signal_message&& m) {
  session_process* p = find(m.process_id, m.ref);
  if (p == nullptr)
    return;
  const std::optional<int> sig = signal_number(m.signal);
  if (!sig) {
    return refuse(m.ref, m.process_id, process_errc::bad_signal,
                  "unknown signal \"" + protocol::quote_prefix(m.signal) +
                      "\" (SIGHUP, SIGINT, SIGQUIT, SIGKILL, SIGUSR1, SIGUSR2, SIGTERM, SIGCONT, "
                      "SIGSTOP, SIGTSTP, SIGWINCH)");
  }
  if (const std::error_code ec = p->send_signal(*sig))
    refuse(m.ref, m.process_id, ec);
}

void process_table::handle(protocol::process_resize_message&& m) {
  session_process* p = find(m.process_id, m.ref);
  if (p == nullptr)
    return;
  if (const std::error_code ec = p->resize(m.size.cols, m.size.rows))
    refuse(m.ref, m.process_id, ec);
}

void process_table::handle(protocol::process_list_message&& m) {
  protocol::process_list_result_message out;
  out.ref = std::move(m.ref);
  // Ids in the order they were given ("p10" after "p9").
  std::vector<const session_process*> ordered;
  for (const auto& [id, p] : processes_)
    ordered.push_back(p.get());
  std::sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) {
    return a->id().size() != b->id().size() ? a->id().size() < b->id().size() : a->id() < b->id();
  });
  for (const auto* p : ordered)
    out.processes.push_back(p->info());
  send(std::move(out));
}

void process_table::handle(protocol::process_wait_message&& m) {
  session_process* p = find(m.process_id, m.ref);
  if (p == nullptr)
    return;
  waits_[m.process_id].push_back(std::move(m.ref));
  if (p->exited())
    collect(m.process_id);
}

void process_table::on_exit(const std::string& id) {
  if (waits_.count(id) != 0)
    collect(id);
}

void process_table::collect(const std::string& id) {
  auto it = processes_.find(id);
  if (it == processes_.end())
    return;
  auto refs = std::move(waits_[id]);
  waits_.erase(id);
  for (auto& ref : refs)
    send(it->second->exit_message(std::move(ref)));
  if (!it->second->gone())
    retired_.push_back(std::move(it->second));
  processes_.erase(it);
}

void process_table::pause_output() {
  paused_ = true;
  for (auto& [id, p] : processes_)
    p->pause_output();
}

void process_table::resume_output() {
  paused_ = false;
  for (auto& [id, p] : processes_)
    p->resume_output();
}

std::size_t process_table::running() const {
  return static_cast<std::size_t>(std::count_if(processes_.begin(), processes_.end(),
                                                [](const auto& e) { return !e.second->exited(); }));
}

bool process_table::idle() const {
  if (terminating_ > 0)
    return false;
  // Once terminate_all() is done every scope is empty (a child whose exit has not been
  // processed yet only holds descriptors, and goes with the table).
  if (ending_)
    return true;
  const auto gone = [](const std::shared_ptr<session_process>& p) { return p->gone(); };
  return std::all_of(processes_.begin(), processes_.end(),
                     [&](const auto& e) { return gone(e.second); }) &&
         std::all_of(retired_.begin(), retired_.end(), gone);
}

void process_table::terminate_all(std::chrono::milliseconds grace, std::function<void()> on_done) {
  accepting_ = false;
  ending_ = true;
  waits_.clear();
  on_terminated_ = std::move(on_done);
  std::vector<std::shared_ptr<session_process>> all = retired_;
  for (auto& [id, p] : processes_)
    all.push_back(p);
  // Counted before any on_done can run (one may run inside terminate()). A repeat replaces
  // every process's pending on_done, so the count starts over; the generation ignores a
  // completion of the earlier round that was already queued.
  terminating_ = all.size();
  const std::uint64_t generation = ++terminate_generation_;
  for (auto& p : all) {
    p->terminate(grace, [weak = weak_from_this(), generation] {
      auto self = weak.lock();
      if (!self || generation != self->terminate_generation_)
        return;
      --self->terminating_;
      self->check_terminated();
    });
  }
  check_terminated();
}

void process_table::check_terminated() {
  if (terminating_ > 0 || !on_terminated_)
    return;
  auto done = std::move(on_terminated_);
  on_terminated_ = nullptr;
  done();
}

void process_table::kill_now() {
  accepting_ = false;
  ending_ = true;
  for (auto& [id, p] : processes_)
    p->kill_now();
  for (auto& p : retired_)
    p->kill_now();
}

} // namespace agentrt::runtime::sessionproc

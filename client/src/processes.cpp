// session_core's part of the session-processes extension (docs/processes.md): starting, listing
// and collecting processes (questions matched to answers by the ref the runtime echoes), their
// output to the handles' callbacks, stdin within the runtime's window, signals and resizes
// confirmed by a barrier, and what a durable session's resume must send again.
#include <asio/post.hpp>

#include <algorithm>
#include <type_traits>
#include <variant>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/json_builder.hpp"
#include "session_core.hpp"

namespace agentrt::client::detail {

namespace {

// Raw bytes per process_stdin_message: ~87 KB of base64, well inside any frame limit, and
// small enough that a window of 1 MiB is spread over several acknowledgements.
constexpr std::size_t stdin_chunk_bytes = 64 * 1024;

client_error process_refused(const protocol::process_error_message& m) {
  protocol::json_builder meta;
  meta.add("code", m.code);
  if (m.process_id)
    meta.add("process_id", *m.process_id);
  meta.add("error", m.error);
  return make_error(errc::process_error, m.error + " (" + m.code + ")", meta.str());
}

client_error stdin_closed_error(const process_state& p) {
  protocol::process_error_message m;
  m.process_id = p.id;
  m.code = "stdin_closed";
  m.error = "the stdin of process " + p.id + " is closed";
  return process_refused(m);
}

} // namespace

std::optional<client_error> session_core::process_refusal() const {
  if (state_ == state::closed)
    return make_error(errc::closed, ended_ ? "the session has ended"
                                           : "the connection to " + url_ + " is closed");
  if (state_ == state::detaching)
    return make_error(errc::closed, "the session is being detached");
  if (!runtime_has_processes_)
    return make_error(errc::not_supported,
                      "the runtime at " + url_ +
                          " does not support session processes (it did not answer "
                          "Agentrt-Extensions: processes); nothing was sent");
  return std::nullopt;
}

// Completes a question with its refusal (a barrier has nobody waiting).
void session_core::fail_op(process_op& op, const client_error& error) {
  switch (op.type) {
  case process_op::kind::start:
    op.on_started({}, error);
    break;
  case process_op::kind::list:
    op.on_list({}, error);
    break;
  case process_op::kind::wait:
    op.on_exit({}, error);
    break;
  case process_op::kind::confirm:
    op.on_done(error);
    break;
  case process_op::kind::barrier:
    break;
  }
}

std::string session_core::new_process_ref() {
  return "c" + std::to_string(next_process_ref_++);
}

void session_core::submit(std::string ref, process_op op) {
  // Without a connection (a durable session reconnecting) the resume sends it.
  op.sent = link_up();
  if (op.sent)
    transport_->send(op.wire);
  process_ops_.emplace(std::move(ref), std::move(op));
}

// ---- from the public API ------------------------------------------------------------------------

void session_core::start_process(process_options options, process_callbacks callbacks,
                                 async_session::process_handler handler) {
  asio::post(io_, [self = shared_from_this(), options = std::move(options),
                   callbacks = std::move(callbacks), handler = std::move(handler)]() mutable {
    if (options.command.empty())
      return handler({}, make_error(errc::invalid_options, "process_options::command is empty"));
    if (auto refused = self->process_refusal())
      return handler({}, *refused);
    protocol::process_start_message m;
    m.ref = self->new_process_ref();
    m.command = std::move(options.command);
    m.cwd = std::move(options.cwd);
    m.env = std::move(options.env);
    m.pty = options.pty;
    m.stdin_open = options.stdin_open;
    m.ready = std::move(options.ready);
    m.secrets_to_redact = std::move(options.secrets_to_redact);
    m.timeout_s = options.timeout_s;
    process_op op;
    op.type = process_op::kind::start;
    op.wire = protocol::encode(m);
    op.callbacks = std::move(callbacks);
    op.ready_asked = m.ready.has_value();
    op.on_started = std::move(handler);
    self->submit(*m.ref, std::move(op));
  });
}

void session_core::list_processes(async_session::list_handler handler) {
  asio::post(io_, [self = shared_from_this(), handler = std::move(handler)]() mutable {
    if (auto refused = self->process_refusal())
      return handler({}, *refused);
    protocol::process_list_message m;
    m.ref = self->new_process_ref();
    process_op op;
    op.type = process_op::kind::list;
    op.wire = protocol::encode(m);
    op.on_list = std::move(handler);
    self->submit(*m.ref, std::move(op));
  });
}

process_handle session_core::adopt_process(std::string process_id, process_callbacks callbacks) {
  auto p = std::make_shared<process_state>();
  p->core = weak_from_this();
  p->id = std::move(process_id);
  p->callbacks = std::move(callbacks);
  // The window of a process started elsewhere is not known: the documented one (1 MiB).
  p->window = 1u << 20;
  asio::post(io_, [self = shared_from_this(), p] {
    // The newest handle gets the output.
    self->processes_[p->id] = p;
  });
  return process_handle(p);
}

void session_core::process_stdin(std::shared_ptr<process_state> p, std::string bytes, bool eof,
                                 process_handle::done_handler done) {
  asio::post(io_, [self = shared_from_this(), p = std::move(p), bytes = std::move(bytes), eof,
                   done = std::move(done)]() mutable {
    const auto fail = [&](const client_error& e) {
      if (done)
        done(e);
    };
    if (auto refused = self->process_refusal())
      return fail(*refused);
    if (p->stdin_closed || p->eof_sent)
      return fail(stdin_closed_error(*p));
    if (!eof && p->queued > p->window)
      return fail(make_error(errc::busy, "more than the stdin window (" +
                                             std::to_string(p->window) + " bytes) of process " +
                                             p->id + " is queued and not yet sent"));
    if (eof)
      p->eof_sent = true; // later writes are refused; the queue still drains first
    p->queued += bytes.size();
    p->stdin_queue.push_back(stdin_chunk{std::move(bytes), 0, eof, std::move(done)});
    if (eof)
      p->close_waiters.push_back(nullptr); // placeholder, completed with the chunk
    self->pump_stdin(*p);
  });
}

void session_core::process_control(std::shared_ptr<process_state> p, protocol::message m,
                                   process_handle::done_handler done) {
  asio::post(io_, [self = shared_from_this(), p = std::move(p), m = std::move(m),
                   done = std::move(done)]() mutable {
    if (auto refused = self->process_refusal()) {
      if (done)
        done(*refused);
      return;
    }
    if (!done) {
      if (self->link_up())
        self->transport_->send(protocol::encode(m));
      return;
    }
    // No answer on success: a list sent right after answers once the runtime handled it (it
    // handles messages in order, and an error for one comes before the answer to a later one).
    const std::string ref = self->new_process_ref();
    std::visit(
        [&](auto& message) {
          if constexpr (std::is_same_v<std::decay_t<decltype(message)>,
                                       protocol::process_signal_message> ||
                        std::is_same_v<std::decay_t<decltype(message)>,
                                       protocol::process_resize_message>)
            message.ref = ref;
        },
        m);
    process_op confirm;
    confirm.type = process_op::kind::confirm;
    confirm.wire = protocol::encode(m);
    confirm.on_done = std::move(done);
    self->submit(ref, std::move(confirm));
    protocol::process_list_message barrier_message;
    barrier_message.ref = self->new_process_ref();
    process_op barrier;
    barrier.type = process_op::kind::barrier;
    barrier.wire = protocol::encode(barrier_message);
    barrier.confirms = ref;
    self->submit(*barrier_message.ref, std::move(barrier));
  });
}

void session_core::process_wait_ready(std::shared_ptr<process_state> p,
                                      process_handle::ready_handler h) {
  asio::post(io_, [self = shared_from_this(), p = std::move(p), h = std::move(h)]() mutable {
    if (p->ready)
      return h(*p->ready, {});
    if (p->ready_asked == false)
      return h({}, make_error(errc::invalid_options,
                              "process " + p->id + " was started without process_options::ready"));
    if (auto refused = self->process_refusal())
      return h({}, *refused);
    p->ready_waiters.push_back(std::move(h));
  });
}

void session_core::process_wait(std::shared_ptr<process_state> p, process_handle::exit_handler h) {
  asio::post(io_, [self = shared_from_this(), p = std::move(p), h = std::move(h)]() mutable {
    if (auto refused = self->process_refusal())
      return h({}, *refused);
    protocol::process_wait_message m;
    m.ref = self->new_process_ref();
    m.process_id = p->id;
    process_op op;
    op.type = process_op::kind::wait;
    op.wire = protocol::encode(m);
    op.on_exit = std::move(h);
    self->submit(*m.ref, std::move(op));
  });
}

// ---- stdin ------------------------------------------------------------------------------------

namespace {

// The runtime has received stdin up to `upto`: those bytes can never need resending.
void confirm_stdin(process_state& p, std::uint64_t upto) {
  if (upto <= p.unconfirmed_from)
    return;
  const auto n = std::min<std::uint64_t>(upto - p.unconfirmed_from, p.unconfirmed.size());
  p.unconfirmed.erase(0, n);
  p.unconfirmed_from += n;
}

} // namespace

void session_core::pump_stdin(process_state& p) {
  if (!link_up() || p.stdin_uncertain)
    return; // the resume pumps again
  while (!p.stdin_queue.empty() && !p.stdin_closed) {
    auto& chunk = p.stdin_queue.front();
    const std::uint64_t in_flight = p.sent - std::min(p.sent, p.written);
    const std::size_t left = chunk.data.size() - chunk.offset;
    if (left > 0 && in_flight >= p.window)
      return; // the next process_stdin_ack_message makes room
    protocol::process_stdin_message m;
    m.process_id = p.id;
    const std::size_t n = std::min<std::uint64_t>({left, stdin_chunk_bytes, p.window - in_flight});
    m.data = chunk.data.substr(chunk.offset, n);
    chunk.offset += n;
    p.sent += n;
    p.queued -= n;
    m.eof = chunk.eof && chunk.offset == chunk.data.size();
    p.unconfirmed.append(m.data);
    p.eof_on_wire = p.eof_on_wire || m.eof;
    if (n > 0 || m.eof)
      transport_->send(protocol::encode(m));
    if (chunk.offset < chunk.data.size())
      continue;
    auto done = std::move(chunk.done);
    const bool eof = chunk.eof;
    p.stdin_queue.pop_front();
    if (eof) {
      // Completes with the acknowledgement that says closed (or the refusal).
      p.close_waiters.back() = std::move(done);
      continue;
    }
    if (done)
      done({});
  }
}

void session_core::resend_stdin(process_state& p, const process_info* info) {
  p.stdin_uncertain = false;
  if (p.stdin_closed || info == nullptr)
    return; // its exit or the refusal came with the replay
  // A runtime that does not count what it received: nothing can be resent safely.
  const std::uint64_t received = std::min(info->stdin_received.value_or(p.sent), p.sent);
  confirm_stdin(p, received);
  const bool eof_lost = p.eof_on_wire && !info->stdin_closed.value_or(true);
  std::size_t offset = 0;
  do {
    protocol::process_stdin_message m;
    m.process_id = p.id;
    m.data = p.unconfirmed.substr(offset, stdin_chunk_bytes);
    offset += m.data.size();
    m.eof = eof_lost && offset == p.unconfirmed.size();
    if (!m.data.empty() || m.eof)
      transport_->send(protocol::encode(m));
  } while (offset < p.unconfirmed.size());
}

void session_core::fail_stdin(process_state& p, const client_error& error) {
  p.stdin_closed = true;
  p.unconfirmed.clear();
  p.unconfirmed.shrink_to_fit();
  auto queue = std::move(p.stdin_queue);
  p.stdin_queue.clear();
  p.queued = 0;
  auto waiters = std::move(p.close_waiters);
  p.close_waiters.clear();
  for (auto& chunk : queue)
    if (chunk.done)
      chunk.done(error);
  for (auto& w : waiters)
    if (w)
      w(error);
}

// ---- from the runtime -------------------------------------------------------------------------

void session_core::on_process_message(protocol::message& msg) {
  std::visit(
      [&](auto& m) {
        using type = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<type, protocol::process_output_message>)
          on_process_output(m);
        else if constexpr (std::is_same_v<type, protocol::process_started_message>)
          on_process_started(m);
        else if constexpr (std::is_same_v<type, protocol::process_stdin_ack_message>)
          on_process_stdin_ack(m);
        else if constexpr (std::is_same_v<type, protocol::process_ready_message>)
          on_process_ready(m);
        else if constexpr (std::is_same_v<type, protocol::process_exit_message>)
          on_process_exit(m);
        else if constexpr (std::is_same_v<type, protocol::process_list_result_message>)
          on_process_list_result(m);
        else if constexpr (std::is_same_v<type, protocol::process_error_message>)
          on_process_error(m);
      },
      msg);
}

void session_core::on_process_output(const protocol::process_output_message& m) {
  auto it = processes_.find(m.process_id);
  if (it == processes_.end())
    return; // a process nobody here holds a handle for
  const auto& cb = it->second->callbacks;
  const auto& f = m.stream == "pty"      ? cb.on_pty
                  : m.stream == "stderr" ? cb.on_stderr
                                         : cb.on_stdout;
  if (f)
    f(m.data);
}

void session_core::on_process_started(const protocol::process_started_message& m) {
  auto it = m.ref ? process_ops_.find(*m.ref) : process_ops_.end();
  if (it == process_ops_.end() || it->second.type != process_op::kind::start)
    return;
  auto op = std::move(it->second);
  process_ops_.erase(it);
  auto p = std::make_shared<process_state>();
  p->core = weak_from_this();
  p->id = m.process_id;
  p->pid = m.pid;
  p->pty = m.pty;
  p->window = m.stdin_window;
  p->stdin_closed = m.stdin_window == 0;
  p->callbacks = std::move(op.callbacks);
  p->ready_asked = op.ready_asked;
  processes_[p->id] = p;
  op.on_started(process_handle(p), {});
}

void session_core::on_process_stdin_ack(const protocol::process_stdin_ack_message& m) {
  auto it = processes_.find(m.process_id);
  if (it == processes_.end())
    return;
  auto p = it->second;
  p->written = std::max(p->written, m.written);
  confirm_stdin(*p, p->written);
  if (m.closed) {
    auto waiters = std::move(p->close_waiters);
    p->close_waiters.clear();
    // Bytes not yet sent can no longer be written.
    fail_stdin(*p, stdin_closed_error(*p));
    for (auto& w : waiters)
      if (w)
        w({});
    return;
  }
  pump_stdin(*p);
}

void session_core::on_process_ready(const protocol::process_ready_message& m) {
  auto it = processes_.find(m.process_id);
  if (it == processes_.end())
    return;
  auto p = it->second;
  p->ready = process_ready{m.ready, m.error.value_or(""), std::chrono::milliseconds(m.elapsed_ms)};
  auto waiters = std::move(p->ready_waiters);
  p->ready_waiters.clear();
  for (auto& w : waiters)
    w(*p->ready, {});
}

void session_core::on_process_exit(const protocol::process_exit_message& m) {
  if (auto it = processes_.find(m.process_id); it != processes_.end()) {
    // Collected: the id is unknown from now on.
    auto p = it->second;
    processes_.erase(it);
    fail_stdin(*p, stdin_closed_error(*p));
    if (!p->ready_waiters.empty()) {
      auto waiters = std::move(p->ready_waiters);
      p->ready_waiters.clear();
      for (auto& w : waiters)
        w({false, "the process exited before readiness was decided", {}}, {});
    }
  }
  auto it = m.ref ? process_ops_.find(*m.ref) : process_ops_.end();
  if (it == process_ops_.end() || it->second.type != process_op::kind::wait)
    return;
  auto op = std::move(it->second);
  process_ops_.erase(it);
  op.on_exit(process_exit{m.exit_code, m.signal, m.timed_out}, {});
}

void session_core::on_process_list_result(protocol::process_list_result_message& m) {
  auto it = m.ref ? process_ops_.find(*m.ref) : process_ops_.end();
  if (it == process_ops_.end())
    return;
  auto op = std::move(it->second);
  process_ops_.erase(it);
  if (op.type == process_op::kind::list)
    op.on_list(std::move(m.processes), {});
  else if (op.type == process_op::kind::barrier)
    on_barrier(op.confirms, std::move(m.processes));
}

void session_core::on_process_error(protocol::process_error_message& m) {
  const client_error error = process_refused(m);
  if (!m.ref) {
    // process_stdin_message carries no ref: a refusal without one is about stdin.
    if (!m.process_id)
      return;
    if (auto it = processes_.find(*m.process_id); it != processes_.end())
      fail_stdin(*it->second, error);
    return;
  }
  auto it = process_ops_.find(*m.ref);
  if (it == process_ops_.end())
    return;
  auto op = std::move(it->second);
  process_ops_.erase(it);
  fail_op(op, error);
}

void session_core::on_barrier(const std::string& confirms, std::vector<process_info> processes) {
  if (!confirms.empty()) {
    // The runtime handled the signal or resize without refusing it.
    if (auto it = process_ops_.find(confirms); it != process_ops_.end()) {
      auto op = std::move(it->second);
      process_ops_.erase(it);
      op.on_done({});
    }
    return;
  }
  // The barrier after a resume; the replay came before it. What was sent on the connection
  // that dropped and is still unanswered never reached the runtime, which answers starts,
  // lists and refusals at once and in order — except a wait for a process still running,
  // which may be pending there. Sending a wait again is harmless: its ref matches the first
  // answer, and a second answer finds nothing.
  std::vector<std::string> lost_barriers;
  for (auto& [ref, op] : process_ops_) {
    if (!op.uncertain)
      continue;
    op.uncertain = false;
    if (op.type == process_op::kind::barrier) {
      lost_barriers.push_back(ref);
    } else if (op.type != process_op::kind::confirm && link_up()) {
      transport_->send(op.wire);
      op.sent = true;
    }
  }
  // A signal or resize whose barrier was lost may or may not have reached the runtime; sending
  // it again could deliver it twice.
  for (const auto& ref : lost_barriers) {
    auto b = process_ops_.find(ref);
    const std::string confirm_ref = b->second.confirms;
    process_ops_.erase(b);
    if (auto c = process_ops_.find(confirm_ref); c != process_ops_.end()) {
      auto op = std::move(c->second);
      process_ops_.erase(c);
      op.on_done(make_error(errc::closed, "the connection dropped before the runtime confirmed "
                                          "the message; it may or may not have been handled"));
    }
  }
  // Stdin has no answer of its own: the runtime's count of what it received says which bytes
  // the dropped connection lost.
  if (!link_up())
    return; // the next resume's barrier decides
  for (auto& [id, p] : processes_) {
    if (!p->stdin_uncertain)
      continue;
    const auto listed =
        std::find_if(processes.begin(), processes.end(),
                     [&id = id](const process_info& info) { return info.process_id == id; });
    resend_stdin(*p, listed == processes.end() ? nullptr : &*listed);
    pump_stdin(*p);
  }
}

void session_core::resume_processes() {
  bool any_uncertain = false;
  for (auto& [ref, op] : process_ops_)
    if (op.sent) {
      op.uncertain = true;
      any_uncertain = true;
    }
  for (auto& [id, p] : processes_) {
    if (!p->stdin_closed && (p->sent > p->written || p->eof_on_wire || p->stdin_uncertain)) {
      p->stdin_uncertain = true;
      any_uncertain = true;
    }
  }
  if (any_uncertain) {
    protocol::process_list_message m;
    m.ref = new_process_ref();
    process_op barrier;
    barrier.type = process_op::kind::barrier;
    barrier.wire = protocol::encode(m);
    submit(*m.ref, std::move(barrier));
  }
  for (auto& [ref, op] : process_ops_)
    if (!op.sent && !op.uncertain && link_up()) {
      transport_->send(op.wire);
      op.sent = true;
    }
  for (auto& [id, p] : processes_)
    pump_stdin(*p);
}

void session_core::fail_processes(const client_error& error) {
  runtime_has_processes_ = false;
  auto ops = std::move(process_ops_);
  process_ops_.clear();
  auto processes = std::move(processes_);
  processes_.clear();
  for (auto& [ref, op] : ops)
    fail_op(op, error);
  for (auto& [id, p] : processes) {
    fail_stdin(*p, error);
    auto waiters = std::move(p->ready_waiters);
    p->ready_waiters.clear();
    for (auto& w : waiters)
      w({}, error);
  }
}

} // namespace agentrt::client::detail

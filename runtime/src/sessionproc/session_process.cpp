// One session process (see session_process.hpp).
#include "sessionproc/session_process.hpp"

#include <signal.h>

#include <cmath>

#include "metrics/runtime_metrics.hpp"
#include "sessionproc/process_errc.hpp"
#include "sessionproc/signal_names.hpp"

namespace agentrt::runtime::sessionproc {

session_process::session_process(asio::io_context& io, process::process_reaper& reaper,
                                 std::string id, const protocol::process_start_message& m,
                                 const process_settings& settings, send_handler send,
                                 exit_handler on_exit)
    : io_(io), reaper_(reaper), id_(std::move(id)), command_(m.command),
      redactor_(std::make_shared<const protocol::redactor>(m.secrets_to_redact)),
      pty_(m.pty.has_value()), stdin_open_(m.stdin_open || m.pty.has_value()), settings_(settings),
      send_(std::move(send)), on_exit_(std::move(on_exit)),
      scope_(std::make_shared<process::process_scope>(io, reaper)), stdout_(*redactor_),
      stderr_(*redactor_), terminal_(*redactor_), started_(std::chrono::steady_clock::now()),
      timeout_timer_(io) {}

session_process::~session_process() {
  if (child_ && !status_)
    metrics::get().session_processes_ended.add();
  readiness_.reset();
  // Only reached with something alive when the session is destroyed without having
  // terminated its processes (the runtime exiting past its deadline).
  if (!gone())
    scope_->kill_now();
}

protocol::result<std::shared_ptr<session_process>>
session_process::start(asio::io_context& io, process::process_reaper& reaper, std::string id,
                       const protocol::process_start_message& m, const process_settings& settings,
                       send_handler send, exit_handler on_exit) {
  std::shared_ptr<session_process> self(new session_process(io, reaper, std::move(id), m, settings,
                                                            std::move(send), std::move(on_exit)));
  process::spawn_options opts;
  opts.argv = {"/bin/sh", "-c", m.command};
  if (m.cwd)
    opts.cwd = *m.cwd;
  if (m.env)
    opts.env.insert(m.env->begin(), m.env->end());
  opts.drain_idle = settings.drain_idle;
  opts.stdin_stream = self->stdin_open_;
  if (m.pty) {
    opts.pty = process::terminal_size{static_cast<unsigned short>(m.pty->cols),
                                      static_cast<unsigned short>(m.pty->rows)};
  }
  // Weak everywhere: the table owns the process, the process owns the child.
  std::weak_ptr<session_process> weak = self;
  opts.on_stdin_progress = [weak](std::uint64_t written, bool closed) {
    if (auto s = weak.lock())
      s->on_stdin_progress(written, closed);
  };
  auto child = process::child_process::spawn(
      io, reaper, *self->scope_, opts,
      [weak](process::output_stream stream, std::string_view chunk) {
        if (auto s = weak.lock())
          s->on_output(stream, chunk);
      },
      [weak](process::exit_status status) {
        if (auto s = weak.lock())
          s->on_exit(status);
      });
  if (!child.ok())
    return child.error().code;
  self->child_ = std::move(child).value();
  self->pid_ = self->child_->pid();
  metrics::get().session_processes_started.add();
  if (m.timeout_s)
    self->arm_timeout(*m.timeout_s);
  if (m.ready) {
    readiness_check::probe_context context;
    context.cwd = opts.cwd;
    context.env = opts.env;
    self->readiness_ =
        readiness_check::start(io, reaper, *self->scope_, *m.ready, std::move(context),
                               [weak](const protocol::result<void>& readiness) {
                                 if (auto s = weak.lock())
                                   s->on_ready(readiness);
                               });
  }
  return self;
}

std::uint64_t session_process::stdin_window() const noexcept {
  return stdin_open_ ? settings_.stdin_window : 0;
}

protocol::process_info session_process::info() const {
  protocol::process_info i;
  i.process_id = id_;
  i.command = redactor_->redact(command_);
  i.pid = pid_;
  i.pty = pty_;
  i.ready = ready_;
  if (stdin_open_) {
    i.stdin_received = accepted_;
    i.stdin_closed = stdin_closed_;
  }
  if (status_) {
    i.state = "exited";
    i.exit_code = status_->exit_code;
    if (status_->term_signal != 0)
      i.signal = signal_name(status_->term_signal);
  } else {
    i.state = readiness_ && !ready_ ? "starting" : "running";
  }
  return i;
}

protocol::process_exit_message session_process::exit_message(std::optional<std::string> ref) const {
  protocol::process_exit_message m;
  m.ref = std::move(ref);
  m.process_id = id_;
  m.exit_code = status_ ? status_->exit_code : -1;
  if (status_ && status_->term_signal != 0)
    m.signal = signal_name(status_->term_signal);
  m.timed_out = timed_out_;
  return m;
}

std::error_code session_process::write_stdin(std::string_view data, bool eof) {
  if (status_ || terminating_)
    return process_errc::exited;
  if (!stdin_open_ || stdin_closed_)
    return process_errc::stdin_closed;
  if (child_->stdin_pending() + data.size() > settings_.stdin_window) {
    // Nothing of this chunk is written, and nothing after it: what the process reads stays a
    // prefix of what was sent.
    stdin_closed_ = true;
    child_->close_stdin();
    return process_errc::stdin_overflow;
  }
  accepted_ += data.size();
  if (!data.empty())
    child_->write_stdin(data);
  if (eof) {
    // With a terminal this types its end-of-file character (closing it would hang it up).
    child_->close_stdin();
    stdin_closed_ = true;
  }
  return {};
}

void session_process::on_stdin_progress(std::uint64_t written, bool closed) {
  if (closed) {
    stdin_closed_ = true;
    if (closed_acked_)
      return;
    closed_acked_ = true;
    acked_ = written;
    send_(protocol::process_stdin_ack_message{id_, written, true});
    return;
  }
  // Every quarter window, and whenever everything accepted so far has been written: the
  // client's credit never waits for more than a quarter of the window.
  if (written > acked_ &&
      (written - acked_ >= settings_.stdin_window / 4 || written == accepted_)) {
    acked_ = written;
    send_(protocol::process_stdin_ack_message{id_, written, false});
  }
}

std::error_code session_process::send_signal(int sig) {
  if (status_ || terminating_)
    return process_errc::exited;
  if (sig == SIGKILL) {
    // The whole tree, whatever left the group.
    scope_->kill_now();
    return {};
  }
  return child_->signal(sig);
}

std::error_code session_process::resize(int cols, int rows) {
  if (!pty_)
    return process_errc::not_a_terminal;
  if (status_ || terminating_)
    return process_errc::exited;
  return child_->resize(static_cast<unsigned short>(cols), static_cast<unsigned short>(rows));
}

void session_process::pause_output() {
  if (child_)
    child_->pause_output();
}

void session_process::resume_output() {
  if (child_)
    child_->resume_output();
}

void session_process::terminate(std::chrono::milliseconds grace, std::function<void()> on_done) {
  terminating_ = true;
  send_ = [](protocol::message) {};
  if (readiness_)
    readiness_->cancel();
  timeout_timer_.cancel();
  // A killed process's pipes must still be drained for it to finish.
  if (child_)
    child_->resume_output();
  scope_->terminate(grace, std::move(on_done));
}

void session_process::kill_now() {
  terminating_ = true;
  scope_->kill_now();
}

bool session_process::gone() const {
  return (status_ || !child_) && scope_->empty();
}

void session_process::arm_timeout(double seconds) {
  constexpr double max_timeout_s = 1e9; // beyond: never (the timer's nanoseconds overflow)
  if (!(seconds > 0) || seconds >= max_timeout_s)
    return;
  timeout_timer_.expires_after(
      std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000.0))));
  timeout_timer_.async_wait([weak = weak_from_this()](const std::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->status_)
      return;
    self->timed_out_ = true;
    self->scope_->terminate(self->settings_.kill_grace, [] {});
  });
}

void session_process::on_output(process::output_stream stream, std::string_view chunk) {
  if (terminating_)
    return;
  std::string out;
  if (stream == process::output_stream::pty) {
    terminal_.write(chunk, out);
    emit("pty", std::move(out));
    return;
  }
  execution::text_stream& text =
      stream == process::output_stream::stdout_stream ? stdout_ : stderr_;
  text.write(chunk, out);
  emit(stream == process::output_stream::stdout_stream ? "stdout" : "stderr", std::move(out));
}

void session_process::emit(const char* stream, std::string data) {
  if (data.empty())
    return;
  send_(protocol::process_output_message{id_, stream, std::move(data)});
}

void session_process::on_ready(const protocol::result<void>& readiness) {
  ready_ = readiness.ok();
  protocol::process_ready_message m;
  m.process_id = id_;
  m.ready = readiness.ok();
  if (!readiness.ok())
    m.error = redactor_->redact(readiness.error().text);
  m.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - started_)
                     .count();
  send_(std::move(m));
}

void session_process::on_exit(process::exit_status status) {
  timeout_timer_.cancel();
  if (!terminating_) {
    std::string tail;
    terminal_.flush(tail);
    emit("pty", std::move(tail));
    for (auto* p : {&stdout_, &stderr_}) {
      std::string text;
      p->flush(text);
      emit(p == &stdout_ ? "stdout" : "stderr", std::move(text));
    }
  }
  status_ = status;
  metrics::get().session_processes_ended.add();
  if (readiness_ && !ready_) {
    readiness_->cancel();
    on_ready({process_errc::exited,
              "exited before it was ready (exit code " + std::to_string(status.exit_code) + ")"});
  }
  // What the process left running in its tree goes with it.
  if (!terminating_)
    scope_->terminate(settings_.kill_grace, [] {});
  if (on_exit_) {
    auto report = std::move(on_exit_);
    on_exit_ = nullptr;
    report(id_);
  }
}

} // namespace agentrt::runtime::sessionproc

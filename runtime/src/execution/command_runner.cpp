// Protocol-level command execution on top of process::child_process.
#include "execution/command_runner.hpp"

#include <cstring>

#include "metrics/runtime_metrics.hpp"

namespace agentrt::runtime::execution {

command_runner::command_runner(asio::io_context& io, const protocol::command& cmd,
                               std::shared_ptr<const protocol::redactor> redactor,
                               const command_limits& limits, output_handler on_output,
                               done_handler on_done)
    : command_(cmd.command), redactor_(std::move(redactor)), limits_(limits),
      on_output_(std::move(on_output)), on_done_(std::move(on_done)), timeout_timer_(io),
      stdout_(*redactor_), stderr_(*redactor_), stdout_tail_(limits.stdout_cap_bytes) {}

protocol::result<std::shared_ptr<command_runner>> command_runner::start(
    asio::io_context& io, process::process_reaper& reaper, process::process_scope& scope,
    const protocol::command& cmd, std::shared_ptr<const protocol::redactor> redactor,
    const command_limits& limits, output_handler on_output, done_handler on_done) {
  std::shared_ptr<command_runner> self(new command_runner(
      io, cmd, std::move(redactor), limits, std::move(on_output), std::move(on_done)));

  process::spawn_options opts;
  opts.argv = {"/bin/sh", "-c", cmd.command};
  if (cmd.cwd)
    opts.cwd = *cmd.cwd;
  if (cmd.env)
    opts.env.insert(cmd.env->begin(), cmd.env->end());
  opts.stdin_data = cmd.stdin_data;
  opts.drain_idle = limits.drain_idle;

  // Weak: the runner owns the child, and whoever started the runner owns it. Strong
  // captures made a cycle that only the child's exit broke, so a runner whose process was not
  // reaped before the io_context stopped (SIGTERM right after a client vanished) was never
  // destroyed, and neither were its pipes.
  std::weak_ptr<command_runner> weak = self;
  auto child = process::child_process::spawn(
      io, reaper, scope, opts,
      [weak](process::output_stream s, std::string_view chunk) {
        if (auto runner = weak.lock())
          runner->on_output(s, chunk);
      },
      [weak](process::exit_status st) {
        if (auto runner = weak.lock())
          runner->on_exit(st);
      });
  if (!child.ok()) {
    const std::error_code spawn_ec = child.error().code;
    std::string text = "failed to start command";
    if (cmd.cwd)
      text += " in \"" + *cmd.cwd + "\"";
    text += ": " + spawn_ec.message();
    return protocol::error{spawn_ec, std::move(text)};
  }
  self->child_ = std::move(child).value();

  // Past ~31 years a timeout means "never": larger values overflow the timer's nanoseconds
  // (undefined behaviour; 1e10 wrapped to a negative duration and killed at once).
  constexpr double max_timeout_s = 1e9;
  if (cmd.timeout_s && *cmd.timeout_s > 0 && *cmd.timeout_s < max_timeout_s) {
    self->timeout_timer_.expires_after(
        std::chrono::milliseconds(static_cast<long long>(*cmd.timeout_s * 1000.0)));
    self->timeout_timer_.async_wait([weak](const std::error_code& e) {
      if (auto s = weak.lock())
        s->on_timeout(e);
    });
  }
  return self;
}

void command_runner::pause_output() {
  if (child_)
    child_->pause_output();
}

void command_runner::resume_output() {
  if (child_)
    child_->resume_output();
}

void command_runner::terminate() {
  terminated_ = true;
  if (child_)
    child_->terminate(limits_.kill_grace);
}

command_runner::~command_runner() {
  // Destroyed before its exit was seen: its request ended and the process scope kills it.
  if (child_ && !exit_counted_)
    metrics::count_command_exit(metrics::exit_class::killed);
}

void command_runner::on_timeout(const std::error_code& ec) {
  if (ec || !child_)
    return;
  timed_out_ = true;
  child_->terminate(limits_.kill_grace);
}

void command_runner::on_output(process::output_stream stream, std::string_view chunk) {
  if (discard_)
    return;
  stream_pipeline& p = stream == process::output_stream::stdout_stream ? stdout_ : stderr_;
  // p.text leaves with every message.
  p.text.clear();
  p.filter.write(chunk, p.text);
  emit(stream, p.text);
}

void command_runner::emit(process::output_stream stream, std::string& text) {
  if (text.empty())
    return;
  const bool is_stdout = stream == process::output_stream::stdout_stream;
  if (is_stdout)
    stdout_tail_.append(text);
  protocol::command_output_message msg;
  msg.stream = is_stdout ? "stdout" : "stderr";
  msg.text = std::move(text);
  msg.command = command_;
  text.clear();
  on_output_(std::move(msg));
}

void command_runner::on_exit(process::exit_status status) {
  timeout_timer_.cancel();
  for (auto* p : {&stdout_, &stderr_}) {
    const auto stream = p == &stdout_ ? process::output_stream::stdout_stream
                                      : process::output_stream::stderr_stream;
    p->text.clear();
    p->filter.flush(p->text);
    emit(stream, p->text);
  }

  // Here rather than in the request: a cancelled request no longer listens for its command's end.
  exit_counted_ = true;
  metrics::count_command_exit(terminated_             ? metrics::exit_class::killed
                              : timed_out_            ? metrics::exit_class::timeout
                              : status.term_signal    ? metrics::exit_class::signal
                              : status.exit_code == 0 ? metrics::exit_class::success
                                                      : metrics::exit_class::failure);
  command_outcome out;
  out.status = status;
  out.timed_out = timed_out_;
  out.result.command = command_;
  out.result.exit_code = status.exit_code;
  out.result.stdout_truncated = stdout_tail_.total() > stdout_tail_.cap();
  std::string tail = stdout_tail_.take();
  if (out.result.stdout_truncated) {
    // The cut may have landed inside a multi-byte character; start at the next whole one.
    std::size_t skip = 0;
    while (skip < tail.size() && skip < 3 &&
           (static_cast<unsigned char>(tail[skip]) & 0xC0) == 0x80) {
      ++skip;
    }
    tail.erase(0, skip);
  }
  out.result.stdout_text = std::move(tail);

  child_.reset();
  auto done = std::move(on_done_);
  on_output_ = nullptr;
  if (done)
    done(std::move(out));
}

} // namespace agentrt::runtime::execution

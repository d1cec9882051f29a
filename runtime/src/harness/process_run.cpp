// The child-process half of every CLI and handler adapter.
#include "harness/process_run.hpp"

#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/json_builder.hpp"
#include "harness/adapter_support.hpp"
#include "harness/harness_errc.hpp"

#include <csignal>
#include <cstring>
#include <sstream>

#include <asio/post.hpp>

#include "harness/json_support.hpp"
#include "util/weak_bind.hpp"

namespace agentrt::runtime::harness {

process_run_options base_process_options(const std::string& harness_name,
                                         const harness_config& config, const invocation& inv) {
  process_run_options opts;
  opts.harness_name = harness_name;
  opts.spawn.cwd = workdir_of(config, inv);
  opts.spawn.env = inv.agent_env;
  opts.timeout = config.timeout;
  opts.kill_grace = config.kill_grace;
  return opts;
}

namespace {

constexpr std::size_t stderr_tail_lines = 20;
constexpr std::size_t stderr_tail_max_bytes = 4096;
// A stderr line longer than this is logged in pieces; stderr is for humans, not parsed.
constexpr std::size_t stderr_line_max_bytes = 4096;

std::string seconds_text(std::chrono::milliseconds d) {
  std::ostringstream out;
  out << static_cast<double>(d.count()) / 1000.0 << " s";
  return out.str();
}

} // namespace

harness_outcome process_failure(const std::string& harness_name, const process_end& end,
                                protocol::error what) {
  harness_outcome out;
  if (!what.code)
    what.code = harness_errc::agent_exited;
  if (what.text.empty()) {
    if (end.status.term_signal != 0) {
      const char* sig = ::strsignal(end.status.term_signal);
      what.text = harness_name + " was killed by signal " + std::to_string(end.status.term_signal) +
                  (sig ? std::string(" (") + sig + ")" : std::string());
    } else {
      what.text = harness_name + " exited with status " + std::to_string(end.status.exit_code);
    }
  }
  out.error = std::move(what);
  if (!end.stderr_tail.empty())
    out.error.text += ": " + end.stderr_tail;
  protocol::json_builder meta;
  meta.add("harness", harness_name).add("exit_code", end.status.exit_code);
  if (end.status.term_signal != 0)
    meta.add("signal", end.status.term_signal);
  if (!end.stderr_tail.empty())
    meta.add("stderr_tail", end.stderr_tail);
  if (end.ignored_lines != 0)
    meta.add("ignored_lines", static_cast<std::int64_t>(end.ignored_lines));
  out.error_metadata_json = meta.str();
  return out;
}

process_run::process_run(asio::io_context& io, process_run_options options,
                         std::unique_ptr<event_parser> parser, event_sink sink,
                         harness::done_handler on_done)
    : options_(std::move(options)), parser_(std::move(parser)), sink_(std::move(sink)),
      on_done_(std::move(on_done)), timer_(io), stdout_lines_(options_.max_line_bytes) {}

std::shared_ptr<process_run> process_run::start(asio::io_context& io,
                                                process::process_reaper& reaper,
                                                process::process_scope& scope,
                                                process_run_options options,
                                                std::unique_ptr<event_parser> parser,
                                                event_sink sink, harness::done_handler on_done) {
  std::shared_ptr<process_run> self(new process_run(io, std::move(options), std::move(parser),
                                                    std::move(sink), std::move(on_done)));
  // Weak: the run owns the child and its owner (the session's request) owns the run, until
  // the request's scope is terminated. Strong captures kept a run and its child alive in a
  // cycle whenever the io_context stopped before the process was reaped.
  std::weak_ptr<process_run> weak = self;
  auto child = process::child_process::spawn(io, reaper, scope, self->options_.spawn,
                                             util::weak_bind(weak, &process_run::on_output),
                                             util::weak_bind(weak, &process_run::on_exit));
  if (!child.ok()) {
    const std::error_code ec = child.error().code;
    harness_outcome out;
    const std::string& program =
        self->options_.spawn.argv.empty() ? std::string() : self->options_.spawn.argv.front();
    out.error = {protocol::errc::spawn_failed, "failed to start " + self->options_.harness_name +
                                                   " (" + program + "): " + ec.message()};
    out.error_metadata_json = protocol::json_builder()
                                  .add("harness", self->options_.harness_name)
                                  .add("program", program)
                                  .add("reason", ec.message())
                                  .str();
    asio::post(io, [self, out = std::move(out)]() mutable { self->finish(std::move(out)); });
    return self;
  }
  self->child_ = std::move(child).value();
  if (self->options_.timeout.count() > 0) {
    self->timer_.expires_after(self->options_.timeout);
    self->timer_.async_wait(util::weak_bind(weak, &process_run::on_timeout));
  }
  return self;
}

void process_run::cancel() {
  if (cancelled_)
    return;
  cancelled_ = true;
  on_done_ = nullptr;
  sink_.clear();
  timer_.cancel();
  if (child_) {
    // Paused for backpressure, the pipes would never reach EOF; what is read now is dropped.
    child_->resume_output();
    child_->terminate(options_.kill_grace);
  }
}

void process_run::pause_output() {
  if (child_)
    child_->pause_output();
}

void process_run::resume_output() {
  if (child_)
    child_->resume_output();
}

void process_run::on_timeout(const std::error_code& ec) {
  if (ec || !child_ || cancelled_)
    return;
  timed_out_ = true;
  child_->terminate(options_.kill_grace);
}

void process_run::on_output(process::output_stream stream, std::string_view chunk) {
  if (cancelled_)
    return;
  if (stream == process::output_stream::stderr_stream) {
    on_stderr(chunk, false);
    return;
  }
  if (overflowed_)
    return;
  if (!stdout_lines_.write(chunk, [this](std::string_view line) { on_stdout_line(line); })) {
    overflowed_ = true;
    if (child_)
      child_->terminate(options_.kill_grace);
  }
}

void process_run::on_stdout_line(std::string_view line) {
  if (line.find_first_not_of(" \t") == std::string_view::npos)
    return;
  if (!parser_->on_line(line)) {
    ++ignored_lines_;
    constexpr std::size_t shown = 200;
    sink_.log(options_.harness_name + ": ignored output line: " +
              std::string(line.substr(0, shown)) + (line.size() > shown ? "..." : ""));
  }
}

void process_run::on_stderr(std::string_view chunk, bool final) {
  stderr_partial_.append(chunk);
  auto take_line = [this](std::string line) {
    if (line.empty())
      return;
    sink_.log(options_.harness_name + ": " + line);
    stderr_tail_bytes_ += line.size();
    stderr_tail_.push_back(std::move(line));
    while (stderr_tail_.size() > stderr_tail_lines ||
           (stderr_tail_.size() > 1 && stderr_tail_bytes_ > stderr_tail_max_bytes)) {
      stderr_tail_bytes_ -= stderr_tail_.front().size();
      stderr_tail_.pop_front();
    }
  };
  std::size_t start = 0;
  for (;;) {
    const auto nl = stderr_partial_.find('\n', start);
    if (nl == std::string::npos)
      break;
    std::string line = stderr_partial_.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    take_line(std::move(line));
    start = nl + 1;
  }
  stderr_partial_.erase(0, start);
  while (stderr_partial_.size() > stderr_line_max_bytes) {
    take_line(stderr_partial_.substr(0, stderr_line_max_bytes));
    stderr_partial_.erase(0, stderr_line_max_bytes);
  }
  if (final && !stderr_partial_.empty())
    take_line(std::exchange(stderr_partial_, {}));
}

void process_run::on_exit(process::exit_status status) {
  timer_.cancel();
  child_.reset();
  if (cancelled_)
    return;
  on_stderr({}, true);
  if (!overflowed_)
    stdout_lines_.flush([this](std::string_view line) { on_stdout_line(line); });

  process_end end;
  end.status = status;
  end.ignored_lines = ignored_lines_;
  for (const auto& line : stderr_tail_) {
    if (!end.stderr_tail.empty())
      end.stderr_tail += '\n';
    end.stderr_tail += line;
  }
  if (end.stderr_tail.size() > stderr_tail_max_bytes)
    end.stderr_tail.erase(0, end.stderr_tail.size() - stderr_tail_max_bytes);

  if (timed_out_) {
    finish(process_failure(options_.harness_name, end,
                           {protocol::errc::timed_out, options_.harness_name + " timed out after " +
                                                           seconds_text(options_.timeout)}));
  } else if (overflowed_) {
    finish(process_failure(options_.harness_name, end,
                           {harness_errc::agent_failed,
                            options_.harness_name + " printed an output line longer than " +
                                std::to_string(options_.max_line_bytes) + " bytes"}));
  } else {
    finish(parser_->finish(end));
  }
}

void process_run::finish(harness_outcome outcome) {
  sink_.clear();
  auto done = std::move(on_done_);
  on_done_ = nullptr;
  if (done && !cancelled_)
    done(std::move(outcome));
}

} // namespace agentrt::runtime::harness

// TCP and probe-command readiness (see readiness_check.hpp).
#include "sessionproc/readiness_check.hpp"

#include <cmath>
#include <utility>

#include <asio/ip/address_v4.hpp>
#include <asio/post.hpp>

#include "agentrt/protocol/errc.hpp"

namespace agentrt::runtime::sessionproc {
namespace {

std::chrono::milliseconds to_ms(double seconds) {
  // Past ~31 years a duration means "never"; larger values overflow the timer's nanoseconds.
  constexpr double max_s = 1e9;
  return std::chrono::milliseconds(
      static_cast<long long>(std::ceil(std::min(seconds, max_s) * 1000.0)));
}

std::string seconds_text(double s) {
  std::string text = std::to_string(s);
  text.erase(text.find_last_not_of('0') + 1);
  if (!text.empty() && text.back() == '.')
    text.pop_back();
  return text;
}

} // namespace

readiness_check::readiness_check(asio::io_context& io, process::process_reaper& reaper,
                                 process::process_scope& scope,
                                 const protocol::process_readiness& spec, probe_context context,
                                 done_handler on_done)
    : io_(io), reaper_(reaper), scope_(scope), spec_(spec), context_(std::move(context)),
      on_done_(std::move(on_done)), socket_(io), interval_timer_(io), deadline_timer_(io) {}

std::shared_ptr<readiness_check>
readiness_check::start(asio::io_context& io, process::process_reaper& reaper,
                       process::process_scope& scope, const protocol::process_readiness& spec,
                       probe_context context, done_handler on_done) {
  std::shared_ptr<readiness_check> self(
      new readiness_check(io, reaper, scope, spec, std::move(context), std::move(on_done)));
  self->deadline_timer_.expires_after(to_ms(spec.timeout_s));
  self->deadline_timer_.async_wait([weak = self->weak_from_this()](const std::error_code& ec) {
    auto s = weak.lock();
    if (ec || !s)
      return;
    s->finish({protocol::errc::timed_out,
               "not ready after " + seconds_text(s->spec_.timeout_s) + " s: " + s->last_failure_});
  });
  self->round();
  return self;
}

void readiness_check::cancel() {
  done_ = true;
  on_done_ = nullptr;
  interval_timer_.cancel();
  deadline_timer_.cancel();
  std::error_code ignored;
  socket_.close(ignored);
  probe_.reset(); // kills the probe's group
}

void readiness_check::round() {
  if (done_)
    return;
  if (spec_.tcp_port)
    try_port();
  else
    try_probe();
}

void readiness_check::try_port() {
  std::error_code ignored;
  socket_.close(ignored);
  const asio::ip::tcp::endpoint target(asio::ip::address_v4::loopback(),
                                       static_cast<unsigned short>(*spec_.tcp_port));
  socket_.async_connect(target, [weak = weak_from_this()](const std::error_code& ec) {
    auto self = weak.lock();
    if (!self || self->done_ || ec == asio::error::operation_aborted)
      return;
    std::error_code ignored_close;
    self->socket_.close(ignored_close);
    const std::string where = "127.0.0.1:" + std::to_string(*self->spec_.tcp_port);
    if (ec)
      return self->round_failed(where + ": " + ec.message());
    if (self->spec_.probe)
      return self->try_probe();
    self->finish({});
  });
}

void readiness_check::try_probe() {
  process::spawn_options opts;
  opts.argv = {"/bin/sh", "-c", *spec_.probe};
  opts.cwd = context_.cwd;
  opts.env = context_.env;
  std::weak_ptr<readiness_check> weak = weak_from_this();
  auto child = process::child_process::spawn(
      io_, reaper_, scope_, opts, nullptr, [weak](process::exit_status status) {
        auto self = weak.lock();
        if (!self || self->done_)
          return;
        // Released on the io thread after this handler returns, not inside it.
        asio::post(self->io_, [probe = std::move(self->probe_)] {});
        if (status.exit_code == 0 && status.term_signal == 0)
          return self->finish({});
        self->round_failed("the probe exited with " + std::to_string(status.exit_code));
      });
  if (!child.ok()) {
    const std::error_code ec = child.error().code;
    finish({ec, "the probe could not be started: " + ec.message()});
    return;
  }
  probe_ = std::move(child).value();
}

void readiness_check::round_failed(std::string why) {
  last_failure_ = std::move(why);
  interval_timer_.expires_after(to_ms(spec_.interval_s));
  interval_timer_.async_wait([weak = weak_from_this()](const std::error_code& ec) {
    if (auto self = weak.lock(); self && !ec)
      self->round();
  });
}

void readiness_check::finish(protocol::result<void> readiness) {
  if (done_)
    return;
  done_ = true;
  interval_timer_.cancel();
  deadline_timer_.cancel();
  std::error_code ignored;
  socket_.close(ignored);
  // A probe still running is killed (its child_process is destroyed), but not from inside its
  // own exit handler, which may be what called us.
  asio::post(io_, [probe = std::move(probe_)] {});
  auto report = std::move(on_done_);
  on_done_ = nullptr;
  if (report)
    report(std::move(readiness));
}

} // namespace agentrt::runtime::sessionproc

// process_handle: the public face of a session process (processes.hpp). The asynchronous
// members hand their work to the session's I/O thread; the blocking ones wait for them.
#include "agentrt/client/processes.hpp"

#include <future>

#include "metadata_code.hpp"
#include "session_core.hpp"

namespace agentrt::client {

namespace {

client_error closed_error() {
  return detail::make_error(errc::closed, "the session of this process is closed");
}

template <typename T> std::pair<std::shared_ptr<std::promise<T>>, std::future<T>> promised() {
  auto p = std::make_shared<std::promise<T>>();
  auto f = p->get_future();
  return {std::move(p), std::move(f)};
}

} // namespace

std::string process_error_code(const client_error& e) {
  return e.code == errc::process_error ? detail::metadata_code(e.metadata_json) : std::string();
}

process_handle::process_handle(std::shared_ptr<detail::process_state> state)
    : state_(std::move(state)) {}

std::string process_handle::process_id() const {
  return state_ ? state_->id : std::string();
}

std::int64_t process_handle::pid() const {
  return state_ ? state_->pid : 0;
}

bool process_handle::pty() const {
  return state_ && state_->pty;
}

std::uint64_t process_handle::stdin_window() const {
  return state_ ? state_->window : 0;
}

void process_handle::async_write_stdin(std::string bytes, done_handler done) const {
  auto core = state_ ? state_->core.lock() : nullptr;
  if (!core) {
    if (done)
      done(closed_error());
    return;
  }
  core->process_stdin(state_, std::move(bytes), false, std::move(done));
}

client_error process_handle::write_stdin(std::string_view bytes) const {
  // In pieces of at most a window: each waits until the previous one was sent, so the queue
  // never holds more than that.
  const std::size_t piece = state_ && state_->window > 0 ? state_->window : 1;
  std::size_t offset = 0;
  do {
    auto [p, f] = promised<client_error>();
    const std::size_t n = std::min(piece, bytes.size() - offset);
    async_write_stdin(std::string(bytes.substr(offset, n)),
                      [p = p](client_error e) { p->set_value(std::move(e)); });
    if (auto e = f.get())
      return e;
    offset += n;
  } while (offset < bytes.size());
  return {};
}

void process_handle::async_close_stdin(done_handler done) const {
  auto core = state_ ? state_->core.lock() : nullptr;
  if (!core) {
    if (done)
      done(closed_error());
    return;
  }
  core->process_stdin(state_, {}, true, std::move(done));
}

client_error process_handle::close_stdin() const {
  auto [p, f] = promised<client_error>();
  async_close_stdin([p = p](client_error e) { p->set_value(std::move(e)); });
  return f.get();
}

void process_handle::async_signal(std::string name, done_handler done) const {
  auto core = state_ ? state_->core.lock() : nullptr;
  if (!core) {
    if (done)
      done(closed_error());
    return;
  }
  protocol::process_signal_message m;
  m.process_id = state_->id;
  m.signal = std::move(name);
  core->process_control(state_, m, std::move(done));
}

client_error process_handle::signal(const std::string& name) const {
  auto [p, f] = promised<client_error>();
  async_signal(name, [p = p](client_error e) { p->set_value(std::move(e)); });
  return f.get();
}

void process_handle::async_kill(done_handler done) const {
  async_signal("SIGKILL", std::move(done));
}

client_error process_handle::kill() const {
  return signal("SIGKILL");
}

void process_handle::async_resize(int cols, int rows, done_handler done) const {
  auto core = state_ ? state_->core.lock() : nullptr;
  if (!core) {
    if (done)
      done(closed_error());
    return;
  }
  protocol::process_resize_message m;
  m.process_id = state_->id;
  m.size.cols = cols;
  m.size.rows = rows;
  core->process_control(state_, m, std::move(done));
}

client_error process_handle::resize(int cols, int rows) const {
  auto [p, f] = promised<client_error>();
  async_resize(cols, rows, [p = p](client_error e) { p->set_value(std::move(e)); });
  return f.get();
}

void process_handle::async_wait_ready(ready_handler handler) const {
  if (!handler)
    handler = [](process_ready, client_error) {};
  auto core = state_ ? state_->core.lock() : nullptr;
  if (!core)
    return handler({}, closed_error());
  core->process_wait_ready(state_, std::move(handler));
}

std::pair<process_ready, client_error> process_handle::wait_ready() const {
  auto [p, f] = promised<std::pair<process_ready, client_error>>();
  async_wait_ready([p = p](process_ready r, client_error e) {
    p->set_value({std::move(r), std::move(e)});
  });
  return f.get();
}

void process_handle::async_wait(exit_handler handler) const {
  if (!handler)
    handler = [](process_exit, client_error) {}; // collects it all the same
  auto core = state_ ? state_->core.lock() : nullptr;
  if (!core)
    return handler({}, closed_error());
  core->process_wait(state_, std::move(handler));
}

std::pair<process_exit, client_error> process_handle::wait() const {
  auto [p, f] = promised<std::pair<process_exit, client_error>>();
  async_wait([p = p](process_exit r, client_error e) {
    p->set_value({std::move(r), std::move(e)});
  });
  return f.get();
}

} // namespace agentrt::client

// The blocking session: waits on the asynchronous session's futures.
#include "agentrt/client/session.hpp"

#include <future>
#include <mutex>

#include "agentrt/client/async_session.hpp"

namespace agentrt::client {

struct session::impl {
  std::unique_ptr<io_loop> own_loop; // when the caller gave none; destroyed last
  std::shared_ptr<async_session> async;
  std::mutex request_mutex; // one request per connection: serialize concurrent callers
  std::future<std::pair<attach_result, client_error>> attached; // attach(): collect()'s answer
};

session::session() : impl_(std::make_unique<impl>()) {}

session::~session() {
  // The session closes its connection before its loop (if it owns one) winds down.
  impl_->async.reset();
}

std::pair<std::unique_ptr<session>, client_error> session::connect(const connect_options& options,
                                                                   io_loop* loop) {
  std::unique_ptr<session> s(new session());
  if (!loop) {
    s->impl_->own_loop = std::make_unique<io_loop>();
    loop = s->impl_->own_loop.get();
  }
  auto [async, error] = async_session::connect(*loop, options).get();
  if (error)
    return {nullptr, std::move(error)};
  s->impl_->async = std::move(async);
  return {std::move(s), client_error{}};
}

std::pair<std::unique_ptr<session>, client_error> session::attach(const connect_options& options,
                                                                  const session_handle& handle,
                                                                  const attach_options& callbacks,
                                                                  io_loop* loop) {
  std::unique_ptr<session> s(new session());
  if (!loop) {
    s->impl_->own_loop = std::make_unique<io_loop>();
    loop = s->impl_->own_loop.get();
  }
  auto attached =
      std::make_shared<std::promise<std::pair<std::shared_ptr<async_session>, client_error>>>();
  auto done = std::make_shared<std::promise<std::pair<attach_result, client_error>>>();
  s->impl_->attached = done->get_future();
  auto attached_future = attached->get_future();
  async_session::attach(
      *loop, options, handle, callbacks,
      [attached](std::shared_ptr<async_session> a, client_error e) {
        attached->set_value({std::move(a), std::move(e)});
      },
      [done](attach_result r, client_error e) {
        done->set_value({std::move(r), std::move(e)});
      });
  auto [async, error] = attached_future.get();
  if (error)
    return {nullptr, std::move(error)};
  s->impl_->async = std::move(async);
  return {std::move(s), client_error{}};
}

std::pair<query_result, client_error> session::query(const std::string& prompt,
                                                     const query_options& options) {
  std::lock_guard lock(impl_->request_mutex);
  return impl_->async->query(prompt, options).get();
}

std::pair<execute_result, client_error>
session::execute_commands(const std::vector<protocol::command>& commands,
                          const execute_options& options) {
  std::lock_guard lock(impl_->request_mutex);
  return impl_->async->execute_commands(commands, options).get();
}

// Not under request_mutex: processes run beside requests (stdin written from another thread
// while execute_commands() waits must not wait for it).
std::pair<process_handle, client_error> session::start_process(const process_options& options,
                                                               const process_callbacks& callbacks) {
  return impl_->async->start_process(options, callbacks).get();
}

std::pair<std::vector<process_info>, client_error> session::list_processes() {
  return impl_->async->list_processes().get();
}

process_handle session::process(const std::string& process_id, const process_callbacks& callbacks) {
  return impl_->async->process(process_id, callbacks);
}

bool session::supports_processes() const noexcept {
  return impl_->async->supports_processes();
}

void session::abort() {
  impl_->async->abort();
}

client_error session::end() {
  std::lock_guard lock(impl_->request_mutex);
  return impl_->async->end().get();
}

std::pair<attach_result, client_error> session::collect() {
  std::lock_guard lock(impl_->request_mutex);
  if (!impl_->attached.valid())
    return {{},
            {make_error_code(errc::invalid_options),
             "collect() is for a session made by attach(), once"}};
  return impl_->attached.get();
}

std::pair<session_handle, client_error> session::detach() {
  // Not under request_mutex: a request in flight is what a detach leaves running.
  return impl_->async->detach().get();
}

bool session::durable() const noexcept {
  return impl_->async->durable();
}

std::string session::session_id() const {
  return impl_->async->session_id();
}

} // namespace agentrt::client

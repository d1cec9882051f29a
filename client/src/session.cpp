// The blocking session: waits on the asynchronous session's futures.
#include "agentrt/client/session.hpp"

#include <mutex>

#include "agentrt/client/async_session.hpp"

namespace agentrt::client {

struct session::impl {
  std::unique_ptr<io_loop> own_loop; // when the caller gave none; destroyed last
  std::shared_ptr<async_session> async;
  std::mutex request_mutex; // one request per connection: serialize concurrent callers
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

void session::abort() {
  impl_->async->abort();
}

client_error session::end() {
  std::lock_guard lock(impl_->request_mutex);
  return impl_->async->end().get();
}

} // namespace agentrt::client

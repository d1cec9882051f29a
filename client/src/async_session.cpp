// async_session: the public face of session_core, plus the future-returning overloads.
#include "agentrt/client/async_session.hpp"

#include "io_loop_impl.hpp"
#include "session_core.hpp"

namespace agentrt::client {

namespace {

// std::function needs a copyable callable; a promise is move-only.
template <typename T> auto promise_pair() {
  auto p = std::make_shared<std::promise<T>>();
  return std::make_pair(p, p->get_future());
}

} // namespace

async_session::async_session(std::shared_ptr<detail::session_core> core) : core_(std::move(core)) {}

async_session::~async_session() {
  core_->release();
}

void async_session::connect(io_loop& loop, const connect_options& options,
                            connect_handler handler) {
  auto core = std::make_shared<detail::session_core>(loop.internals().context);
  core->connect(options, [core, handler = std::move(handler)](client_error error) {
    if (error)
      handler(nullptr, std::move(error));
    else
      handler(std::make_shared<async_session>(core), {});
  });
}

void async_session::attach(io_loop& loop, const connect_options& options,
                           const session_handle& handle, attach_options callbacks,
                           connect_handler attached, attach_handler done) {
  auto core = std::make_shared<detail::session_core>(loop.internals().context);
  core->attach(
      options, handle, std::move(callbacks),
      [core, attached = std::move(attached)](client_error error) {
        if (error)
          attached(nullptr, std::move(error));
        else
          attached(std::make_shared<async_session>(core), {});
      },
      std::move(done));
}

std::future<std::pair<std::shared_ptr<async_session>, client_error>>
async_session::connect(io_loop& loop, const connect_options& options) {
  auto [p, f] = promise_pair<std::pair<std::shared_ptr<async_session>, client_error>>();
  connect(loop, options, [p = p](std::shared_ptr<async_session> s, client_error e) {
    p->set_value({std::move(s), std::move(e)});
  });
  return std::move(f);
}

void async_session::query(std::string prompt, query_options options, query_handler handler) {
  core_->query(std::move(prompt), std::move(options), std::move(handler));
}

std::future<std::pair<query_result, client_error>> async_session::query(std::string prompt,
                                                                        query_options options) {
  auto [p, f] = promise_pair<std::pair<query_result, client_error>>();
  query(std::move(prompt), std::move(options), [p = p](query_result r, client_error e) {
    p->set_value({std::move(r), std::move(e)});
  });
  return std::move(f);
}

void async_session::execute_commands(std::vector<protocol::command> commands,
                                     execute_options options, execute_handler handler) {
  core_->execute(std::move(commands), std::move(options), std::move(handler));
}

std::future<std::pair<execute_result, client_error>>
async_session::execute_commands(std::vector<protocol::command> commands, execute_options options) {
  auto [p, f] = promise_pair<std::pair<execute_result, client_error>>();
  execute_commands(std::move(commands), std::move(options),
                   [p = p](execute_result r, client_error e) {
                     p->set_value({std::move(r), std::move(e)});
                   });
  return std::move(f);
}

void async_session::abort() {
  core_->abort();
}

void async_session::end(end_handler handler) {
  core_->end(std::move(handler));
}

std::future<client_error> async_session::end() {
  auto [p, f] = promise_pair<client_error>();
  end([p = p](client_error e) { p->set_value(std::move(e)); });
  return std::move(f);
}

void async_session::detach(detach_handler handler) {
  core_->detach(std::move(handler));
}

std::future<std::pair<session_handle, client_error>> async_session::detach() {
  auto [p, f] = promise_pair<std::pair<session_handle, client_error>>();
  detach([p = p](session_handle h, client_error e) { p->set_value({std::move(h), std::move(e)}); });
  return std::move(f);
}

void async_session::start_process(process_options options, process_callbacks callbacks,
                                  process_handler handler) {
  core_->start_process(std::move(options), std::move(callbacks), std::move(handler));
}

std::future<std::pair<process_handle, client_error>>
async_session::start_process(process_options options, process_callbacks callbacks) {
  auto [p, f] = promise_pair<std::pair<process_handle, client_error>>();
  start_process(std::move(options), std::move(callbacks),
                [p = p](process_handle h, client_error e) {
                  p->set_value({std::move(h), std::move(e)});
                });
  return std::move(f);
}

void async_session::list_processes(list_handler handler) {
  core_->list_processes(std::move(handler));
}

std::future<std::pair<std::vector<process_info>, client_error>> async_session::list_processes() {
  auto [p, f] = promise_pair<std::pair<std::vector<process_info>, client_error>>();
  list_processes([p = p](std::vector<process_info> l, client_error e) {
    p->set_value({std::move(l), std::move(e)});
  });
  return std::move(f);
}

process_handle async_session::process(std::string process_id, process_callbacks callbacks) {
  return core_->adopt_process(std::move(process_id), std::move(callbacks));
}

bool async_session::supports_processes() const noexcept {
  return core_->processes_supported();
}

bool async_session::durable() const noexcept {
  return core_->durable();
}

std::string async_session::session_id() const {
  return core_->session_id();
}

} // namespace agentrt::client

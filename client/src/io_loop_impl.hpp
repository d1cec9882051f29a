// The io_loop's internals, shared by the library's sources (keeps Asio out of io_loop.hpp).
#pragma once

#include <optional>
#include <thread>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include "agentrt/client/io_loop.hpp"

namespace agentrt::client {

struct io_loop::impl {
  asio::io_context context{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
};

} // namespace agentrt::client

// A run that ends before anything starts (an unusable schema, no harness available): the
// outcome is posted so that on_done is never called from inside start(), and cancel() before
// it runs suppresses it like for any other run.
#pragma once

#include <memory>
#include <utility>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include "harness/harness.hpp"

namespace agentrt::runtime::harness {

class immediate_run : public harness_run {
public:
  static std::shared_ptr<immediate_run> fail(asio::io_context& io, harness_outcome outcome,
                                             harness::done_handler on_done) {
    auto self = std::make_shared<immediate_run>();
    asio::post(io, [self, outcome = std::move(outcome), on_done = std::move(on_done)]() mutable {
      if (!self->cancelled_ && on_done)
        on_done(std::move(outcome));
    });
    return self;
  }
  void cancel() override { cancelled_ = true; }

private:
  bool cancelled_ = false;
};

} // namespace agentrt::runtime::harness

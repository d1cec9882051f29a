// Charging partly received frames to the runtime-wide budget.
#include "server/frame_budget.hpp"

namespace agentrt::runtime::server {

thread_local inbound_frames* inbound_frames::current_ = nullptr;

inbound_frames::verdict inbound_frames::update() {
  if (!budget_ || refused_)
    return verdict::ok;
  std::size_t now = 0;
  if (auto payload = payload_.lock()) {
    now = payload->capacity();
  } else {
    payload_.reset();
  }
  if (now != 0)
    last_capacity_ = now;
  if (now < charged_) {
    budget_->refund(charged_ - now);
    charged_ = now;
    return verdict::ok;
  }
  if (now == charged_)
    return verdict::ok;
  budget_->charge(now - charged_);
  charged_ = now;
  if (now <= frame_budget::exempt_frame_bytes || budget_->used() <= budget_->limit()) {
    return verdict::ok;
  }
  refused_ = true;
  release();
  return verdict::refused;
}

void inbound_frames::release() {
  if (budget_)
    budget_->refund(charged_);
  charged_ = 0;
}

} // namespace agentrt::runtime::server

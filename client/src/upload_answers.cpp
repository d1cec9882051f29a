// Upload answers of a durable session (see upload_answers.hpp).
#include "upload_answers.hpp"

#include <utility>

namespace agentrt::client::detail {

void upload_answers::new_connection() {
  ++connection_;
  // An answer sent two connections ago that the runtime did not ask for again on the last
  // resume has arrived; only pending answers (and the last connection's) still matter.
  for (auto it = records_.begin(); it != records_.end();) {
    if (it->second.answered && it->second.connection + 1 < connection_)
      it = records_.erase(it);
    else
      ++it;
  }
}

upload_answers::verdict
upload_answers::on_announcement(const std::string& filepath,
                                protocol::artifact_upload_response_message& again) {
  auto it = records_.find(filepath);
  // On the connection that answered it, the same path again is a new announcement (a file
  // rewritten later is announced again); only a resume makes the runtime repeat itself.
  if (it == records_.end() || it->second.connection == connection_)
    return verdict::new_announcement;
  it->second.connection = connection_;
  if (!it->second.answered)
    return verdict::answer_pending;
  again = it->second.answer;
  return verdict::answer_again;
}

void upload_answers::pending(const std::string& filepath) {
  record& r = records_[filepath];
  r.answered = false;
  r.connection = connection_;
  order_.push_back(filepath);
  trim();
}

void upload_answers::answered(const protocol::artifact_upload_response_message& answer) {
  record& r = records_[answer.filepath];
  r.answered = true;
  r.answer = answer;
  r.connection = connection_;
}

void upload_answers::declined(const std::string& filepath) {
  records_.erase(filepath);
}

void upload_answers::queue(protocol::artifact_upload_response_message answer) {
  queued_.push_back(std::move(answer));
}

std::vector<protocol::artifact_upload_response_message> upload_answers::take_queued() {
  return std::exchange(queued_, {});
}

void upload_answers::trim() {
  while (records_.size() > max_records && !order_.empty()) {
    auto it = records_.find(order_.front());
    order_.pop_front();
    if (it != records_.end() && it->second.answered)
      records_.erase(it);
  }
  // Stale entries (erased or re-recorded paths) must not make order_ grow without bound.
  if (order_.size() > 2 * max_records) {
    std::deque<std::string> kept;
    for (const auto& path : order_)
      if (records_.count(path) != 0)
        kept.push_back(path);
    order_ = std::move(kept);
  }
}

} // namespace agentrt::client::detail

// The answers a session gave to artifact upload requests, kept for durable sessions: after a
// resume the runtime announces again every upload it has had no answer for (the answer may have
// been lost with the connection). Such a repeat gets the same answer again — or none while the
// caller's answer is still pending, which is sent once it comes — instead of a second callback:
// callers (the CLI's one-shot PUT URLs, presigners) see each file once. Answers produced while
// no connection is up wait here until the next one.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "agentrt/protocol/messages.hpp"

namespace agentrt::client::detail {

class upload_answers {
public:
  enum class verdict {
    new_announcement, // call the upload callback
    answer_again,     // a repeat of an answered one: send `again`
    answer_pending,   // a repeat of one whose answer is still being produced: nothing to do
  };

  // A connection replaced the previous one (a resume).
  void new_connection();
  verdict on_announcement(const std::string& filepath,
                          protocol::artifact_upload_response_message& again);
  void pending(const std::string& filepath); // the callback has it
  void answered(const protocol::artifact_upload_response_message& answer);
  void declined(const std::string& filepath); // no answer will be sent

  // Answers made while no connection was up, oldest first, to send on the next one.
  void queue(protocol::artifact_upload_response_message answer);
  std::vector<protocol::artifact_upload_response_message> take_queued();

  std::size_t size() const noexcept { return records_.size(); }

private:
  struct record {
    bool answered = false;
    protocol::artifact_upload_response_message answer;
    std::uint64_t connection = 0; // when it was answered or last repeated
  };
  void trim();

  // Enough for any artifact directory a request produces at once; older answered records go
  // first (the runtime repeats only announcements of the connection that dropped).
  static constexpr std::size_t max_records = 4096;
  std::map<std::string, record> records_;
  std::deque<std::string> order_; // filepaths, oldest first (may hold stale entries)
  std::vector<protocol::artifact_upload_response_message> queued_;
  std::uint64_t connection_ = 0;
};

} // namespace agentrt::client::detail

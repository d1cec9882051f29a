// Streaming redaction: the same decisions as redactor::redact, made as soon as enough bytes
// have arrived. A position is decided once max_secret_length() bytes from it are known, since
// no secret can extend further; so at most max_secret_length() - 1 bytes are ever held.
#include "agentrt/protocol/redactor.hpp"

namespace agentrt::protocol {

stream_redactor::stream_redactor(const redactor& r) : redactor_(&r) {}

void stream_redactor::write(std::string_view chunk, std::string& out) {
  const std::size_t window = redactor_->max_secret_length();
  if (window == 0) {
    out.append(chunk);
    return;
  }
  // Without held bytes, scan the caller's chunk in place instead of copying it first.
  const bool in_place = held_.empty();
  std::string_view text = chunk;
  if (!in_place) {
    held_.append(chunk);
    text = held_;
  }
  const std::size_t decidable = text.size() >= window ? text.size() - window + 1 : 0;
  const std::size_t done = redactor_->redact_prefix(text, decidable, out);
  if (in_place) {
    held_.assign(text.substr(done));
  } else {
    held_.erase(0, done);
  }
}

void stream_redactor::flush(std::string& out) {
  // At the end of the stream a secret running past the end cannot match, exactly as in the
  // one-shot form; so the held tail is redacted as a whole text.
  if (!held_.empty())
    redactor_->redact_prefix(held_, held_.size(), out);
  held_.clear();
}

} // namespace agentrt::protocol

// Redacted, UTF-8 text out of a byte stream (see text_stream.hpp).
#include "execution/text_stream.hpp"

namespace agentrt::runtime::execution {

void text_stream::write(std::string_view chunk, std::string& out) {
  // Without secrets the redactor would only copy the chunk: sanitize it straight from the
  // caller's buffer instead.
  std::string_view redacted = chunk;
  if (!redactor_.empty()) {
    redacted_.clear();
    redact_.write(chunk, redacted_);
    redacted = redacted_;
  }
  out.reserve(out.size() + redacted.size() + 4);
  utf8_.write(redacted, out);
}

void text_stream::flush(std::string& out) {
  redacted_.clear();
  redact_.flush(redacted_);
  utf8_.write(redacted_, out);
  utf8_.flush(out);
}

} // namespace agentrt::runtime::execution

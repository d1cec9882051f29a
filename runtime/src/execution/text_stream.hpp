// One output stream of a process on its way into a text frame: redacted with the stream
// redactor (secrets split across reads included), then made valid UTF-8. Shared by request
// commands (command_runner) and session processes.
#pragma once

#include <string>
#include <string_view>

#include "agentrt/protocol/redactor.hpp"

namespace agentrt::runtime::execution {

class text_stream {
public:
  // r must outlive the stream.
  explicit text_stream(const protocol::redactor& r) : redactor_(r), redact_(r) {}

  // Appends to out what of chunk can be released now: bytes that could still turn out to be
  // part of a secret, or of a UTF-8 character, are held back for the next write or flush.
  void write(std::string_view chunk, std::string& out);
  // The end of the stream: appends everything held back.
  void flush(std::string& out);

private:
  const protocol::redactor& redactor_;
  protocol::stream_redactor redact_;
  protocol::utf8_sanitizer utf8_;
  std::string redacted_; // scratch, reused for every chunk
};

} // namespace agentrt::runtime::execution

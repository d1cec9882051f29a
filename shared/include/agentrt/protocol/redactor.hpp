// Secret redaction: every occurrence of a secret becomes "[REDACTED]".
//
// Matching is leftmost-first, longest secret first at a position, non-overlapping, so the
// one-shot and the streaming forms give byte-identical output for any chunking of the input.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "agentrt/protocol/messages.hpp"

namespace agentrt::protocol {

inline constexpr std::string_view redaction_marker = "[REDACTED]";

class redactor {
 public:
  redactor() = default;
  // Empty secrets are ignored; duplicates are removed.
  explicit redactor(std::vector<std::string> secrets);

  std::string redact(std::string_view text) const;
  bool empty() const noexcept { return secrets_.empty(); }
  std::size_t max_secret_length() const noexcept { return max_len_; }
  const std::vector<std::string>& secrets() const noexcept { return secrets_; }

  // Length of the secret that matches at text[pos], 0 if none (longest wins). Used by
  // stream_redactor; a secret that would run past the end of text does not match.
  std::size_t match_at(std::string_view text, std::size_t pos) const noexcept;

 private:
  friend class stream_redactor;

  // Redacts the positions of text before `limit` (matches may extend past it), appending to
  // out; returns the first position not yet decided. One scan loop for both forms.
  std::size_t redact_prefix(std::string_view text, std::size_t limit, std::string& out) const;

  std::vector<std::string> secrets_;  // sorted longest first
  std::size_t max_len_ = 0;
  std::array<bool, 256> first_byte_{};  // can a secret start with this byte?
};

// Redacts every string field of a message, including strings inside JSON-text fields
// (metadata, structured output), except the two fields that carry streamed command output
// (command_output_message::text and command_result::stdout_text): the runtime produces those
// through stream_redactor at the source, and redacting twice is not idempotent when a secret
// is a substring of the marker.
void redact_message(message& m, const redactor& r);

// Redacts a byte stream delivered in arbitrary chunks. Holds back at most
// max_secret_length() - 1 bytes between writes, so a secret split across two reads is still
// redacted; flush() releases the rest when the stream ends.
class stream_redactor {
 public:
  explicit stream_redactor(const redactor& r);
  // Appends the redacted, releasable part of (held bytes + chunk) to out.
  void write(std::string_view chunk, std::string& out);
  void flush(std::string& out);
  std::size_t held_bytes() const noexcept { return held_.size(); }

 private:
  const redactor* redactor_;
  std::string held_;
};

// Turns a byte stream into valid UTF-8 text for JSON text frames: invalid sequences become
// U+FFFD, and an incomplete sequence at the end of a chunk (at most 3 bytes) is held back
// until the next write or flush.
class utf8_sanitizer {
 public:
  void write(std::string_view chunk, std::string& out);
  void flush(std::string& out);
  std::size_t held_bytes() const noexcept { return held_.size(); }

 private:
  std::string held_;
};

}  // namespace agentrt::protocol

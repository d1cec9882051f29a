// libFuzzer target: any bytes as one inbound WebSocket frame through the protocol decoder.
// Beyond "no crash, no sanitizer report" it checks what the session relies on: a failure
// always names its problem, and a decoded message re-encodes to a frame that decodes again
// and is a fixed point (encode(decode(encode(m))) == encode(m)). Frames that carry
// secrets_to_redact also check the redactor's promise that one-shot and streamed redaction
// agree for any chunking.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/redactor.hpp"

namespace {

namespace p = agentrt::protocol;

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "fuzz_protocol_decode: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

const std::vector<std::string>* secrets_of(const p::message& m) {
  if (const auto* inv = std::get_if<p::invocation_message>(&m))
    return &inv->secrets_to_redact;
  if (const auto* exec = std::get_if<p::command_execution_message>(&m))
    return &exec->secrets_to_redact;
  return nullptr;
}

// The frame itself as the stream to redact, cut into pieces whose sizes come from its bytes.
void check_stream_redaction(std::string_view frame, const std::vector<std::string>& secrets) {
  const p::redactor r(secrets);
  const std::string whole = r.redact(frame);
  p::stream_redactor s(r);
  std::string streamed;
  std::size_t pos = 0;
  for (std::size_t i = 0; pos < frame.size(); i++) {
    const std::size_t n = 1 + static_cast<unsigned char>(frame[i % frame.size()]) % 17;
    s.write(frame.substr(pos, n), streamed);
    pos += n;
  }
  s.flush(streamed);
  if (streamed != whole)
    fail("streamed redaction differs from one-shot redaction", streamed);
}

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), written out here so
// that the encoder's guarantee is not checked with the encoder's own validator.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0, min = 0;
    if (b < 0x80) {
      ++i;
      continue;
    }
    if ((b & 0xE0) == 0xC0) {
      n = 1;
      cp = b & 0x1F;
      min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      n = 2;
      cp = b & 0x0F;
      min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      n = 3;
      cp = b & 0x07;
      min = 0x10000;
    } else
      return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size())
        return false;
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

// decode_text_frame (what the runtime and the client use for frames, which websocketpp has
// checked as UTF-8) must agree with decode on any UTF-8 text.
void check_frame_decode_agrees(const std::string& frame, const p::decode_result& expected) {
  const p::decode_result got = p::decode_text_frame(frame);
  if (static_cast<bool>(got.msg) != static_cast<bool>(expected.msg))
    fail("decode_text_frame and decode disagree on success", frame + "\n" + got.error);
  if (got.error != expected.error || got.ec != expected.ec)
    fail("decode_text_frame and decode give different errors", got.error + "\n" + expected.error);
  if (got.msg && p::encode(*got.msg) != p::encode(*expected.msg))
    fail("decode_text_frame and decode give different messages", frame);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  const p::decode_result first = p::decode(frame);
  if (valid_utf8(frame))
    check_frame_decode_agrees(std::string(frame), first);
  if (!first.msg) {
    if (!first.ec || first.error.empty())
      fail("decode failed without an error", frame);
    return 0;
  }
  if (first.ec)
    fail("decode succeeded with an error code set", first.error);

  const std::string encoded = p::encode(*first.msg);
  // The runtime sends what encode gives without websocketpp checking it again.
  if (!valid_utf8(encoded))
    fail("encode gave invalid UTF-8", encoded);
  const p::decode_result second = p::decode(encoded);
  check_frame_decode_agrees(encoded, second);
  if (!second.msg)
    fail("a re-encoded message does not decode", encoded + "\n" + second.error);
  if (second.msg->index() != first.msg->index())
    fail("re-decoding changed the message type", encoded);
  if (second.message_type != first.message_type)
    fail("re-decoding changed message_type", encoded);
  const std::string again = p::encode(*second.msg);
  if (again != encoded)
    fail("encode is not a fixed point", encoded + "\n" + again);

  // A numbered frame (durable sessions) keeps its seq through encode(m, seq), which only adds
  // it; a seq is read on runtime -> client messages, never on a client's.
  if (first.seq && *first.seq == 0)
    fail("decode accepted seq 0", frame);
  const std::uint64_t seq = first.seq.value_or(1);
  const std::string numbered = p::encode(*first.msg, seq);
  const p::decode_result third = p::decode(numbered);
  if (!third.msg)
    fail("a numbered frame does not decode", numbered + "\n" + third.error);
  if (p::encode(*third.msg) != encoded)
    fail("seq changed the message", numbered);
  if (p::sent_by_client(*first.msg) ? third.seq.has_value() : third.seq != seq)
    fail("seq did not survive encode(m, seq)", numbered);

  if (const auto* secrets = secrets_of(*first.msg); secrets && !secrets->empty()) {
    check_stream_redaction(frame, *secrets);
    p::message redacted = *first.msg;
    p::redact_message(redacted, p::redactor(*secrets));
    (void)p::encode(redacted);
  }
  return 0;
}

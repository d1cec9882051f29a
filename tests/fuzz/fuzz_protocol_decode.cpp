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
  if (const auto* inv = std::get_if<p::invocation_message>(&m)) return &inv->secrets_to_redact;
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
  if (streamed != whole) fail("streamed redaction differs from one-shot redaction", streamed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  const p::decode_result first = p::decode(frame);
  if (!first.msg) {
    if (!first.ec || first.error.empty()) fail("decode failed without an error", frame);
    return 0;
  }
  if (first.ec) fail("decode succeeded with an error code set", first.error);

  const std::string encoded = p::encode(*first.msg);
  const p::decode_result second = p::decode(encoded);
  if (!second.msg) fail("a re-encoded message does not decode", encoded + "\n" + second.error);
  if (second.msg->index() != first.msg->index()) fail("re-decoding changed the message type", encoded);
  if (second.message_type != first.message_type) fail("re-decoding changed message_type", encoded);
  const std::string again = p::encode(*second.msg);
  if (again != encoded) fail("encode is not a fixed point", encoded + "\n" + again);

  if (const auto* secrets = secrets_of(*first.msg); secrets && !secrets->empty()) {
    check_stream_redaction(frame, *secrets);
    p::message redacted = *first.msg;
    p::redact_message(redacted, p::redactor(*secrets));
    (void)p::encode(redacted);
  }
  return 0;
}

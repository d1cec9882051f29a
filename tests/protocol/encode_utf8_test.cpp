// The encoder's promise that every frame it produces is valid UTF-8, whatever bytes the message
// holds: the runtime sends encoded frames without websocketpp checking them again, and a peer
// closes the connection on a text frame that is not UTF-8. Also its string escaping (its own,
// not RapidJSON's Writer) against the Writer's, and decode_text_frame refusing what decode
// refuses.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/messages.hpp"

namespace agentrt::protocol {
namespace {

// Invalid in every way the sanitizer knows: a stray continuation byte, a lead byte without its
// continuation, an overlong form, an encoded surrogate, a code point above U+10FFFF, 0xFF, and
// a truncated sequence at the very end.
const std::string bad = "a\x80 b\xC3 c\xC0\xAF d\xED\xA0\x80 e\xF4\x90\x80\x80 f\xFF g\xE2\x82";

// Strict UTF-8 (Unicode Table 3-7), written independently of the code under test.
bool strictly_utf8(const std::string& s) {
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  while (i < s.size()) {
    const unsigned char c = byte(i);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0)
        lo = 0xA0;
      if (c == 0xED)
        hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0)
        lo = 0x90;
      if (c == 0xF4)
        hi = 0x8F;
    } else {
      return false;
    }
    if (i + n >= s.size())
      return false; // truncated at the end
    for (std::size_t k = 1; k <= n; ++k) {
      if (byte(i + k) < lo || byte(i + k) > hi)
        return false;
      lo = 0x80;
      hi = 0xBF;
    }
    i += n + 1;
  }
  return true;
}

// Every string and key that came out of a frame, walking the whole document.
void collect_strings(const rapidjson::Value& v, std::vector<std::string>& out) {
  if (v.IsString()) {
    out.emplace_back(v.GetString(), v.GetStringLength());
  } else if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      out.emplace_back(m.name.GetString(), m.name.GetStringLength());
      collect_strings(m.value, out);
    }
  } else if (v.IsArray()) {
    for (const auto& item : v.GetArray())
      collect_strings(item, out);
  }
}

// The frame is strict UTF-8, parses as JSON with RapidJSON's own encoding check, decodes with
// both decode functions alike, and every string in it (\u escapes resolved) is UTF-8 too.
void expect_valid_frame(const message& m) {
  const std::string text = encode(m);
  SCOPED_TRACE(text);
  EXPECT_TRUE(strictly_utf8(text));
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.c_str(), text.size());
  ASSERT_FALSE(doc.HasParseError());
  std::vector<std::string> strings;
  collect_strings(doc, strings);
  for (const auto& s : strings)
    EXPECT_TRUE(strictly_utf8(s)) << s;

  const decode_result r = decode(text);
  EXPECT_TRUE(r.msg) << r.error;
  const decode_result f = decode_text_frame(text);
  EXPECT_TRUE(f.msg) << f.error;
  if (r.msg && f.msg) {
    EXPECT_EQ(encode(*r.msg), text);
    EXPECT_EQ(encode(*f.msg), text);
  }
}

command bad_command() {
  command c;
  c.command = bad;
  c.cwd = bad;
  c.env = string_map{{bad, bad}, {"K" + bad, "v"}};
  c.stdin_data = bad;
  return c;
}

// JSON text fields: a key and a value that are escaped lone surrogates, which RapidJSON decodes
// into bytes that are not UTF-8; and raw invalid bytes, which make the text not JSON at all.
const std::string surrogate_json = R"({"k\udc00":"v\udc00","n":[1,"\udfff"]})";
const std::string raw_bad_json = "{\"k\xFF\":\"v\"}";

TEST(EncodeUtf8, EveryStringFieldOfEveryMessageBecomesValidUtf8) {
  invocation_message inv;
  inv.source_id = bad;
  inv.system_prompt = bad;
  inv.user_prompt = bad;
  inv.model = bad;
  inv.output_format_json_schema_str = bad;
  inv.agent_env = string_map{{bad, bad}};
  inv.secrets_to_redact = {bad, bad + "2"};
  inv.artifacts_dirs = {bad};
  inv.artifacts_ignore_content = bad;
  inv.pre_agent_downloadables = {downloadable{bad, bad, true}};
  inv.pre_agent_invocation_commands = {bad_command()};
  inv.post_agent_invocation_commands = {bad_command()};
  inv.client_capabilities = {bad};
  inv.resume_session_id = bad;
  expect_valid_frame(inv);

  command_execution_message ce;
  ce.source_id = bad;
  ce.secrets_to_redact = {bad};
  ce.artifacts_dirs = {bad};
  ce.artifacts_ignore_content = bad;
  ce.commands = {bad_command()};
  ce.pre_execution_downloadables = {downloadable{bad, bad, std::nullopt}};
  ce.client_capabilities = {bad};
  expect_valid_frame(ce);

  expect_valid_frame(artifact_upload_response_message{bad, bad, bad, bad});

  for (const std::string& meta : {surrogate_json, raw_bad_json}) {
    result_message text_result;
    text_result.data.text = bad;
    text_result.metadata.json = meta;
    expect_valid_frame(text_result);
    result_message structured;
    structured.data.type = result_data::kind::structured_output;
    structured.data.structured_output.json = meta;
    structured.metadata.json = meta;
    expect_valid_frame(structured);
    expect_valid_frame(error_message{bad, json_text{meta}});
    expect_valid_frame(agent_event_message{bad, json_text{meta}});
  }

  expect_valid_frame(command_execution_result_message{{command_result{bad, 1, bad, true}}});
  expect_valid_frame(assistant_message{{bad, bad}});
  expect_valid_frame(command_output_message{"stdout", bad, bad});
  expect_valid_frame(heartbeat_message{bad, 5});
  expect_valid_frame(artifact_upload_request_message{bad, bad});
  expect_valid_frame(artifact_upload_result_message{bad, false, 500, bad});
}

TEST(EncodeUtf8, LoneSurrogatesFromJsonTextBecomeReplacementCharacters) {
  // RapidJSON turns "\udc00" into the bytes ED B0 80: three maximal invalid subparts.
  const std::string fffd3 = "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD";
  error_message m{"e", json_text{surrogate_json}};
  const decode_result r = decode(encode(m));
  ASSERT_TRUE(r.msg) << r.error;
  EXPECT_EQ(std::get<error_message>(*r.msg).metadata.json,
            "{\"k" + fffd3 + "\":\"v" + fffd3 + "\",\"n\":[1,\"" + fffd3 + "\"]}");
}

TEST(EncodeUtf8, RandomBytesInEveryPositionGiveValidFrames) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 80);
  for (int round = 0; round < 300; ++round) {
    std::string s(static_cast<std::size_t>(length(rng)), '\0');
    for (auto& c : s)
      c = static_cast<char>(byte(rng));
    expect_valid_frame(command_output_message{"stderr", s, s});
    expect_valid_frame(heartbeat_message{s, 1});
    invocation_message inv;
    inv.agent_env = string_map{{s, s}};
    expect_valid_frame(inv);
  }
}

// What RapidJSON's Writer makes of a string (the encoder used it before, and peers have seen
// exactly this escaping).
std::string writer_json(const std::string& s) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return {buffer.GetString(), buffer.GetSize()};
}

std::string encoded_text_field(const std::string& s) {
  const std::string frame = encode(assistant_message{{s}});
  const std::string prefix = R"({"message_type":"assistant_message","text_blocks":[)";
  EXPECT_EQ(frame.compare(0, prefix.size(), prefix), 0) << frame;
  return frame.substr(prefix.size(), frame.size() - prefix.size() - 2);
}

TEST(EncodeUtf8, EscapingMatchesRapidjsonsWriterByteForByte) {
  std::string all_ascii;
  for (int c = 0; c < 0x80; ++c)
    all_ascii.push_back(static_cast<char>(c));
  EXPECT_EQ(encoded_text_field(all_ascii), writer_json(all_ascii));
  const std::string multibyte = "na\xC3\xAFve \xE6\x97\xA5 \xF0\x9F\x98\x80 \xEF\xBF\xBF\x7F";
  EXPECT_EQ(encoded_text_field(multibyte), writer_json(multibyte));

  // One special byte at every offset of a text longer than the escaper's 16-byte blocks, so
  // that it is found in the vector loop, in the tail loop and at the block edges.
  for (const char special : {'"', '\\', '\n', '\x01', '\x1F', '\t'}) {
    for (std::size_t at = 0; at < 70; ++at) {
      std::string s(70, 'x');
      s[at] = special;
      s[69 - at / 2] = '\xC3'; // keep multibyte text in the mix
      s.insert(69 - at / 2 + 1, 1, '\xA9');
      ASSERT_EQ(encoded_text_field(s), writer_json(s)) << "byte " << int(special) << " at " << at;
    }
  }
}

// Every control character stays escaped through a decode and re-encode of JSON text fields
// (which go through RapidJSON's Writer): RapidJSON 1.1.0 built with RAPIDJSON_SSE2 writes
// 0x1A-0x1F raw, and ESC (0x1B) is in every coloured log line.
TEST(EncodeUtf8, ControlCharactersInJsonTextStayEscaped) {
  std::string frame = R"({"message_type":"error_message","error":"e","metadata":{"log":")";
  for (int c = 0; c < 0x20; ++c) {
    char escape[8];
    std::snprintf(escape, sizeof escape, "\\u%04X", c);
    frame += "0123456789abcdef";
    frame += escape;
  }
  frame += R"("}})";
  for (const decode_result& r : {decode(frame), decode_text_frame(frame)}) {
    ASSERT_TRUE(r.msg) << r.error;
    const std::string meta = std::get<error_message>(*r.msg).metadata.json;
    for (const char c : meta)
      EXPECT_GE(static_cast<unsigned char>(c), 0x20) << meta;
    EXPECT_NE(meta.find("\\u001B"), std::string::npos) << meta;
    const decode_result again = decode(encode(*r.msg));
    ASSERT_TRUE(again.msg) << again.error;
    EXPECT_EQ(std::get<error_message>(*again.msg).metadata.json, meta);
  }
}

// ---- decode_text_frame ------------------------------------------------------------------------

void expect_refused_alike(const std::string& frame, errc expected) {
  SCOPED_TRACE(frame.substr(0, 80));
  const decode_result r = decode(frame);
  const decode_result f = decode_text_frame(frame);
  EXPECT_FALSE(f.msg);
  EXPECT_EQ(f.ec, make_error_code(expected));
  EXPECT_EQ(f.ec, r.ec);
  EXPECT_EQ(f.error, r.error);
  EXPECT_EQ(f.message_type, r.message_type);
}

TEST(DecodeTextFrame, RefusesBadJsonAsDecodeDoes) {
  using namespace std::string_literals;
  expect_refused_alike("{oops", errc::malformed_json);
  expect_refused_alike("", errc::malformed_json);
  expect_refused_alike(R"({"message_type":"cancel_message"} trailing)", errc::malformed_json);
  expect_refused_alike(R"({"message_type":"cancel_message","x":"unterminated)",
                       errc::malformed_json);
  expect_refused_alike("{\"message_type\":\"cancel_message\",\"x\":\"raw\ncontrol\"}",
                       errc::malformed_json);
  // A NUL would end a NUL-terminated parse early; what follows it must still count.
  expect_refused_alike("{\"message_type\":\"cancel_message\"}\0{"s, errc::malformed_json);
  expect_refused_alike("{\"message_type\":\"cancel_message\"}\0"s, errc::malformed_json);
  expect_refused_alike("{\"message_type\":\"cancel\0_message\"}"s, errc::malformed_json);
  expect_refused_alike("[1,2]", errc::not_an_object);
  expect_refused_alike(R"({"message_type":"cancel_message","x":)" + std::string(300, '['),
                       errc::nesting_too_deep);
  // Deep and malformed before the depth is reached: the depth is still what is reported.
  expect_refused_alike(R"({"message_type":"cancel_message","x":[}])" + std::string(300, '['),
                       errc::nesting_too_deep);
  expect_refused_alike(R"({"message_type":"command_output_message","stream":1})", errc::wrong_type);
  expect_refused_alike(R"({"message_type":"nope"})", errc::unknown_message_type);
}

TEST(DecodeTextFrame, NamesTheOffsetOfTheError) {
  const decode_result r = decode_text_frame(R"({"message_type":"cancel_message",})");
  EXPECT_EQ(r.ec, make_error_code(errc::malformed_json));
  EXPECT_EQ(r.error, decode(R"({"message_type":"cancel_message",})").error);
  EXPECT_EQ(r.error.rfind("malformed JSON at offset 33: ", 0), 0u) << r.error;
}

TEST(DecodeTextFrame, DecodesWhatDecodeDecodes) {
  const std::string text(100000, 'y');
  const command_output_message m{"stdout", text + "\n\"\\\t\xC3\xA9" + text, "yes"};
  const std::string frame = encode(m);
  const decode_result r = decode_text_frame(frame);
  ASSERT_TRUE(r.msg) << r.error;
  EXPECT_EQ(std::get<command_output_message>(*r.msg).text, m.text);
  // Depth up to the limit is fine.
  const decode_result deep = decode_text_frame(R"({"message_type":"cancel_message","x":)" +
                                               std::string(255, '[') + std::string(255, ']') + "}");
  EXPECT_TRUE(deep.msg) << deep.error;
}

} // namespace
} // namespace agentrt::protocol

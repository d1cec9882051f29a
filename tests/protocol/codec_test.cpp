// Codec round trips and wire-shape checks: every message type encodes to the field names and
// shapes docs/protocol.md gives, and decodes the frames real peers (runtimeuse's Python client and
// TypeScript runtime) send.
#include <gtest/gtest.h>

#include <string>

#include <rapidjson/document.h>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/messages.hpp"

namespace agentrt::protocol {
namespace {

message decode_ok(std::string_view frame) {
  decode_result r = decode(frame);
  EXPECT_FALSE(r.ec) << r.error << "\nframe: " << frame;
  EXPECT_TRUE(r.msg.has_value()) << frame;
  return r.msg.value_or(message{cancel_message{}});
}

template <class T> T decode_as(std::string_view frame) {
  message m = decode_ok(frame);
  EXPECT_TRUE(std::holds_alternative<T>(m)) << "decoded as " << message_type_name(m);
  return std::holds_alternative<T>(m) ? std::get<T>(m) : T{};
}

// decode(encode(m)) succeeds, has the same type, and encodes to the same text again.
template <class T> T round_trip(const T& original) {
  const std::string first = encode(original);
  const message decoded = decode_ok(first);
  EXPECT_EQ(encode(decoded), first);
  EXPECT_TRUE(std::holds_alternative<T>(decoded));
  return std::holds_alternative<T>(decoded) ? std::get<T>(decoded) : T{};
}

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.c_str(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

command full_command() {
  command c;
  c.command = "make -C \"$DIR\" test";
  c.cwd = "/work/src";
  c.env = string_map{{"DIR", "/tmp/x"}, {"LANG", "C.UTF-8"}};
  c.timeout_s = 2.5;
  c.stdin_data = "line one\nline two\n";
  return c;
}

// ---- round trips, one per message type ------------------------------------------------------

TEST(CodecRoundTrip, InvocationMessageAllFields) {
  invocation_message m;
  m.source_id = "job-17";
  m.system_prompt = "You are terse.";
  m.user_prompt = "Say \"hi\"\n\tthen stop. é 😀";
  m.model = "claude-sonnet-4";
  m.output_format_json_schema_str = R"({"type":"json_schema","schema":{"type":"object"}})";
  m.agent_env = string_map{{"API_KEY", "k"}, {"EMPTY", ""}};
  m.secrets_to_redact = {"k", "hunter2"};
  m.artifacts_dirs = {"/out/a", "/out/b"};
  m.artifacts_ignore_content = "*.log\nnode_modules/\n";
  m.pre_agent_downloadables = {{"https://x.test/a%20b.zip", "/work", false},
                               {"https://x.test/c.tar", "/w2", std::nullopt}};
  m.pre_agent_invocation_commands = {full_command(), command{"ls", {}, {}, {}, {}}};
  m.post_agent_invocation_commands = {command{"echo done", "/tmp", {}, 0.0, {}}};
  m.client_capabilities = {"agent_events", "upload_results"};
  m.resume_session_id = "sess-1";

  const auto d = round_trip(m);
  EXPECT_EQ(d.source_id, m.source_id);
  EXPECT_EQ(d.system_prompt, m.system_prompt);
  EXPECT_EQ(d.user_prompt, m.user_prompt);
  EXPECT_EQ(d.model, m.model);
  EXPECT_EQ(d.output_format_json_schema_str, m.output_format_json_schema_str);
  EXPECT_EQ(d.agent_env, m.agent_env);
  EXPECT_EQ(d.secrets_to_redact, m.secrets_to_redact);
  EXPECT_EQ(d.artifacts_dirs, m.artifacts_dirs);
  EXPECT_EQ(d.artifacts_ignore_content, m.artifacts_ignore_content);
  ASSERT_EQ(d.pre_agent_downloadables.size(), 2u);
  EXPECT_EQ(d.pre_agent_downloadables[0].download_url, "https://x.test/a%20b.zip");
  EXPECT_EQ(d.pre_agent_downloadables[0].working_dir, "/work");
  EXPECT_EQ(d.pre_agent_downloadables[0].extract, false);
  EXPECT_EQ(d.pre_agent_downloadables[1].extract, std::nullopt);
  ASSERT_EQ(d.pre_agent_invocation_commands.size(), 2u);
  const command& c = d.pre_agent_invocation_commands[0];
  EXPECT_EQ(c.command, full_command().command);
  EXPECT_EQ(c.cwd, "/work/src");
  EXPECT_EQ(c.env, full_command().env);
  EXPECT_EQ(c.timeout_s, 2.5);
  EXPECT_EQ(c.stdin_data, "line one\nline two\n");
  EXPECT_EQ(d.pre_agent_invocation_commands[1].command, "ls");
  EXPECT_FALSE(d.pre_agent_invocation_commands[1].cwd);
  EXPECT_FALSE(d.pre_agent_invocation_commands[1].env);
  EXPECT_FALSE(d.pre_agent_invocation_commands[1].timeout_s);
  EXPECT_FALSE(d.pre_agent_invocation_commands[1].stdin_data);
  ASSERT_EQ(d.post_agent_invocation_commands.size(), 1u);
  EXPECT_EQ(d.post_agent_invocation_commands[0].timeout_s, 0.0);
  EXPECT_EQ(d.client_capabilities, m.client_capabilities);
  EXPECT_EQ(d.resume_session_id, "sess-1");
}

TEST(CodecRoundTrip, InvocationMessageMinimal) {
  invocation_message m;
  m.system_prompt = "";
  m.user_prompt = "u";
  m.model = "m";
  const std::string text = encode(m);
  EXPECT_EQ(text, R"({"message_type":"invocation_message","system_prompt":"","user_prompt":"u",)"
                  R"("model":"m","secrets_to_redact":[]})");
  const auto d = round_trip(m);
  EXPECT_FALSE(d.source_id);
  EXPECT_FALSE(d.agent_env);
  EXPECT_TRUE(d.artifacts_dirs.empty());
  EXPECT_TRUE(d.pre_agent_invocation_commands.empty());
}

TEST(CodecRoundTrip, CommandExecutionMessage) {
  command_execution_message m;
  m.source_id = "s";
  m.secrets_to_redact = {"tok"};
  m.artifacts_dirs = {"/a"};
  m.artifacts_ignore_content = "dist/";
  m.commands = {full_command(), command{"false", {}, {}, {}, {}}};
  m.pre_execution_downloadables = {{"https://h.test/f.tgz", "/d", true}};
  m.client_capabilities = {"upload_results"};
  const auto d = round_trip(m);
  EXPECT_EQ(d.source_id, "s");
  EXPECT_EQ(d.secrets_to_redact, m.secrets_to_redact);
  EXPECT_EQ(d.artifacts_dirs, m.artifacts_dirs);
  EXPECT_EQ(d.artifacts_ignore_content, "dist/");
  ASSERT_EQ(d.commands.size(), 2u);
  EXPECT_EQ(d.commands[0].stdin_data, full_command().stdin_data);
  EXPECT_EQ(d.commands[1].command, "false");
  ASSERT_EQ(d.pre_execution_downloadables.size(), 1u);
  EXPECT_EQ(d.pre_execution_downloadables[0].extract, true);
  EXPECT_EQ(d.client_capabilities, m.client_capabilities);
}

TEST(CodecRoundTrip, CommandExecutionMessageWithNoCommandsKeepsTheRequiredField) {
  const std::string text = encode(command_execution_message{});
  EXPECT_EQ(text,
            R"({"message_type":"command_execution_message","secrets_to_redact":[],"commands":[]})");
  EXPECT_TRUE(round_trip(command_execution_message{}).commands.empty());
}

TEST(CodecRoundTrip, MessagesWithoutFields) {
  EXPECT_EQ(encode(cancel_message{}), R"({"message_type":"cancel_message"})");
  EXPECT_EQ(encode(end_session_message{}), R"({"message_type":"end_session_message"})");
  EXPECT_EQ(encode(end_session_confirm_message{}),
            R"({"message_type":"end_session_confirm_message"})");
  round_trip(cancel_message{});
  round_trip(end_session_message{});
  round_trip(end_session_confirm_message{});
}

TEST(CodecRoundTrip, ArtifactUploadResponseMessage) {
  artifact_upload_response_message m{"out.txt", "/a/out.txt",
                                     "https://s3.test/b/out.txt?X-Amz-Signature=ab%2Fc&e=1",
                                     "text/plain"};
  EXPECT_EQ(encode(m),
            R"({"message_type":"artifact_upload_response_message","filename":"out.txt",)"
            R"("filepath":"/a/out.txt","presigned_url":"https://s3.test/b/out.txt?X-Amz-)"
            R"(Signature=ab%2Fc&e=1","content_type":"text/plain"})");
  const auto d = round_trip(m);
  EXPECT_EQ(d.filename, m.filename);
  EXPECT_EQ(d.filepath, m.filepath);
  EXPECT_EQ(d.presigned_url, m.presigned_url);
  EXPECT_EQ(d.content_type, m.content_type);
}

TEST(CodecRoundTrip, ResultMessageText) {
  result_message m;
  m.data.type = result_data::kind::text;
  m.data.text = "the answer\nis 42";
  m.metadata.json = R"({"usage":{"input_tokens":10,"output_tokens":3},"cost_usd":0.0012})";
  EXPECT_EQ(encode(m),
            R"({"message_type":"result_message","data":{"type":"text","text":"the answer\nis 42"},)"
            R"("metadata":{"usage":{"input_tokens":10,"output_tokens":3},"cost_usd":0.0012}})");
  const auto d = round_trip(m);
  EXPECT_EQ(d.data.type, result_data::kind::text);
  EXPECT_EQ(d.data.text, m.data.text);
  EXPECT_EQ(d.metadata.json, m.metadata.json);
}

TEST(CodecRoundTrip, ResultMessageStructuredOutputKeepsNestedJson) {
  result_message m;
  m.data.type = result_data::kind::structured_output;
  m.data.structured_output.json =
      R"({"name":"x","tags":["a","b"],)"
      R"("nested":{"deep":[{"n":1},{"n":-2.5e-3}],"nil":null,"t":true}})";
  const std::string text = encode(m);
  EXPECT_NE(text.find(R"("data":{"type":"structured_output","structured_output":{"name":"x",)"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find(R"("text")"), std::string::npos) << text;
  const auto d = round_trip(m);
  EXPECT_EQ(d.data.type, result_data::kind::structured_output);
  rapidjson::Document a = parse(d.data.structured_output.json);
  rapidjson::Document b = parse(m.data.structured_output.json);
  EXPECT_TRUE(a == b);
  EXPECT_EQ(d.metadata.json, "{}");
}

TEST(CodecRoundTrip, CommandExecutionResultMessage) {
  command_execution_result_message m;
  m.results = {{"echo hi", 0, "hi\n", false},
               {"exit 3", 3, std::nullopt, false},
               {"yes | head -c 2000000", 0, std::string(1 << 20, 'y'), true},
               {"kill -9 $$", 137, "", false},
               {"neg", -1, std::nullopt, false}};
  const std::string text = encode(m);
  EXPECT_EQ(text.rfind(R"({"message_type":"command_execution_result_message","results":[)"
                       R"({"command":"echo hi","exit_code":0,"stdout":"hi\n"},)"
                       R"({"command":"exit 3","exit_code":3},)",
                       0),
            0u)
      << text.substr(0, 200);
  EXPECT_NE(text.find(R"(,"stdout_truncated":true})"), std::string::npos);
  EXPECT_EQ(text.find("stdout_truncated\":false"), std::string::npos);
  const auto d = round_trip(m);
  ASSERT_EQ(d.results.size(), m.results.size());
  for (std::size_t i = 0; i < m.results.size(); ++i) {
    EXPECT_EQ(d.results[i].command, m.results[i].command);
    EXPECT_EQ(d.results[i].exit_code, m.results[i].exit_code);
    EXPECT_EQ(d.results[i].stdout_text, m.results[i].stdout_text);
    EXPECT_EQ(d.results[i].stdout_truncated, m.results[i].stdout_truncated);
  }
}

TEST(CodecRoundTrip, ErrorMessage) {
  error_message m;
  m.error = "command failed: exit 2";
  m.metadata.json = R"({"command":"false","exit_code":2,"signal":null})";
  EXPECT_EQ(encode(m), R"({"message_type":"error_message","error":"command failed: exit 2",)"
                       R"("metadata":{"command":"false","exit_code":2,"signal":null}})");
  const auto d = round_trip(m);
  EXPECT_EQ(d.error, m.error);
  EXPECT_EQ(d.metadata.json, m.metadata.json);

  // The default metadata is an empty object, which runtimeuse's types require to be present.
  EXPECT_EQ(encode(error_message{"Request cancelled", {}}),
            R"({"message_type":"error_message","error":"Request cancelled","metadata":{}})");
}

TEST(CodecRoundTrip, AssistantMessage) {
  assistant_message m{{"first", "", "third\nline"}};
  EXPECT_EQ(encode(m),
            R"({"message_type":"assistant_message","text_blocks":["first","","third\nline"]})");
  EXPECT_EQ(round_trip(m).text_blocks, m.text_blocks);
  EXPECT_TRUE(round_trip(assistant_message{}).text_blocks.empty());
}

TEST(CodecRoundTrip, CommandOutputMessage) {
  command_output_message m{"stderr", "warning: x\n", "make"};
  EXPECT_EQ(encode(m), R"({"message_type":"command_output_message","stream":"stderr",)"
                       R"("text":"warning: x\n","command":"make"})");
  const auto d = round_trip(m);
  EXPECT_EQ(d.stream, "stderr");
  EXPECT_EQ(d.text, m.text);
  EXPECT_EQ(d.command, "make");
}

TEST(CodecRoundTrip, CommandOutputMessage64kChunk) {
  std::string text;
  for (int i = 0; text.size() < 64 * 1024; ++i)
    text += "line " + std::to_string(i) + "\t\"q\"\\\n";
  text.resize(64 * 1024);
  command_output_message m{"stdout", text, "gen"};
  EXPECT_EQ(round_trip(m).text, text);
}

TEST(CodecRoundTrip, HeartbeatMessage) {
  heartbeat_message m;
  m.elapsed_ms = 15000;
  EXPECT_EQ(
      encode(m),
      R"({"message_type":"heartbeat_message","phase":"request_in_flight","elapsed_ms":15000})");
  const auto d = round_trip(m);
  EXPECT_EQ(d.phase, "request_in_flight");
  EXPECT_EQ(d.elapsed_ms, 15000);
  m.elapsed_ms = std::int64_t{1} << 40;
  EXPECT_EQ(round_trip(m).elapsed_ms, std::int64_t{1} << 40);
}

TEST(CodecRoundTrip, ArtifactUploadRequestMessage) {
  artifact_upload_request_message m{"report.pdf", "/out/sub/report.pdf"};
  EXPECT_EQ(encode(m), R"({"message_type":"artifact_upload_request_message",)"
                       R"("filename":"report.pdf","filepath":"/out/sub/report.pdf"})");
  const auto d = round_trip(m);
  EXPECT_EQ(d.filename, m.filename);
  EXPECT_EQ(d.filepath, m.filepath);
}

TEST(CodecRoundTrip, AgentEventMessage) {
  agent_event_message m{"tool_use", {R"({"tool":"bash","input":{"command":"ls"}})"}};
  EXPECT_EQ(encode(m), R"({"message_type":"agent_event_message","event":"tool_use",)"
                       R"("data":{"tool":"bash","input":{"command":"ls"}}})");
  const auto d = round_trip(m);
  EXPECT_EQ(d.event, "tool_use");
  EXPECT_EQ(d.data.json, m.data.json);
}

TEST(CodecRoundTrip, ArtifactUploadResultMessage) {
  artifact_upload_result_message ok{"/out/a.txt", true, 200, std::nullopt};
  EXPECT_EQ(encode(ok), R"({"message_type":"artifact_upload_result_message",)"
                        R"("filepath":"/out/a.txt","ok":true,"http_status":200})");
  const auto d = round_trip(ok);
  EXPECT_TRUE(d.ok);
  EXPECT_EQ(d.http_status, 200);
  EXPECT_FALSE(d.error);

  artifact_upload_result_message failed{"/out/b.txt", false, std::nullopt, "connection refused"};
  EXPECT_EQ(encode(failed), R"({"message_type":"artifact_upload_result_message",)"
                            R"("filepath":"/out/b.txt","ok":false,"error":"connection refused"})");
  const auto f = round_trip(failed);
  EXPECT_FALSE(f.ok);
  EXPECT_FALSE(f.http_status);
  EXPECT_EQ(f.error, "connection refused");
}

TEST(CodecRoundTrip, MessageTypeNameMatchesTheWireNameOfEveryAlternative) {
  const message all[] = {invocation_message{},
                         command_execution_message{},
                         cancel_message{},
                         artifact_upload_response_message{},
                         end_session_message{},
                         result_message{},
                         command_execution_result_message{},
                         error_message{},
                         assistant_message{},
                         command_output_message{"stdout", "", ""},
                         heartbeat_message{},
                         artifact_upload_request_message{},
                         end_session_confirm_message{},
                         agent_event_message{},
                         artifact_upload_result_message{},
                         session_info_message{},
                         gap_message{1, 1, {}},
                         detach_confirm_message{},
                         ack_message{},
                         detach_message{},
                         artifact_upload_declined_message{},
                         process_start_message{},
                         process_stdin_message{},
                         process_signal_message{},
                         process_resize_message{},
                         process_list_message{},
                         process_wait_message{},
                         process_started_message{},
                         process_output_message{"p1", "stdout", ""},
                         process_stdin_ack_message{},
                         process_ready_message{},
                         process_exit_message{},
                         process_list_result_message{},
                         process_error_message{}};
  const char* names[] = {"invocation_message",
                         "command_execution_message",
                         "cancel_message",
                         "artifact_upload_response_message",
                         "end_session_message",
                         "result_message",
                         "command_execution_result_message",
                         "error_message",
                         "assistant_message",
                         "command_output_message",
                         "heartbeat_message",
                         "artifact_upload_request_message",
                         "end_session_confirm_message",
                         "agent_event_message",
                         "artifact_upload_result_message",
                         "session_info_message",
                         "gap_message",
                         "detach_confirm_message",
                         "ack_message",
                         "detach_message",
                         "artifact_upload_declined_message",
                         "process_start_message",
                         "process_stdin_message",
                         "process_signal_message",
                         "process_resize_message",
                         "process_list_message",
                         "process_wait_message",
                         "process_started_message",
                         "process_output_message",
                         "process_stdin_ack_message",
                         "process_ready_message",
                         "process_exit_message",
                         "process_list_result_message",
                         "process_error_message"};
  static_assert(std::size(all) == std::variant_size_v<message>);
  for (std::size_t i = 0; i < std::size(all); ++i) {
    EXPECT_STREQ(message_type_name(all[i]), names[i]);
    const std::string text = encode(all[i]);
    EXPECT_EQ(text.rfind(std::string(R"({"message_type":")") + names[i] + '"', 0), 0u) << text;
    const decode_result r = decode(text);
    EXPECT_FALSE(r.ec) << r.error;
    EXPECT_EQ(r.message_type, names[i]);
    ASSERT_TRUE(r.msg);
    EXPECT_EQ(r.msg->index(), i);
  }
}

TEST(CodecEncode, JsonQuoteEscapesAsEncodeDoesAndRepairsUtf8) {
  EXPECT_EQ(json_quote("plain"), "\"plain\"");
  EXPECT_EQ(json_quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(json_quote("bad \xff byte"), "\"bad \xEF\xBF\xBD byte\"");
  // The same text inside an encoded message.
  error_message e;
  e.error = "x\ty";
  EXPECT_NE(encode(e).find(json_quote("x\ty")), std::string::npos);
}

// ---- encode specifics -------------------------------------------------------------------------

TEST(CodecEncode, UnsetOptionalsAreOmittedNeverNull) {
  invocation_message inv;
  inv.user_prompt = "u";
  inv.pre_agent_invocation_commands = {command{"ls", {}, {}, {}, {}}};
  command_result r{"c", 0, std::nullopt, false};
  for (const message& m : {message{inv}, message{command_execution_result_message{{r}}},
                           message{artifact_upload_result_message{"/f", false, {}, {}}},
                           message{command_execution_message{
                               {}, {}, {}, {}, {command{"x", {}, {}, {}, {}}}, {}, {}, {}}}}) {
    const std::string text = encode(m);
    EXPECT_EQ(text.find("null"), std::string::npos) << text;
  }
  EXPECT_NE(encode(inv).find(R"("pre_agent_invocation_commands":[{"command":"ls"}])"),
            std::string::npos);
}

TEST(CodecEncode, ExtensionFieldsUseTheirWireNames) {
  command_execution_message m;
  m.commands = {full_command()};
  const std::string text = encode(m);
  EXPECT_NE(text.find(R"("commands":[{"command":"make -C \"$DIR\" test","cwd":"/work/src",)"
                      R"("env":{"DIR":"/tmp/x","LANG":"C.UTF-8"},"timeout_s":2.5,)"
                      R"("stdin":"line one\nline two\n"}])"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("stdin_data"), std::string::npos);

  command_execution_result_message res{{{"c", 0, "out", false}}};
  EXPECT_NE(encode(res).find(R"("stdout":"out")"), std::string::npos);
  EXPECT_EQ(encode(res).find("stdout_text"), std::string::npos);
}

TEST(CodecEncode, NonFiniteTimeoutIsOmitted) {
  command_execution_message m;
  m.commands = {command{"a", {}, {}, std::numeric_limits<double>::infinity(), {}},
                command{"b", {}, {}, std::numeric_limits<double>::quiet_NaN(), {}}};
  const std::string text = encode(m);
  EXPECT_EQ(text.find("timeout_s"), std::string::npos) << text;
  parse(text);
}

TEST(CodecEncode, JsonTextIsEmbeddedCompactly) {
  error_message m{"e", {"{\n  \"a\" : [ 1, 2 ],\n  \"b\": {\"c\": \"d\"}\n}\n"}};
  EXPECT_EQ(encode(m), R"({"message_type":"error_message","error":"e",)"
                       R"("metadata":{"a":[1,2],"b":{"c":"d"}}})");
}

// Invalid json_text is replaced by {}: metadata and structured_output are objects on the wire
// (the Python client validates them as dicts), so a string would break the frame for a peer.
TEST(CodecEncode, JsonTextThatIsNotAJsonObjectBecomesAnEmptyObject) {
  for (const char* bad : {"", "not json", "{\"a\":", "[1,2]", "\"str\"", "42", "{} {}"}) {
    error_message m{"e", {bad}};
    EXPECT_EQ(encode(m), R"({"message_type":"error_message","error":"e","metadata":{}})")
        << "json_text: " << bad;
    result_message r;
    r.data.type = result_data::kind::structured_output;
    r.data.structured_output.json = bad;
    const std::string text = encode(r);
    EXPECT_NE(text.find(R"("structured_output":{})"), std::string::npos) << text;
    round_trip(r);
  }
}

TEST(CodecEncode, StringsAreEscaped) {
  assistant_message m{{std::string("quote\" backslash\\ nl\n tab\t nul\0 ctl\x01 end", 40)}};
  const std::string text = encode(m);
  EXPECT_EQ(text, R"({"message_type":"assistant_message","text_blocks":)"
                  R"(["quote\" backslash\\ nl\n tab\t nul\u0000 ctl\u0001 end"]})");
  EXPECT_EQ(round_trip(m).text_blocks, m.text_blocks);
}

TEST(CodecEncode, InvalidUtf8BecomesReplacementCharactersSoTheFrameStaysValid) {
  command_output_message m{"stdout", "ok \xC3\x28 bad \xFF end \xE2\x82", "cat \xF0\x9F\x98"};
  const std::string text = encode(m);
  parse(text); // validates the encoding
  const auto d = decode_as<command_output_message>(text);
  EXPECT_EQ(d.text, "ok \xEF\xBF\xBD( bad \xEF\xBF\xBD end \xEF\xBF\xBD");
  EXPECT_EQ(d.command, "cat \xEF\xBF\xBD");

  invocation_message inv;
  inv.agent_env = string_map{{"K\xFF", "v"}};
  const auto di = decode_as<invocation_message>(encode(inv));
  ASSERT_TRUE(di.agent_env);
  EXPECT_EQ(di.agent_env->count("K\xEF\xBF\xBD"), 1u);
}

TEST(CodecEncode, ValidMultibyteTextIsKeptByteExact) {
  const std::string text = "na\xC3\xAFve \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF";
  EXPECT_EQ(round_trip(command_output_message{"stdout", text, "x"}).text, text);
}

// ---- decode: frames as real peers send them ---------------------------------------------------

TEST(CodecDecode, PythonClientCommandExecutionMessageWithNulls) {
  const auto m = decode_as<command_execution_message>(
      R"({"message_type":"command_execution_message","source_id":null,"secrets_to_redact":[],)"
      R"("commands":[{"cwd":null,"command":"echo hi","env":null}],"artifacts_dir":null,)"
      R"("pre_execution_downloadables":null})");
  EXPECT_FALSE(m.source_id);
  EXPECT_TRUE(m.secrets_to_redact.empty());
  EXPECT_TRUE(m.artifacts_dirs.empty());
  EXPECT_TRUE(m.pre_execution_downloadables.empty());
  ASSERT_EQ(m.commands.size(), 1u);
  EXPECT_EQ(m.commands[0].command, "echo hi");
  EXPECT_FALSE(m.commands[0].cwd);
  EXPECT_FALSE(m.commands[0].env);
}

TEST(CodecDecode, PythonClientInvocationMessageWithNulls) {
  const auto m = decode_as<invocation_message>(
      R"({"message_type":"invocation_message","source_id":null,"system_prompt":"Be brief.",)"
      R"("user_prompt":"2+2?","agent_env":null,"output_format_json_schema_str":null,)"
      R"("secrets_to_redact":[],"artifacts_dir":null,"pre_agent_invocation_commands":null,)"
      R"("post_agent_invocation_commands":null,"model":"gpt-4o","pre_agent_downloadables":null})");
  EXPECT_EQ(m.system_prompt, "Be brief.");
  EXPECT_EQ(m.user_prompt, "2+2?");
  EXPECT_EQ(m.model, "gpt-4o");
  EXPECT_FALSE(m.source_id);
  EXPECT_FALSE(m.agent_env);
  EXPECT_FALSE(m.output_format_json_schema_str);
  EXPECT_TRUE(m.artifacts_dirs.empty());
  EXPECT_TRUE(m.pre_agent_invocation_commands.empty());
  EXPECT_TRUE(m.post_agent_invocation_commands.empty());
  EXPECT_TRUE(m.pre_agent_downloadables.empty());
}

TEST(CodecDecode, PythonClientInvocationMessageWithEverything) {
  const auto m = decode_as<invocation_message>(
      R"({"message_type": "invocation_message", "source_id": "abc", "system_prompt": "s",)"
      R"( "user_prompt": "u", "agent_env": {"A": "1"},)"
      R"( "output_format_json_schema_str": "{\"type\": \"json_schema\", \"schema\": {}}",)"
      R"( "secrets_to_redact": ["sekrit"], "artifacts_dir": "/tmp/art",)"
      R"( "pre_agent_invocation_commands": [{"cwd": "/tmp", "command": "pwd", "env": {"X": "y"}}],)"
      R"( "post_agent_invocation_commands": [{"cwd": null, "command": "ls", "env": null}],)"
      R"( "model": "m", "pre_agent_downloadables": [{"download_url": "https://h/x.zip",)"
      R"( "working_dir": "/w"}]})");
  EXPECT_EQ(m.source_id, "abc");
  EXPECT_EQ(m.agent_env, (string_map{{"A", "1"}}));
  EXPECT_EQ(m.output_format_json_schema_str, R"({"type": "json_schema", "schema": {}})");
  EXPECT_EQ(m.secrets_to_redact, std::vector<std::string>{"sekrit"});
  EXPECT_EQ(m.artifacts_dirs, std::vector<std::string>{"/tmp/art"});
  EXPECT_TRUE(m.used_artifacts_dir);
  EXPECT_FALSE(m.announce_existing_artifacts);
  ASSERT_EQ(m.pre_agent_invocation_commands.size(), 1u);
  EXPECT_EQ(m.pre_agent_invocation_commands[0].cwd, "/tmp");
  EXPECT_EQ(m.pre_agent_invocation_commands[0].env, (string_map{{"X", "y"}}));
  ASSERT_EQ(m.post_agent_invocation_commands.size(), 1u);
  EXPECT_EQ(m.post_agent_invocation_commands[0].command, "ls");
  ASSERT_EQ(m.pre_agent_downloadables.size(), 1u);
  EXPECT_EQ(m.pre_agent_downloadables[0].download_url, "https://h/x.zip");
  EXPECT_EQ(m.pre_agent_downloadables[0].working_dir, "/w");
  EXPECT_FALSE(m.pre_agent_downloadables[0].extract);
}

TEST(Codec, AnnounceExistingArtifactsIsSentOnlyWhenSetAndDecoded) {
  command_execution_message m;
  m.commands = {command{"true", {}, {}, {}, {}}};
  EXPECT_EQ(encode(m).find("announce_existing_artifacts"), std::string::npos);
  m.announce_existing_artifacts = false;
  const auto text = encode(m);
  EXPECT_NE(text.find(R"("announce_existing_artifacts":false)"), std::string::npos) << text;
  const auto d = decode_as<command_execution_message>(text);
  EXPECT_EQ(d.announce_existing_artifacts, false);
  EXPECT_FALSE(d.used_artifacts_dir);
  const auto r = decode(R"({"message_type":"command_execution_message","commands":[],)"
                        R"("secrets_to_redact":[],"announce_existing_artifacts":"no"})");
  EXPECT_NE(r.error.find("announce_existing_artifacts"), std::string::npos) << r.error;
}

TEST(CodecDecode, PythonClientSmallMessages) {
  decode_as<cancel_message>(R"({"message_type": "cancel_message"})");
  decode_as<end_session_message>(R"({"message_type": "end_session_message"})");
  const auto r = decode_as<artifact_upload_response_message>(
      R"({"message_type": "artifact_upload_response_message", "filename": "a.txt",)"
      R"( "filepath": "/o/a.txt", "presigned_url": "http://127.0.0.1:9/put", "content_type":)"
      R"( "text/plain"})");
  EXPECT_EQ(r.filename, "a.txt");
  EXPECT_EQ(r.filepath, "/o/a.txt");
  EXPECT_EQ(r.presigned_url, "http://127.0.0.1:9/put");
  EXPECT_EQ(r.content_type, "text/plain");
}

TEST(CodecDecode, TypescriptRuntimeMessages) {
  const auto result = decode_as<result_message>(
      R"({"message_type":"result_message","data":{"type":"text","text":"hello"}})");
  EXPECT_EQ(result.data.text, "hello");
  EXPECT_EQ(result.metadata.json, "{}");

  const auto structured = decode_as<result_message>(
      R"({"message_type":"result_message","metadata":{"duration_ms":12},)"
      R"("data":{"type":"structured_output","structured_output":{"ok":true,"items":[1,"two"]}}})");
  EXPECT_EQ(structured.data.type, result_data::kind::structured_output);
  EXPECT_EQ(structured.data.structured_output.json, R"({"ok":true,"items":[1,"two"]})");
  EXPECT_EQ(structured.metadata.json, R"({"duration_ms":12})");

  const auto err = decode_as<error_message>(R"({"message_type":"error_message","error":"boom",)"
                                            R"("metadata":{"name":"Error","stack":"at x"}})");
  EXPECT_EQ(err.error, "boom");
  EXPECT_EQ(err.metadata.json, R"({"name":"Error","stack":"at x"})");

  const auto results = decode_as<command_execution_result_message>(
      R"({"message_type":"command_execution_result_message","results":[)"
      R"({"command":"echo a","exit_code":0,"stdout":"a\n"},{"command":"false","exit_code":1}]})");
  ASSERT_EQ(results.results.size(), 2u);
  EXPECT_EQ(results.results[0].stdout_text, "a\n");
  EXPECT_EQ(results.results[1].exit_code, 1);
  EXPECT_FALSE(results.results[1].stdout_text);
  EXPECT_FALSE(results.results[1].stdout_truncated);

  const auto out = decode_as<command_output_message>(
      R"({"message_type":"command_output_message","stream":"stdout","text":"x","command":"c"})");
  EXPECT_EQ(out.text, "x");

  const auto beat = decode_as<heartbeat_message>(
      R"({"message_type":"heartbeat_message","phase":"request_in_flight","elapsed_ms":30001})");
  EXPECT_EQ(beat.elapsed_ms, 30001);

  const auto assistant = decode_as<assistant_message>(
      R"({"message_type":"assistant_message","text_blocks":["a","b"]})");
  EXPECT_EQ(assistant.text_blocks, (std::vector<std::string>{"a", "b"}));

  const auto upload = decode_as<artifact_upload_request_message>(
      R"({"message_type":"artifact_upload_request_message","filename":"f","filepath":"/d/f"})");
  EXPECT_EQ(upload.filepath, "/d/f");
  decode_as<end_session_confirm_message>(R"({"message_type":"end_session_confirm_message"})");
}

TEST(CodecDecode, HeartbeatAcceptsFractionalAndMissingElapsedMs) {
  EXPECT_EQ(decode_as<heartbeat_message>(
                R"({"message_type":"heartbeat_message","phase":"p","elapsed_ms":1500.75})")
                .elapsed_ms,
            1500);
  EXPECT_EQ(decode_as<heartbeat_message>(R"({"message_type":"heartbeat_message","phase":"p"})")
                .elapsed_ms,
            0);
}

TEST(CodecDecode, ExitCodeAcceptsTheWholeIntRange) {
  const auto m = decode_as<command_execution_result_message>(
      R"({"message_type":"command_execution_result_message","results":[)"
      R"({"command":"a","exit_code":-2147483648},{"command":"b","exit_code":2147483647}]})");
  ASSERT_EQ(m.results.size(), 2u);
  EXPECT_EQ(m.results[0].exit_code, std::numeric_limits<int>::min());
  EXPECT_EQ(m.results[1].exit_code, std::numeric_limits<int>::max());
}

TEST(CodecDecode, UnknownFieldsAreIgnoredEverywhere) {
  const auto m = decode_as<command_execution_message>(
      R"({"future":{"x":[1,2]},"message_type":"command_execution_message","commands":[)"
      R"({"command":"ls","shell":"/bin/zsh","nice":5}],"pre_execution_downloadables":[)"
      R"({"download_url":"u","working_dir":"w","sha256":"00"}],"z":null})");
  ASSERT_EQ(m.commands.size(), 1u);
  EXPECT_EQ(m.commands[0].command, "ls");
  ASSERT_EQ(m.pre_execution_downloadables.size(), 1u);

  const auto r = decode_as<result_message>(
      R"({"message_type":"result_message","session_id":"s","data":{"type":"text","text":"t",)"
      R"("extra":1}})");
  EXPECT_EQ(r.data.text, "t");
}

TEST(CodecDecode, SecretsToRedactAbsentOrNullIsEmpty) {
  EXPECT_TRUE(decode_as<command_execution_message>(
                  R"({"message_type":"command_execution_message","commands":[]})")
                  .secrets_to_redact.empty());
  EXPECT_TRUE(decode_as<command_execution_message>(
                  R"({"message_type":"command_execution_message","commands":[],)"
                  R"("secrets_to_redact":null})")
                  .secrets_to_redact.empty());
}

TEST(CodecDecode, TimeoutZeroIsAccepted) {
  const auto m = decode_as<command_execution_message>(
      R"({"message_type":"command_execution_message","commands":[{"command":"x","timeout_s":0}]})");
  ASSERT_EQ(m.commands.size(), 1u);
  EXPECT_EQ(m.commands[0].timeout_s, 0.0);
}

// ---- artifacts_dir merge ----------------------------------------------------------------------

std::vector<std::string> dirs_of(std::string_view fields) {
  const std::string frame =
      R"({"message_type":"command_execution_message","commands":[])" + std::string(fields) + "}";
  return decode_as<command_execution_message>(frame).artifacts_dirs;
}

TEST(CodecArtifactsDirs, LegacySingleDirAlone) {
  EXPECT_EQ(dirs_of(R"(,"artifacts_dir":"/a")"), std::vector<std::string>{"/a"});
}

TEST(CodecArtifactsDirs, ListThenLegacyDir) {
  EXPECT_EQ(dirs_of(R"(,"artifacts_dir":"/c","artifacts_dirs":["/a","/b"])"),
            (std::vector<std::string>{"/a", "/b", "/c"}));
}

TEST(CodecArtifactsDirs, DuplicatesRemovedFirstSeenOrderKept) {
  EXPECT_EQ(dirs_of(R"(,"artifacts_dirs":["/b","/a","/b","/c","/a"],"artifacts_dir":"/a")"),
            (std::vector<std::string>{"/b", "/a", "/c"}));
}

TEST(CodecArtifactsDirs, NullAndEmptyMeanNone) {
  EXPECT_TRUE(dirs_of(R"(,"artifacts_dirs":null,"artifacts_dir":null)").empty());
  EXPECT_TRUE(dirs_of(R"(,"artifacts_dirs":[],"artifacts_dir":"")").empty());
  EXPECT_EQ(dirs_of(R"(,"artifacts_dirs":["","/x"])"), std::vector<std::string>{"/x"});
}

TEST(CodecArtifactsDirs, InvocationMergesToo) {
  const auto m = decode_as<invocation_message>(
      R"({"message_type":"invocation_message","system_prompt":"s","user_prompt":"u","model":"m",)"
      R"("artifacts_dirs":["/one"],"artifacts_dir":"/two"})");
  EXPECT_EQ(m.artifacts_dirs, (std::vector<std::string>{"/one", "/two"}));
}

TEST(CodecArtifactsDirs, EncodesAsTheListFormOnly) {
  command_execution_message m;
  m.artifacts_dirs = {"/a", "/b"};
  const std::string text = encode(m);
  EXPECT_NE(text.find(R"("artifacts_dirs":["/a","/b"])"), std::string::npos);
  EXPECT_EQ(text.find(R"("artifacts_dir")"), std::string::npos);
}

} // namespace
} // namespace agentrt::protocol

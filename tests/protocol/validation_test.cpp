// Decode validation: one test per rule, asserting the exact error text (it reaches the peer in
// an error_message, so its form is part of the interface) and the errc.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/errc.hpp"

namespace agentrt::protocol {
namespace {

void expect_failure(std::string_view frame, errc code, std::string_view error) {
  const decode_result r = decode(frame);
  EXPECT_FALSE(r.msg.has_value()) << frame;
  EXPECT_EQ(r.ec, make_error_code(code)) << "got " << r.ec.message() << " for " << frame;
  EXPECT_EQ(r.error, error) << frame;
}

const std::string exec_prefix = R"({"message_type":"command_execution_message",)";
const std::string invocation_prefix =
    R"({"message_type":"invocation_message","system_prompt":"s","user_prompt":"u","model":"m",)";

// ---- frame level ------------------------------------------------------------------------------

TEST(Validation, MalformedJsonReportsRapidjsonTextAndOffset) {
  expect_failure(R"({"message_type":)", errc::malformed_json,
                 "malformed JSON at offset 16: Invalid value.");
  expect_failure(R"({"message_type":"cancel_message",})", errc::malformed_json,
                 "malformed JSON at offset 33: Missing a name for object member.");
  expect_failure("", errc::malformed_json, "malformed JSON at offset 0: The document is empty.");
  expect_failure(R"({"message_type":"cancel_message"} x)", errc::malformed_json,
                 "malformed JSON at offset 34: The document root must not be followed by other "
                 "values.");
}

TEST(Validation, InvalidUtf8InAFrameIsMalformedJson) {
  expect_failure("{\"message_type\":\"cancel_message\",\"x\":\"\xFF\"}", errc::malformed_json,
                 "malformed JSON at offset 38: Invalid encoding in string.");
}

TEST(Validation, NotAnObject) {
  expect_failure("[1,2]", errc::not_an_object, "expected a JSON object, got array");
  expect_failure(R"("invocation_message")", errc::not_an_object,
                 "expected a JSON object, got string");
  expect_failure("null", errc::not_an_object, "expected a JSON object, got null");
  expect_failure("3", errc::not_an_object, "expected a JSON object, got number");
}

TEST(Validation, MessageTypeMissingNullOrNotAString) {
  expect_failure("{}", errc::missing_field, "message_type: required field is missing");
  expect_failure(R"({"message_type":null})", errc::missing_field,
                 "message_type: required field is missing");
  expect_failure(R"({"message_type":7})", errc::wrong_type,
                 "message_type: expected string, got number");
  expect_failure(R"({"message_type":["cancel_message"]})", errc::wrong_type,
                 "message_type: expected string, got array");
}

TEST(Validation, UnknownMessageType) {
  expect_failure(R"({"message_type":"foo"})", errc::unknown_message_type,
                 R"(unknown message_type "foo")");
  const decode_result r = decode(R"({"message_type":"foo"})");
  EXPECT_EQ(r.message_type, "foo");
}

TEST(Validation, MessageTypeIsReportedEvenWhenDecodingFails) {
  const decode_result r = decode(R"({"message_type":"invocation_message","model":1})");
  EXPECT_TRUE(r.ec);
  EXPECT_FALSE(r.msg);
  EXPECT_EQ(r.message_type, "invocation_message");
  EXPECT_EQ(decode("{oops").message_type, "");
  EXPECT_EQ(decode(R"({"message_type":1})").message_type, "");
}

// ---- required fields --------------------------------------------------------------------------

TEST(Validation, RequiredFieldMissing) {
  expect_failure(R"({"message_type":"invocation_message","system_prompt":"s","model":"m"})",
                 errc::missing_field, "user_prompt: required field is missing");
}

TEST(Validation, RequiredFieldNullIsMissing) {
  expect_failure(
      R"({"message_type":"invocation_message","system_prompt":"s","user_prompt":null,"model":"m"})",
      errc::missing_field, "user_prompt: required field is missing");
}

TEST(Validation, EveryRequiredFieldOfTheInvocation) {
  expect_failure(R"({"message_type":"invocation_message","user_prompt":"u","model":"m"})",
                 errc::missing_field, "system_prompt: required field is missing");
  expect_failure(R"({"message_type":"invocation_message","system_prompt":"s","user_prompt":"u"})",
                 errc::missing_field, "model: required field is missing");
}

TEST(Validation, CommandsAreRequiredForCommandExecution) {
  expect_failure(R"({"message_type":"command_execution_message"})", errc::missing_field,
                 "commands: required field is missing");
  expect_failure(exec_prefix + R"("commands":null})", errc::missing_field,
                 "commands: required field is missing");
}

TEST(Validation, CommandNeedsItsCommand) {
  expect_failure(exec_prefix + R"("commands":[{"command":"ok"},{"cwd":"/"}]})", errc::missing_field,
                 "commands[1].command: required field is missing");
}

TEST(Validation, DownloadableNeedsUrlAndWorkingDir) {
  expect_failure(invocation_prefix + R"("pre_agent_downloadables":[{"download_url":"u"}]})",
                 errc::missing_field,
                 "pre_agent_downloadables[0].working_dir: required field is missing");
  expect_failure(exec_prefix +
                     R"("commands":[],"pre_execution_downloadables":[{"working_dir":"w"}]})",
                 errc::missing_field,
                 "pre_execution_downloadables[0].download_url: required field is missing");
}

TEST(Validation, ArtifactUploadResponseFieldsAreRequired) {
  const std::string p = R"({"message_type":"artifact_upload_response_message",)";
  expect_failure(p + R"("filepath":"/f","presigned_url":"u","content_type":"c"})",
                 errc::missing_field, "filename: required field is missing");
  expect_failure(p + R"("filename":"f","presigned_url":"u","content_type":"c"})",
                 errc::missing_field, "filepath: required field is missing");
  expect_failure(p + R"("filename":"f","filepath":"/f","content_type":"c"})", errc::missing_field,
                 "presigned_url: required field is missing");
  expect_failure(p + R"("filename":"f","filepath":"/f","presigned_url":"u"})", errc::missing_field,
                 "content_type: required field is missing");
}

TEST(Validation, ResultMessageNeedsDataWithAKnownType) {
  const std::string p = R"({"message_type":"result_message",)";
  expect_failure(R"({"message_type":"result_message"})", errc::missing_field,
                 "data: required field is missing");
  expect_failure(p + R"("data":"hello"})", errc::wrong_type, "data: expected object, got string");
  expect_failure(p + R"("data":{"text":"t"}})", errc::missing_field,
                 "data.type: required field is missing");
  expect_failure(p + R"("data":{"type":1}})", errc::wrong_type,
                 "data.type: expected string, got number");
  expect_failure(p + R"("data":{"type":"html","html":"<p>"}})", errc::invalid_value,
                 R"(data.type: expected "text" or "structured_output", got "html")");
  expect_failure(p + R"("data":{"type":"text"}})", errc::missing_field,
                 "data.text: required field is missing");
  expect_failure(p + R"("data":{"type":"structured_output"}})", errc::missing_field,
                 "data.structured_output: required field is missing");
  expect_failure(p + R"("data":{"type":"structured_output","structured_output":[1]}})",
                 errc::wrong_type, "data.structured_output: expected object, got array");
  expect_failure(p + R"("data":{"type":"text","text":"t"},"metadata":"m"})", errc::wrong_type,
                 "metadata: expected object, got string");
}

TEST(Validation, ErrorMessageFields) {
  expect_failure(R"({"message_type":"error_message","metadata":{}})", errc::missing_field,
                 "error: required field is missing");
  expect_failure(R"({"message_type":"error_message","error":"e","metadata":[]})", errc::wrong_type,
                 "metadata: expected object, got array");
  const decode_result r = decode(R"({"message_type":"error_message","error":"e"})");
  ASSERT_TRUE(r.msg);
  EXPECT_EQ(std::get<error_message>(*r.msg).metadata.json, "{}");
}

TEST(Validation, AssistantMessageFields) {
  expect_failure(R"({"message_type":"assistant_message"})", errc::missing_field,
                 "text_blocks: required field is missing");
  expect_failure(R"({"message_type":"assistant_message","text_blocks":["a",null]})",
                 errc::wrong_type, "text_blocks[1]: expected string, got null");
  expect_failure(R"({"message_type":"assistant_message","text_blocks":"a"})", errc::wrong_type,
                 "text_blocks: expected array, got string");
}

TEST(Validation, CommandOutputMessageFields) {
  const std::string p = R"({"message_type":"command_output_message",)";
  expect_failure(p + R"("text":"t","command":"c"})", errc::missing_field,
                 "stream: required field is missing");
  expect_failure(p + R"("stream":"stdin","text":"t","command":"c"})", errc::invalid_value,
                 R"(stream: expected "stdout" or "stderr", got "stdin")");
  expect_failure(p + R"("stream":"stdout","command":"c"})", errc::missing_field,
                 "text: required field is missing");
  expect_failure(p + R"("stream":"stdout","text":"t"})", errc::missing_field,
                 "command: required field is missing");
}

TEST(Validation, HeartbeatMessageFields) {
  const std::string p = R"({"message_type":"heartbeat_message",)";
  expect_failure(p + R"("elapsed_ms":1})", errc::missing_field, "phase: required field is missing");
  expect_failure(p + R"("phase":"p","elapsed_ms":"1"})", errc::wrong_type,
                 "elapsed_ms: expected number, got string");
  expect_failure(p + R"("phase":"p","elapsed_ms":-5})", errc::invalid_value,
                 "elapsed_ms: must be >= 0, got -5");
  expect_failure(p + R"("phase":"p","elapsed_ms":1e300})", errc::invalid_value,
                 "elapsed_ms: out of range, got 1e300");
}

TEST(Validation, ArtifactUploadRequestFields) {
  expect_failure(R"({"message_type":"artifact_upload_request_message","filename":"f"})",
                 errc::missing_field, "filepath: required field is missing");
  expect_failure(R"({"message_type":"artifact_upload_request_message","filepath":"/f"})",
                 errc::missing_field, "filename: required field is missing");
}

TEST(Validation, CommandExecutionResultFields) {
  const std::string p = R"({"message_type":"command_execution_result_message",)";
  expect_failure(R"({"message_type":"command_execution_result_message"})", errc::missing_field,
                 "results: required field is missing");
  expect_failure(p + R"("results":{}})", errc::wrong_type, "results: expected array, got object");
  expect_failure(p + R"("results":[7]})", errc::wrong_type,
                 "results[0]: expected object, got number");
  expect_failure(p + R"("results":[{"exit_code":0}]})", errc::missing_field,
                 "results[0].command: required field is missing");
  expect_failure(p + R"("results":[{"command":"a","exit_code":0},{"command":"b"}]})",
                 errc::missing_field, "results[1].exit_code: required field is missing");
  expect_failure(p + R"("results":[{"command":"a","exit_code":0,"stdout":5}]})", errc::wrong_type,
                 "results[0].stdout: expected string, got number");
  expect_failure(p + R"("results":[{"command":"a","exit_code":0,"stdout_truncated":"yes"}]})",
                 errc::wrong_type, "results[0].stdout_truncated: expected boolean, got string");
}

TEST(Validation, ExitCodeMustBeAnInteger) {
  const std::string p = R"({"message_type":"command_execution_result_message","results":[)";
  expect_failure(p + R"({"command":"a","exit_code":1.5}]})", errc::wrong_type,
                 "results[0].exit_code: expected integer, got number");
  expect_failure(p + R"({"command":"a","exit_code":"0"}]})", errc::wrong_type,
                 "results[0].exit_code: expected integer, got string");
  expect_failure(p + R"({"command":"a","exit_code":true}]})", errc::wrong_type,
                 "results[0].exit_code: expected integer, got boolean");
  expect_failure(p + R"({"command":"a","exit_code":4294967296}]})", errc::invalid_value,
                 "results[0].exit_code: out of range, got 4294967296");
  expect_failure(p + R"({"command":"a","exit_code":-2147483649}]})", errc::invalid_value,
                 "results[0].exit_code: out of range, got -2147483649");
}

TEST(Validation, AgentEventMessageFields) {
  expect_failure(R"({"message_type":"agent_event_message","data":{}})", errc::missing_field,
                 "event: required field is missing");
  expect_failure(R"({"message_type":"agent_event_message","event":"usage","data":"x"})",
                 errc::wrong_type, "data: expected object, got string");
  const decode_result r = decode(R"({"message_type":"agent_event_message","event":"usage"})");
  ASSERT_TRUE(r.msg);
  EXPECT_EQ(std::get<agent_event_message>(*r.msg).data.json, "{}");
}

TEST(Validation, ArtifactUploadResultMessageFields) {
  const std::string p = R"({"message_type":"artifact_upload_result_message",)";
  expect_failure(p + R"("ok":true})", errc::missing_field, "filepath: required field is missing");
  expect_failure(p + R"("filepath":"/f"})", errc::missing_field, "ok: required field is missing");
  expect_failure(p + R"("filepath":"/f","ok":1})", errc::wrong_type,
                 "ok: expected boolean, got number");
  expect_failure(p + R"("filepath":"/f","ok":false,"http_status":403.5})", errc::wrong_type,
                 "http_status: expected integer, got number");
  expect_failure(p + R"("filepath":"/f","ok":false,"error":{}})", errc::wrong_type,
                 "error: expected string, got object");
}

// ---- wrong types ------------------------------------------------------------------------------

TEST(Validation, WrongTypeNamesTheNestedPath) {
  expect_failure(exec_prefix + R"("commands":[{"command":"a"},{"command":"b","cwd":3}]})",
                 errc::wrong_type, "commands[1].cwd: expected string, got number");
}

TEST(Validation, WrongTypeUsesJsonTypeNames) {
  expect_failure(invocation_prefix + R"("source_id":true})", errc::wrong_type,
                 "source_id: expected string, got boolean");
  expect_failure(invocation_prefix + R"("source_id":{}})", errc::wrong_type,
                 "source_id: expected string, got object");
  expect_failure(invocation_prefix + R"("source_id":[]})", errc::wrong_type,
                 "source_id: expected string, got array");
  expect_failure(invocation_prefix + R"("source_id":1.5})", errc::wrong_type,
                 "source_id: expected string, got number");
}

TEST(Validation, TopLevelStringFieldOfWrongType) {
  expect_failure(
      R"({"message_type":"invocation_message","system_prompt":"s","user_prompt":5,"model":"m"})",
      errc::wrong_type, "user_prompt: expected string, got number");
}

TEST(Validation, CommandsMustBeAnArrayOfObjects) {
  expect_failure(exec_prefix + R"("commands":"ls"})", errc::wrong_type,
                 "commands: expected array, got string");
  expect_failure(exec_prefix + R"("commands":["ls"]})", errc::wrong_type,
                 "commands[0]: expected object, got string");
  expect_failure(invocation_prefix + R"("post_agent_invocation_commands":[{"command":1}]})",
                 errc::wrong_type,
                 "post_agent_invocation_commands[0].command: expected string, got number");
}

TEST(Validation, MapValuesMustBeStrings) {
  expect_failure(invocation_prefix + R"("agent_env":{"OK":"1","FOO":2}})", errc::wrong_type,
                 "agent_env.FOO: expected string, got number");
  expect_failure(invocation_prefix + R"("agent_env":{"FOO":null}})", errc::wrong_type,
                 "agent_env.FOO: expected string, got null");
  expect_failure(exec_prefix + R"("commands":[{"command":"a","env":{"X":true}}]})",
                 errc::wrong_type, "commands[0].env.X: expected string, got boolean");
}

TEST(Validation, MapsMustBeObjects) {
  expect_failure(invocation_prefix + R"("agent_env":["FOO=1"]})", errc::wrong_type,
                 "agent_env: expected object, got array");
}

TEST(Validation, StringListsHoldStrings) {
  expect_failure(exec_prefix + R"("commands":[],"secrets_to_redact":["a",1]})", errc::wrong_type,
                 "secrets_to_redact[1]: expected string, got number");
  expect_failure(exec_prefix + R"("commands":[],"secrets_to_redact":"a"})", errc::wrong_type,
                 "secrets_to_redact: expected array, got string");
  expect_failure(invocation_prefix + R"("client_capabilities":[{}]})", errc::wrong_type,
                 "client_capabilities[0]: expected string, got object");
}

TEST(Validation, ArtifactsDirFormsAreTyped) {
  expect_failure(exec_prefix + R"("commands":[],"artifacts_dir":["/a"]})", errc::wrong_type,
                 "artifacts_dir: expected string, got array");
  expect_failure(exec_prefix + R"("commands":[],"artifacts_dirs":"/a"})", errc::wrong_type,
                 "artifacts_dirs: expected array, got string");
  expect_failure(exec_prefix + R"("commands":[],"artifacts_dirs":["/a",2]})", errc::wrong_type,
                 "artifacts_dirs[1]: expected string, got number");
}

TEST(Validation, DownloadableExtractIsABoolean) {
  expect_failure(
      invocation_prefix +
          R"("pre_agent_downloadables":[{"download_url":"u","working_dir":"w","extract":"no"}]})",
      errc::wrong_type, "pre_agent_downloadables[0].extract: expected boolean, got string");
}

TEST(Validation, TimeoutMustBeANonNegativeNumber) {
  expect_failure(exec_prefix + R"("commands":[{"command":"a","timeout_s":-1}]})",
                 errc::invalid_value, "commands[0].timeout_s: must be >= 0, got -1");
  expect_failure(exec_prefix + R"("commands":[{"command":"a","timeout_s":-0.5}]})",
                 errc::invalid_value, "commands[0].timeout_s: must be >= 0, got -0.5");
  expect_failure(exec_prefix + R"("commands":[{"command":"a","timeout_s":"10"}]})",
                 errc::wrong_type, "commands[0].timeout_s: expected number, got string");
}

TEST(Validation, StdinExtensionIsAString) {
  expect_failure(exec_prefix + R"("commands":[{"command":"a","stdin":["x"]}]})", errc::wrong_type,
                 "commands[0].stdin: expected string, got array");
}

TEST(Validation, FirstProblemInFieldOrderIsReported) {
  // Both user_prompt and model are wrong; the field order of docs/protocol.md decides.
  expect_failure(R"({"message_type":"invocation_message","model":1,"system_prompt":"s"})",
                 errc::missing_field, "user_prompt: required field is missing");
}

// ---- error category ---------------------------------------------------------------------------

TEST(ErrcCategory, NameAndMessages) {
  EXPECT_STREQ(error_category().name(), "agentrt");
  std::set<std::string> texts;
  for (int v = static_cast<int>(errc::malformed_json); v <= static_cast<int>(errc::not_supported);
       ++v) {
    const std::error_code ec = make_error_code(static_cast<errc>(v));
    EXPECT_EQ(&ec.category(), &error_category());
    EXPECT_FALSE(ec.message().empty());
    EXPECT_EQ(ec.message().rfind("unknown agentrt error", 0), std::string::npos) << ec.message();
    texts.insert(ec.message());
  }
  EXPECT_EQ(texts.size(), 12u); // one distinct message per value
  EXPECT_EQ(make_error_code(errc::cancelled).message(), "Request cancelled");
  EXPECT_EQ(make_error_code(errc::busy).message(), "another request is in flight");
}

TEST(ErrcCategory, ConvertsImplicitlyAndCompares) {
  const std::error_code ec = errc::wrong_type;
  EXPECT_EQ(ec, errc::wrong_type);
  EXPECT_NE(ec, errc::missing_field);
  EXPECT_TRUE(ec);
  EXPECT_NE(ec, std::make_error_code(std::errc::invalid_argument));
}

} // namespace
} // namespace agentrt::protocol

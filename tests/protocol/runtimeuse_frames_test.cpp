// Frames captured from the real runtimeuse peers (data/runtimeuse/README.md says how): the
// codec must decode every one of them, as the type its message_type names, and what it
// re-encodes must decode to the same thing again.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/messages.hpp"

namespace agentrt::protocol {
namespace {

struct captured {
  std::string scenario;
  std::string frame;
};

// data/runtimeuse/<name>: JSON Lines of {"scenario"?: string, "frame": string (the raw frame)}.
std::vector<captured> load(const std::string& name) {
  std::ifstream in(std::string(AGENTRT_PROTOCOL_DATA_DIR) + "/runtimeuse/" + name);
  EXPECT_TRUE(in.good()) << "missing test data " << name;
  std::vector<captured> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty())
      continue;
    rapidjson::Document d;
    d.Parse(line.data(), line.size());
    EXPECT_FALSE(d.HasParseError()) << line;
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("frame") || !d["frame"].IsString())
      continue;
    captured c;
    if (d.HasMember("scenario") && d["scenario"].IsString())
      c.scenario = d["scenario"].GetString();
    c.frame.assign(d["frame"].GetString(), d["frame"].GetStringLength());
    out.push_back(std::move(c));
  }
  return out;
}

std::string frame_type(const std::string& frame) {
  rapidjson::Document d;
  d.Parse(frame.data(), frame.size());
  return d.IsObject() && d.HasMember("message_type") && d["message_type"].IsString()
             ? d["message_type"].GetString()
             : "";
}

// Every captured frame decodes as its own type and survives an encode/decode round trip.
void expect_all_decode(const std::vector<captured>& frames, std::map<std::string, int>& types) {
  for (const auto& c : frames) {
    const decode_result r = decode(c.frame);
    ASSERT_FALSE(r.ec) << c.scenario << ": " << r.error << "\nframe: " << c.frame;
    ASSERT_TRUE(r.msg);
    EXPECT_EQ(message_type_name(*r.msg), frame_type(c.frame)) << c.frame;
    const std::string again = encode(*r.msg);
    const decode_result r2 = decode(again);
    ASSERT_FALSE(r2.ec) << r2.error << "\nre-encoded: " << again;
    EXPECT_EQ(encode(*r2.msg), again);
    ++types[message_type_name(*r.msg)];
  }
}

template <class T>
std::vector<T> of_type(const std::vector<captured>& frames, const std::string& scenario) {
  std::vector<T> out;
  for (const auto& c : frames) {
    if (c.scenario != scenario)
      continue;
    auto r = decode(c.frame);
    if (r.msg && std::holds_alternative<T>(*r.msg))
      out.push_back(std::get<T>(*r.msg));
  }
  return out;
}

// Every frame of the file decodes, and each of the expected types was captured at least once.
void expect_file_decodes(const std::string& name, const std::vector<std::string>& expected) {
  const auto frames = load(name);
  ASSERT_GE(frames.size(), expected.size());
  std::map<std::string, int> types;
  expect_all_decode(frames, types);
  for (const auto& t : expected)
    EXPECT_GT(types[t], 0) << "no captured " << t << " in " << name;
}

TEST(RuntimeuseFrames, EveryFrameFromTheTypeScriptRuntimeDecodes) {
  expect_file_decodes("runtime_to_client.jsonl",
                      {"result_message", "assistant_message", "error_message",
                       "command_output_message", "command_execution_result_message",
                       "artifact_upload_request_message", "heartbeat_message",
                       "end_session_confirm_message"});
}

TEST(RuntimeuseFrames, TypeScriptRuntimeShapesDecodeToTheirValues) {
  const auto frames = load("runtime_to_client.jsonl");
  const auto structured = of_type<result_message>(frames, "structured");
  ASSERT_EQ(structured.size(), 1u);
  EXPECT_EQ(structured[0].data.type, result_data::kind::structured_output);
  EXPECT_EQ(structured[0].data.structured_output.json, R"({"answer":42,"nested":{"key":"value"}})");

  // A handler error: the handler's error_message, then the request's terminal error_message.
  const auto errors = of_type<error_message>(frames, "handler_error");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].error, "something broke");
  EXPECT_EQ(errors[0].metadata.json, R"({"source":"echo_handler"})");
  EXPECT_EQ(errors[1].error, "something broke");

  const auto failed = of_type<command_execution_result_message>(frames, "command_fails");
  ASSERT_EQ(failed.size(), 1u);
  ASSERT_EQ(failed[0].results.size(), 2u);
  EXPECT_EQ(failed[0].results[1].exit_code, 7);
  EXPECT_EQ(failed[0].results[1].stdout_text.value_or("<absent>"), "");

  const auto beats = of_type<heartbeat_message>(frames, "heartbeat");
  ASSERT_EQ(beats.size(), 1u);
  EXPECT_EQ(beats[0].phase, "request_in_flight");
  EXPECT_GT(beats[0].elapsed_ms, 0);

  const auto cancelled = of_type<error_message>(frames, "cancel");
  ASSERT_EQ(cancelled.size(), 1u);
  EXPECT_EQ(cancelled[0].error, "Request cancelled");
}

TEST(RuntimeuseFrames, EveryFrameFromThePythonClientDecodes) {
  expect_file_decodes("client_to_runtime.jsonl",
                      {"invocation_message", "command_execution_message", "cancel_message",
                       "artifact_upload_response_message", "end_session_message"});
}

TEST(RuntimeuseFrames, PythonClientNullsMeanNotProvided) {
  std::vector<invocation_message> invocations;
  std::vector<command_execution_message> executions;
  for (const auto& c : load("client_to_runtime.jsonl")) {
    auto r = decode(c.frame);
    ASSERT_TRUE(r.msg) << r.error;
    if (auto* i = std::get_if<invocation_message>(&*r.msg))
      invocations.push_back(*i);
    if (auto* e = std::get_if<command_execution_message>(&*r.msg))
      executions.push_back(*e);
  }
  ASSERT_EQ(invocations.size(), 2u);
  const auto& full = invocations[0];
  EXPECT_EQ(full.source_id.value_or(""), "src-1");
  EXPECT_EQ(full.artifacts_dirs, std::vector<std::string>{"/w/out"});
  EXPECT_FALSE(full.artifacts_ignore_content) << "null is not an empty ignore list";
  ASSERT_EQ(full.pre_agent_invocation_commands.size(), 1u);
  EXPECT_EQ(full.pre_agent_invocation_commands[0].cwd.value_or(""), "/w");
  ASSERT_EQ(full.post_agent_invocation_commands.size(), 1u);
  EXPECT_FALSE(full.post_agent_invocation_commands[0].cwd);
  EXPECT_FALSE(full.post_agent_invocation_commands[0].env);
  ASSERT_EQ(full.pre_agent_downloadables.size(), 1u);
  EXPECT_EQ(full.pre_agent_downloadables[0].working_dir, "/w/dl");

  const auto& minimal = invocations[1];
  EXPECT_FALSE(minimal.source_id);
  EXPECT_FALSE(minimal.output_format_json_schema_str);
  EXPECT_FALSE(minimal.agent_env);
  EXPECT_TRUE(minimal.artifacts_dirs.empty());
  EXPECT_TRUE(minimal.pre_agent_downloadables.empty());

  ASSERT_EQ(executions.size(), 1u);
  EXPECT_TRUE(executions[0].artifacts_dirs.empty());
  EXPECT_TRUE(executions[0].pre_execution_downloadables.empty());
  ASSERT_EQ(executions[0].commands.size(), 1u);
  EXPECT_FALSE(executions[0].commands[0].cwd);
}

} // namespace
} // namespace agentrt::protocol

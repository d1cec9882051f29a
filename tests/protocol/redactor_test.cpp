// One-shot redaction rules (leftmost-first, longest at a position, non-overlapping) and
// redact_message's coverage of every string a message carries.
#include <gtest/gtest.h>

#include <string>

#include <rapidjson/document.h>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/redactor.hpp"

namespace agentrt::protocol {
namespace {

std::string redact(std::vector<std::string> secrets, std::string_view text) {
  return redactor(std::move(secrets)).redact(text);
}

TEST(Redactor, ReplacesEveryOccurrence) {
  EXPECT_EQ(redact({"hunter2"}, "pw=hunter2; again hunter2!"), "pw=[REDACTED]; again [REDACTED]!");
}

TEST(Redactor, WithoutSecretsTextIsUnchanged) {
  const redactor r;
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.max_secret_length(), 0u);
  EXPECT_EQ(r.redact("anything at all"), "anything at all");
  EXPECT_EQ(r.redact(""), "");
}

TEST(Redactor, EmptySecretsAreIgnored) {
  const redactor r({"", "x", ""});
  EXPECT_EQ(r.secrets(), std::vector<std::string>{"x"});
  EXPECT_EQ(r.redact("axb"), "a[REDACTED]b");
  EXPECT_TRUE(redactor({""}).empty());
  EXPECT_EQ(redactor({""}).redact("abc"), "abc");
}

TEST(Redactor, DuplicatesAreRemovedAndLongestSortedFirst) {
  const redactor r({"ab", "abcd", "ab", "x", "abcd"});
  EXPECT_EQ(r.secrets(), (std::vector<std::string>{"abcd", "ab", "x"}));
  EXPECT_EQ(r.max_secret_length(), 4u);
}

TEST(Redactor, OverlappingSecretsLeftmostWins) {
  // "abc" starts first, so "bcd" (which overlaps it) is not matched.
  EXPECT_EQ(redact({"abc", "bcd"}, "abcd"), "[REDACTED]d");
  EXPECT_EQ(redact({"bcd", "abc"}, "abcd"), "[REDACTED]d");
  EXPECT_EQ(redact({"abc", "bcd"}, "xbcd"), "x[REDACTED]");
}

TEST(Redactor, LongestSecretWinsAtAPosition) {
  EXPECT_EQ(redact({"ab", "abc"}, "abcd"), "[REDACTED]d");
  EXPECT_EQ(redact({"abc", "ab"}, "abd"), "[REDACTED]d");
  EXPECT_EQ(redact({"ab", "abc"}, "ababc"), "[REDACTED][REDACTED]");
}

TEST(Redactor, MatchesDoNotOverlap) {
  EXPECT_EQ(redact({"aa"}, "aaaa"), "[REDACTED][REDACTED]");
  EXPECT_EQ(redact({"aa"}, "aaa"), "[REDACTED]a");
  EXPECT_EQ(redact({"aba"}, "ababa"), "[REDACTED]ba");
}

TEST(Redactor, SecretEqualToTheWholeInput) {
  EXPECT_EQ(redact({"s3cr3t"}, "s3cr3t"), "[REDACTED]");
  EXPECT_EQ(redact({"s3cr3t"}, "s3cr3"), "s3cr3");
}

TEST(Redactor, Utf8Secrets) {
  EXPECT_EQ(redact({"p\xC3\xA4sswort"}, "key=p\xC3\xA4sswort."), "key=[REDACTED].");
  EXPECT_EQ(redact({"\xE5\xAF\x86\xE7\xA0\x81"}, "\xE5\xAF\x86\xE7\xA0\x81\xE5\xAF\x86"),
            "[REDACTED]\xE5\xAF\x86");
  EXPECT_EQ(redact({"\xF0\x9F\x94\x91"}, "a\xF0\x9F\x94\x91"
                                         "b"),
            "a[REDACTED]b");
}

TEST(Redactor, BinaryBytesAndNul) {
  const std::string secret("\0\xFF\x01", 3);
  const std::string text = std::string("x") + secret + "y";
  EXPECT_EQ(redact({secret}, text), "x[REDACTED]y");
}

TEST(Redactor, MatchAtReportsTheLongestMatchAndNeverRunsPastTheEnd) {
  const redactor r({"ab", "abc"});
  EXPECT_EQ(r.match_at("xabc", 1), 3u);
  EXPECT_EQ(r.match_at("xabd", 1), 2u);
  EXPECT_EQ(r.match_at("xab", 1), 2u);
  EXPECT_EQ(r.match_at("xa", 1), 0u);
  EXPECT_EQ(r.match_at("xabc", 0), 0u);
  EXPECT_EQ(r.match_at("abc", 3), 0u);
  EXPECT_EQ(r.match_at("abc", 99), 0u);
}

// Why redact_message skips streamed output: redacting twice is not idempotent when a secret is
// part of the marker itself.
TEST(Redactor, RedactingTwiceIsNotIdempotentWhenASecretIsInTheMarker) {
  const redactor r({"RED"});
  const std::string once = r.redact("xREDy");
  EXPECT_EQ(once, "x[REDACTED]y");
  EXPECT_EQ(r.redact(once), "x[[REDACTED]ACTED]y");
}

// ---- redact_message ---------------------------------------------------------------------------

const redactor& secrets() {
  static const redactor r({"SEKRIT", "tok\"en", "p\xC3\xA4ss"});
  return r;
}

bool has_secret(std::string_view s) {
  return s.find("SEKRIT") != std::string_view::npos ||
         s.find("tok\"en") != std::string_view::npos ||
         s.find("p\xC3\xA4ss") != std::string_view::npos;
}

template <class T> T redacted(T m) {
  message wrapped = std::move(m);
  redact_message(wrapped, secrets());
  return std::get<T>(std::move(wrapped));
}

command secret_command() {
  return command{"curl -H 'Auth: SEKRIT'", "/home/SEKRIT", string_map{{"TOKEN", "SEKRIT"}}, 5.0,
                 "SEKRIT\n"};
}

void expect_command_redacted(const command& c) {
  EXPECT_EQ(c.command, "curl -H 'Auth: [REDACTED]'");
  EXPECT_EQ(c.cwd, "/home/[REDACTED]");
  EXPECT_EQ(c.env, (string_map{{"TOKEN", "[REDACTED]"}}));
  EXPECT_EQ(c.timeout_s, 5.0);
  EXPECT_EQ(c.stdin_data, "[REDACTED]\n");
}

TEST(RedactMessage, InvocationMessageEveryField) {
  invocation_message m;
  m.source_id = "SEKRIT-1";
  m.system_prompt = "sys SEKRIT";
  m.user_prompt = "use tok\"en";
  m.model = "SEKRIT";
  m.output_format_json_schema_str = "{\"k\":\"SEKRIT\"}";
  m.agent_env = string_map{{"SEKRIT_NAME", "SEKRIT"}};
  m.secrets_to_redact = {"SEKRIT"};
  m.artifacts_dirs = {"/SEKRIT"};
  m.artifacts_ignore_content = "SEKRIT/";
  m.pre_agent_downloadables = {{"https://h/SEKRIT.zip", "/w/SEKRIT", {}}};
  m.pre_agent_invocation_commands = {secret_command()};
  m.post_agent_invocation_commands = {secret_command()};
  m.client_capabilities = {"SEKRIT"};
  m.resume_session_id = "SEKRIT";
  const auto r = redacted(m);
  EXPECT_EQ(r.source_id, "[REDACTED]-1");
  EXPECT_EQ(r.system_prompt, "sys [REDACTED]");
  EXPECT_EQ(r.user_prompt, "use [REDACTED]");
  EXPECT_EQ(r.model, "[REDACTED]");
  EXPECT_EQ(r.output_format_json_schema_str, "{\"k\":\"[REDACTED]\"}");
  // Map keys are names, not values: only values are redacted.
  EXPECT_EQ(r.agent_env, (string_map{{"SEKRIT_NAME", "[REDACTED]"}}));
  EXPECT_EQ(r.secrets_to_redact, std::vector<std::string>{"[REDACTED]"});
  EXPECT_EQ(r.artifacts_dirs, std::vector<std::string>{"/[REDACTED]"});
  EXPECT_EQ(r.artifacts_ignore_content, "[REDACTED]/");
  EXPECT_EQ(r.pre_agent_downloadables[0].download_url, "https://h/[REDACTED].zip");
  EXPECT_EQ(r.pre_agent_downloadables[0].working_dir, "/w/[REDACTED]");
  expect_command_redacted(r.pre_agent_invocation_commands[0]);
  expect_command_redacted(r.post_agent_invocation_commands[0]);
  EXPECT_EQ(r.client_capabilities, std::vector<std::string>{"[REDACTED]"});
  EXPECT_EQ(r.resume_session_id, "[REDACTED]");
}

TEST(RedactMessage, CommandExecutionMessageEveryField) {
  command_execution_message m;
  m.source_id = "SEKRIT";
  m.secrets_to_redact = {"SEKRIT", "tok\"en"};
  m.artifacts_dirs = {"/a/SEKRIT"};
  m.artifacts_ignore_content = "*SEKRIT*";
  m.commands = {secret_command()};
  m.pre_execution_downloadables = {{"SEKRIT", "SEKRIT", true}};
  m.client_capabilities = {"x-SEKRIT"};
  const auto r = redacted(m);
  EXPECT_EQ(r.source_id, "[REDACTED]");
  EXPECT_EQ(r.secrets_to_redact, (std::vector<std::string>{"[REDACTED]", "[REDACTED]"}));
  EXPECT_EQ(r.artifacts_dirs, std::vector<std::string>{"/a/[REDACTED]"});
  EXPECT_EQ(r.artifacts_ignore_content, "*[REDACTED]*");
  expect_command_redacted(r.commands[0]);
  EXPECT_EQ(r.pre_execution_downloadables[0].download_url, "[REDACTED]");
  EXPECT_EQ(r.pre_execution_downloadables[0].working_dir, "[REDACTED]");
  EXPECT_EQ(r.pre_execution_downloadables[0].extract, true);
  EXPECT_EQ(r.client_capabilities, std::vector<std::string>{"x-[REDACTED]"});
}

TEST(RedactMessage, ArtifactMessages) {
  const auto resp = redacted(artifact_upload_response_message{
      "SEKRIT.txt", "/o/SEKRIT.txt", "https://s3/?sig=SEKRIT", "text/SEKRIT"});
  EXPECT_EQ(resp.filename, "[REDACTED].txt");
  EXPECT_EQ(resp.filepath, "/o/[REDACTED].txt");
  EXPECT_EQ(resp.presigned_url, "https://s3/?sig=[REDACTED]");
  EXPECT_EQ(resp.content_type, "text/[REDACTED]");

  const auto req = redacted(artifact_upload_request_message{"SEKRIT", "/d/SEKRIT"});
  EXPECT_EQ(req.filename, "[REDACTED]");
  EXPECT_EQ(req.filepath, "/d/[REDACTED]");

  const auto res = redacted(artifact_upload_result_message{"/SEKRIT", false, 403, "denied SEKRIT"});
  EXPECT_EQ(res.filepath, "/[REDACTED]");
  EXPECT_EQ(res.error, "denied [REDACTED]");
  EXPECT_EQ(res.http_status, 403);
}

TEST(RedactMessage, ResultTextAndMetadata) {
  result_message m;
  m.data.text = "the key is SEKRIT";
  m.metadata.json = R"({"session":"SEKRIT","usage":{"in":1}})";
  const auto r = redacted(m);
  EXPECT_EQ(r.data.text, "the key is [REDACTED]");
  EXPECT_EQ(r.metadata.json, R"({"session":"[REDACTED]","usage":{"in":1}})");
}

TEST(RedactMessage, NestedJsonTextValuesButNotKeys) {
  result_message m;
  m.data.type = result_data::kind::structured_output;
  m.data.structured_output.json =
      R"({"SEKRIT":"SEKRIT","list":[1,"a SEKRIT b",{"deep":["SEKRITSEKRIT",null,true]}],)"
      R"("n":2.5,"quote":"tok\"en","uni":"p\u00e4ss"})";
  const auto r = redacted(m);
  rapidjson::Document got;
  got.Parse(r.data.structured_output.json.c_str());
  ASSERT_FALSE(got.HasParseError()) << r.data.structured_output.json;
  rapidjson::Document want;
  want.Parse(R"({"SEKRIT":"[REDACTED]","list":[1,"a [REDACTED] b",)"
             R"({"deep":["[REDACTED][REDACTED]",null,true]}],"n":2.5,"quote":"[REDACTED]",)"
             R"("uni":"[REDACTED]"})");
  ASSERT_FALSE(want.HasParseError());
  EXPECT_TRUE(got == want) << r.data.structured_output.json;
}

TEST(RedactMessage, JsonTextWithoutSecretsKeepsItsExactText) {
  error_message m{"plain", {"{ \"a\" : [1, 2] }"}};
  const auto r = redacted(m);
  EXPECT_EQ(r.error, "plain");
  EXPECT_EQ(r.metadata.json, "{ \"a\" : [1, 2] }");
}

TEST(RedactMessage, InvalidJsonTextIsRedactedAsText) {
  error_message m{"e", {"not json SEKRIT"}};
  EXPECT_EQ(redacted(m).metadata.json, "not json [REDACTED]");
}

TEST(RedactMessage, ErrorAndAssistantAndAgentEvent) {
  const auto e = redacted(error_message{"failed with SEKRIT", {R"({"stderr":"SEKRIT\n"})"}});
  EXPECT_EQ(e.error, "failed with [REDACTED]");
  EXPECT_EQ(e.metadata.json, R"({"stderr":"[REDACTED]\n"})");

  const auto a = redacted(assistant_message{{"one SEKRIT", "two", "p\xC3\xA4ss"}});
  EXPECT_EQ(a.text_blocks, (std::vector<std::string>{"one [REDACTED]", "two", "[REDACTED]"}));

  const auto ev =
      redacted(agent_event_message{"tool_use", {R"({"input":{"command":"echo SEKRIT"}})"}});
  EXPECT_EQ(ev.event, "tool_use");
  EXPECT_EQ(ev.data.json, R"({"input":{"command":"echo [REDACTED]"}})");
}

TEST(RedactMessage, StreamedOutputFieldsAreLeftToStreamRedactor) {
  const auto out = redacted(command_output_message{"stdout", "SEKRIT\n", "echo SEKRIT"});
  EXPECT_EQ(out.text, "SEKRIT\n");
  EXPECT_EQ(out.command, "echo [REDACTED]");
  EXPECT_EQ(out.stream, "stdout");

  const auto res =
      redacted(command_execution_result_message{{{"echo SEKRIT", 0, "SEKRIT\n", false}}});
  EXPECT_EQ(res.results[0].command, "echo [REDACTED]");
  EXPECT_EQ(res.results[0].stdout_text, "SEKRIT\n");
}

TEST(RedactMessage, ProtocolVocabularyIsLeftAlone) {
  const redactor r({"std", "request", "tool"});
  message out = command_output_message{"stdout", "x", "c"};
  redact_message(out, r);
  EXPECT_EQ(std::get<command_output_message>(out).stream, "stdout");
  message beat = heartbeat_message{};
  redact_message(beat, r);
  EXPECT_EQ(std::get<heartbeat_message>(beat).phase, "request_in_flight");
  message ev = agent_event_message{"tool_use", {}};
  redact_message(ev, r);
  EXPECT_EQ(std::get<agent_event_message>(ev).event, "tool_use");
}

TEST(RedactMessage, EncodedFramesCarryNoSecret) {
  invocation_message inv;
  inv.user_prompt = "SEKRIT";
  inv.system_prompt = "tok\"en";
  inv.model = "m";
  inv.agent_env = string_map{{"A", "SEKRIT"}};
  inv.pre_agent_invocation_commands = {secret_command()};
  result_message res;
  res.data.text = "SEKRIT";
  res.metadata.json = R"({"x":["SEKRIT"]})";
  for (message m :
       {message{inv}, message{res}, message{error_message{"SEKRIT", {R"({"a":"p\u00e4ss"})"}}}}) {
    ASSERT_TRUE(has_secret(encode(m))) << encode(m);
    redact_message(m, secrets());
    EXPECT_FALSE(has_secret(encode(m))) << encode(m);
    EXPECT_NE(encode(m).find("[REDACTED]"), std::string::npos);
  }
}

TEST(RedactMessage, NoSecretsChangesNothing) {
  message m = error_message{"SEKRIT", {R"({"a" : "SEKRIT"})"}};
  redact_message(m, redactor{});
  EXPECT_EQ(std::get<error_message>(m).error, "SEKRIT");
  EXPECT_EQ(std::get<error_message>(m).metadata.json, R"({"a" : "SEKRIT"})");
}

} // namespace
} // namespace agentrt::protocol

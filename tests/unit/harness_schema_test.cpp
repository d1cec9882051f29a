// Structured-output schema parsing and validation, JSON extraction from model answers, and the
// bounded line splitter all adapters read through.
#include <gtest/gtest.h>

#include "harness/line_splitter.hpp"
#include "harness/schema_validator.hpp"

namespace {

namespace hs = agentrt::runtime::harness;

const char* const person_format =
    R"({"type":"json_schema","schema":{"type":"object","properties":{"name":{"type":"string"},)"
    R"("age":{"type":"integer","minimum":0},"tags":{"type":"array","items":{"type":"string"}}},)"
    R"("required":["name","age"],"additionalProperties":false}})";

TEST(HarnessSchema, ParsesFormatAndExposesSchema) {
  std::string error;
  auto s = hs::output_schema::parse(person_format, error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->schema_json().rfind(R"({"type":"object","properties":{"name")", 0), 0u);
}

TEST(HarnessSchema, AcceptsMatchingDocument) {
  std::string error;
  auto s = hs::output_schema::parse(person_format, error);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->validate(R"({"name":"Ada","age":36,"tags":["math"]})", error)) << error;
}

TEST(HarnessSchema, MismatchQuotesPointerAndKeyword) {
  std::string error;
  auto s = hs::output_schema::parse(person_format, error);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->validate(R"({"name":"Ada","age":"old"})", error));
  EXPECT_EQ(
      error,
      R"(structured output does not match the schema: /age fails "type" (schema #/properties/age))");
  EXPECT_FALSE(s->validate(R"({"name":"Ada"})", error));
  EXPECT_NE(error.find("\"required\""), std::string::npos) << error;
  EXPECT_FALSE(s->validate(R"({"name":"Ada","age":1,"extra":true})", error));
  EXPECT_NE(error.find("additionalProperties"), std::string::npos) << error;
  EXPECT_FALSE(s->validate(R"({"name":"Ada","age":1,"tags":["a",2]})", error));
  EXPECT_NE(error.find("/tags/1 fails"), std::string::npos) << error;
}

TEST(HarnessSchema, NonObjectOrNonJsonInstances) {
  std::string error;
  auto s = hs::output_schema::parse(person_format, error);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->validate("not json", error));
  EXPECT_EQ(error, "structured output is not valid JSON");
  EXPECT_FALSE(s->validate("[1]", error));
  EXPECT_EQ(error, "structured output is not a JSON object");
}

TEST(HarnessSchema, RejectsBadFormats) {
  std::string error;
  EXPECT_FALSE(hs::output_schema::parse("nope", error));
  EXPECT_EQ(error, "output_format_json_schema_str is not a JSON object");
  EXPECT_FALSE(hs::output_schema::parse(R"({"type":"json_object","schema":{}})", error));
  EXPECT_NE(error.find("unsupported type \"json_object\""), std::string::npos);
  EXPECT_FALSE(hs::output_schema::parse(R"({"type":"json_schema","schema":true})", error));
  EXPECT_NE(error.find("must be an object"), std::string::npos);
  EXPECT_TRUE(hs::output_schema::parse(R"({"schema":{"type":"object"}})", error))
      << "type optional";
}

// Regression (runtimeuse conformance): the published Python client's e2e suite sends a bare
// schema as output_format_json_schema_str; runtimeuse accepts it, so agentrt must too.
TEST(HarnessSchema, AcceptsBareJsonSchemaLikeRuntimeuse) {
  std::string error;
  auto s = hs::output_schema::parse(R"({"type":"object"})", error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->schema_json(), R"({"type":"object"})");
  EXPECT_TRUE(s->validate(R"({"answer":42,"nested":{"key":"value"}})", error)) << error;
  EXPECT_FALSE(s->validate("[1]", error));
  auto p = hs::output_schema::parse(
      R"({"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]})", error);
  ASSERT_TRUE(p) << error;
  EXPECT_FALSE(p->validate(R"({"n":"x"})", error));
  EXPECT_NE(error.find("/n fails \"type\""), std::string::npos) << error;
  EXPECT_FALSE(hs::output_schema::parse(R"({"type":"json_schema"})", error))
      << "envelope without schema";
}

TEST(HarnessSchema, ExtractsJsonFromAnswers) {
  EXPECT_EQ(hs::extract_json_object(" {\"a\":1}\n"), "{\"a\":1}");
  EXPECT_EQ(hs::extract_json_object("Here you go:\n```json\n{\"a\":[1,2]}\n```\nDone."),
            "{\"a\":[1,2]}");
  EXPECT_EQ(hs::extract_json_object("The answer is {\"a\":{\"b\":2}} as asked."),
            "{\"a\":{\"b\":2}}");
  EXPECT_FALSE(hs::extract_json_object("no json here"));
  EXPECT_FALSE(hs::extract_json_object("[1,2]"));
}

TEST(HarnessLineSplitter, SplitsAcrossChunksAndStripsCr) {
  hs::line_splitter s(64);
  std::vector<std::string> lines;
  auto sink = [&lines](std::string_view l) { lines.emplace_back(l); };
  EXPECT_TRUE(s.write("ab", sink));
  EXPECT_TRUE(s.write("c\r\nde\n\nf", sink));
  s.flush(sink);
  EXPECT_EQ(lines, (std::vector<std::string>{"abc", "de", "", "f"}));
}

TEST(HarnessLineSplitter, OverlongLineFailsWithoutGrowing) {
  hs::line_splitter s(8);
  std::vector<std::string> lines;
  auto sink = [&lines](std::string_view l) { lines.emplace_back(l); };
  EXPECT_TRUE(s.write("12345678\n", sink));
  EXPECT_TRUE(s.write("12345", sink));
  EXPECT_FALSE(s.write("6789", sink));
  EXPECT_TRUE(s.overflowed());
  EXPECT_FALSE(s.write("\nok\n", sink));
  s.flush(sink);
  EXPECT_EQ(lines, (std::vector<std::string>{"12345678"}));
}

} // namespace

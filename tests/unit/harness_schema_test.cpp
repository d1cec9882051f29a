// Structured-output schema parsing and validation, JSON extraction from model answers, and the
// bounded line splitter all adapters read through.
#include <gtest/gtest.h>

#include "agentrt/protocol/errc.hpp"
#include "harness/harness_errc.hpp"
#include "harness/line_splitter.hpp"
#include "harness/schema_validator.hpp"

namespace {

namespace hs = agentrt::runtime::harness;

const char* const person_format =
    R"({"type":"json_schema","schema":{"type":"object","properties":{"name":{"type":"string"},)"
    R"("age":{"type":"integer","minimum":0},"tags":{"type":"array","items":{"type":"string"}}},)"
    R"("required":["name","age"],"additionalProperties":false}})";

TEST(HarnessSchema, ParsesFormatAndExposesSchema) {
  auto s = hs::output_schema::parse(person_format);
  ASSERT_TRUE(s.ok()) << s.error().text;
  EXPECT_EQ(s.value()->schema_json().rfind(R"({"type":"object","properties":{"name")", 0), 0u);
}

TEST(HarnessSchema, AcceptsMatchingDocument) {
  auto s = hs::output_schema::parse(person_format);
  ASSERT_TRUE(s.ok());
  const auto r = s.value()->validate(R"({"name":"Ada","age":36,"tags":["math"]})");
  EXPECT_TRUE(r.ok()) << r.error().text;
}

TEST(HarnessSchema, MismatchQuotesPointerAndKeyword) {
  auto parsed = hs::output_schema::parse(person_format);
  ASSERT_TRUE(parsed.ok());
  const hs::output_schema& s = *parsed.value();
  auto r = s.validate(R"({"name":"Ada","age":"old"})");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(
      r.error().text,
      R"(structured output does not match the schema: /age fails "type" (schema #/properties/age))");
  EXPECT_EQ(r.error().code, hs::harness_errc::output_mismatch);
  r = s.validate(R"({"name":"Ada"})");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().text.find("\"required\""), std::string::npos) << r.error().text;
  r = s.validate(R"({"name":"Ada","age":1,"extra":true})");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().text.find("additionalProperties"), std::string::npos) << r.error().text;
  r = s.validate(R"({"name":"Ada","age":1,"tags":["a",2]})");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().text.find("/tags/1 fails"), std::string::npos) << r.error().text;
}

TEST(HarnessSchema, NonObjectOrNonJsonInstances) {
  auto parsed = hs::output_schema::parse(person_format);
  ASSERT_TRUE(parsed.ok());
  const hs::output_schema& s = *parsed.value();
  auto r = s.validate("not json");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().text, "structured output is not valid JSON");
  EXPECT_EQ(r.error().code, hs::harness_errc::output_mismatch);
  r = s.validate("[1]");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().text, "structured output is not a JSON object");
  EXPECT_EQ(r.error().code, hs::harness_errc::output_mismatch);
}

TEST(HarnessSchema, RejectsBadFormats) {
  auto r = hs::output_schema::parse("nope");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().text, "output_format_json_schema_str is not a JSON object");
  EXPECT_EQ(r.error().code, agentrt::protocol::errc::invalid_value);
  r = hs::output_schema::parse(R"({"type":"json_object","schema":{}})");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().text.find("unsupported type \"json_object\""), std::string::npos);
  EXPECT_EQ(r.error().code, agentrt::protocol::errc::invalid_value);
  r = hs::output_schema::parse(R"({"type":"json_schema","schema":true})");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().text.find("must be an object"), std::string::npos);
  EXPECT_EQ(r.error().code, agentrt::protocol::errc::invalid_value);
  EXPECT_TRUE(hs::output_schema::parse(R"({"schema":{"type":"object"}})").ok()) << "type optional";
}

// A keyword draft-04 cannot express is not_supported; a malformed schema invalid_value.
TEST(HarnessSchema, RefusalCodesSayWhy) {
  auto r = hs::output_schema::parse(
      R"({"type":"json_schema","schema":{"type":"object","unevaluatedProperties":false}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, agentrt::protocol::errc::not_supported) << r.error().text;
  EXPECT_EQ(r.error().text.rfind("output_format_json_schema_str: keyword ", 0), 0u)
      << r.error().text;
  r = hs::output_schema::parse(
      R"({"type":"json_schema","schema":{"properties":{"a":{"$ref":"#/$defs/Nope"}}}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, agentrt::protocol::errc::invalid_value) << r.error().text;
  EXPECT_NE(r.error().text.find("it points to nothing in the schema"), std::string::npos)
      << r.error().text;
}

// Regression (runtimeuse conformance): the published Python client's e2e suite sends a bare
// schema as output_format_json_schema_str; runtimeuse accepts it, so agentrt must too.
TEST(HarnessSchema, AcceptsBareJsonSchemaLikeRuntimeuse) {
  auto parsed = hs::output_schema::parse(R"({"type":"object"})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().text;
  const hs::output_schema& s = *parsed.value();
  EXPECT_EQ(s.schema_json(), R"({"type":"object"})");
  const auto matching = s.validate(R"({"answer":42,"nested":{"key":"value"}})");
  EXPECT_TRUE(matching.ok()) << matching.error().text;
  EXPECT_FALSE(s.validate("[1]").ok());
  auto p = hs::output_schema::parse(
      R"({"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]})");
  ASSERT_TRUE(p.ok()) << p.error().text;
  const auto r = p.value()->validate(R"({"n":"x"})");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().text.find("/n fails \"type\""), std::string::npos) << r.error().text;
  EXPECT_FALSE(hs::output_schema::parse(R"({"type":"json_schema"})").ok())
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

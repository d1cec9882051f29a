// json_builder: the one builder of small JSON objects. Strings are escaped as the codec escapes
// them (byte for byte what RapidJSON's Writer writes for valid UTF-8), invalid UTF-8 is
// repaired so the text always parses, numbers are RapidJSON's, nesting is copied in as is.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "agentrt/protocol/json_builder.hpp"

namespace agentrt::protocol {
namespace {

const std::string fffd = "\xEF\xBF\xBD";

// What RapidJSON's Writer makes of one string member: the earlier builders' output.
std::string rapidjson_object(std::string_view key, std::string_view value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

// Parses with UTF-8 validation, as a peer receiving a text frame does.
bool parses_as_utf8_json(const std::string& text, rapidjson::Document& doc) {
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  return !doc.HasParseError();
}

TEST(JsonBuilder, EmptyObject) {
  EXPECT_EQ(json_builder().str(), "{}");
  EXPECT_TRUE(json_builder().empty());
  EXPECT_FALSE(json_builder().add("a", 1).empty());
}

TEST(JsonBuilder, FieldsInOrderWithTheirTypes) {
  const std::string text = json_builder()
                               .add("s", "text")
                               .add("str", std::string("std"))
                               .add("view", std::string_view("sv"))
                               .add("t", true)
                               .add("f", false)
                               .add("i", -42)
                               .add("u", std::uint64_t{18446744073709551615ULL})
                               .add("l", std::numeric_limits<std::int64_t>::min())
                               .add("d", 1.5)
                               .str();
  EXPECT_EQ(text, R"({"s":"text","str":"std","view":"sv","t":true,"f":false,"i":-42,)"
                  R"("u":18446744073709551615,"l":-9223372036854775808,"d":1.5})");
}

TEST(JsonBuilder, StringLiteralIsAStringNotABool) {
  // A const char* converts to bool by a standard conversion; the overload set must not let it.
  EXPECT_EQ(json_builder().add("k", "v").str(), R"({"k":"v"})");
  const char* p = "w";
  EXPECT_EQ(json_builder().add("k", p).str(), R"({"k":"w"})");
}

TEST(JsonBuilder, EscapesExactlyAsRapidJsonWriter) {
  std::string every_byte;
  for (int c = 1; c < 0x80; ++c)
    every_byte.push_back(static_cast<char>(c));
  every_byte += std::string("\0mid", 4);
  every_byte += "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 /slash";
  for (const std::string& value : {std::string("plain"), std::string("q\"b\\n\nt\tr\r\b\f"),
                                   std::string("\x01\x1a\x1f\x7f"), every_byte}) {
    EXPECT_EQ(json_builder().add(value, value).str(), rapidjson_object(value, value)) << value;
  }
  EXPECT_EQ(json_builder().add("k", "a\"b\\c\n\x01").str(), R"({"k":"a\"b\\c\n\u0001"})");
}

TEST(JsonBuilder, InvalidUtf8IsRepairedInValuesAndKeys) {
  // A truncated sequence, a lone continuation byte, an overlong encoding, a surrogate.
  const std::string bad = "a\xC3"
                          "b\x80"
                          "c\xC0\xAF"
                          "d\xED\xA0\x80";
  const std::string text = json_builder().add(bad, bad).str();
  rapidjson::Document doc;
  ASSERT_TRUE(parses_as_utf8_json(text, doc)) << text;
  ASSERT_TRUE(doc.IsObject());
  ASSERT_EQ(doc.MemberCount(), 1u);
  const std::string key = doc.MemberBegin()->name.GetString();
  const std::string value = doc.MemberBegin()->value.GetString();
  EXPECT_EQ(key, value);
  EXPECT_EQ(value.rfind("a" + fffd + "b" + fffd + "c", 0), 0u) << value;
  EXPECT_EQ(value.find('\xC3'), std::string::npos);
  // RapidJSON's Writer copies such bytes through: the text the earlier builders made did not
  // parse as UTF-8.
  EXPECT_FALSE(parses_as_utf8_json(rapidjson_object("k", bad), doc));
}

TEST(JsonBuilder, NumbersAsRapidJsonWritesThem) {
  EXPECT_EQ(json_builder().add("d", 0.1).str(), R"({"d":0.1})");
  EXPECT_EQ(json_builder().add("d", 2.0).str(), R"({"d":2.0})");
  EXPECT_EQ(json_builder().add("d", 1e100).str(), R"({"d":1e100})");
  EXPECT_EQ(json_builder().add("d", -0.000123).str(), R"({"d":-0.000123})");
  EXPECT_EQ(json_builder().add("i", 0).str(), R"({"i":0})");
  EXPECT_EQ(json_builder().add("u", 7u).str(), R"({"u":7})");
  EXPECT_EQ(json_builder().add("s", std::size_t{12345678901234}).str(), R"({"s":12345678901234})");
  EXPECT_EQ(json_builder().add("l", -5LL).str(), R"({"l":-5})");
}

TEST(JsonBuilder, NonFiniteDoublesAreNull) {
  const std::string text = json_builder()
                               .add("nan", std::nan(""))
                               .add("inf", std::numeric_limits<double>::infinity())
                               .add("ninf", -std::numeric_limits<double>::infinity())
                               .str();
  EXPECT_EQ(text, R"({"nan":null,"inf":null,"ninf":null})");
  rapidjson::Document doc;
  EXPECT_TRUE(parses_as_utf8_json(text, doc));
}

TEST(JsonBuilder, NestedObjectsArraysAndRawValues) {
  const json_builder inner = json_builder().add("read", 3).add("write", 4);
  const std::string text = json_builder()
                               .add("usage", json_builder().add("input", 1).add("cache", inner))
                               .add_raw("changes", R"([{"path":"a"},2,null])")
                               .add_raw("n", "12.5")
                               .add_raw("empty", "{}")
                               .add("after", "x")
                               .str();
  EXPECT_EQ(text, R"({"usage":{"input":1,"cache":{"read":3,"write":4}},)"
                  R"("changes":[{"path":"a"},2,null],"n":12.5,"empty":{},"after":"x"})");
  rapidjson::Document doc;
  ASSERT_TRUE(parses_as_utf8_json(text, doc));
  EXPECT_EQ(doc["usage"]["cache"]["write"].GetInt(), 4);
  EXPECT_EQ(doc["changes"].Size(), 3u);
}

TEST(JsonBuilder, StrCanBeTakenRepeatedlyAndExtended) {
  json_builder b;
  b.add("a", 1);
  EXPECT_EQ(b.str(), R"({"a":1})");
  EXPECT_EQ(b.str(), R"({"a":1})");
  b.add("b", 2);
  EXPECT_EQ(b.str(), R"({"a":1,"b":2})");
}

} // namespace
} // namespace agentrt::protocol

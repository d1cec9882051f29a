// The JSON Schema keywords clients really send (draft-07 to 2020-12: pydantic 2's
// model_json_schema(), OpenAI strict mode) are enforced or refused by name, never ignored.
// The pydantic schemas below are pydantic 2.13's output, verbatim.
#include <string>

#include <gtest/gtest.h>

#include "harness/schema_validator.hpp"

namespace {

namespace hs = agentrt::runtime::harness;

// schema wrapped in the json_schema envelope, parsed; the error says why when it was refused.
agentrt::protocol::result<std::unique_ptr<hs::output_schema>> parse(const std::string& schema) {
  return hs::output_schema::parse(R"({"type":"json_schema","schema":)" + schema + "}");
}

std::unique_ptr<hs::output_schema> compile(const std::string& schema) {
  auto s = parse(schema);
  EXPECT_TRUE(s.ok()) << s.error().text;
  return s.ok() ? std::move(s).value() : nullptr;
}

// "" when instance matches, else the validator's message.
std::string check(const hs::output_schema& s, const std::string& instance) {
  const auto r = s.validate(instance);
  return r.ok() ? std::string() : r.error().text;
}

std::string refusal(const std::string& schema) {
  const auto r = parse(schema);
  EXPECT_FALSE(r.ok()) << "accepted " << schema;
  return r.ok() ? std::string() : r.error().text;
}

// class Person(BaseModel): name: str = Field(description=...); age: Annotated[int, Field(gt=0)];
// color: Color (str enum); address: Address (zip with a pattern); previous: List[Address] = [];
// nickname: Optional[str] = None; pet: Union[Cat, Dog] = Field(discriminator="kind");
// score: Union[int, str]; pair: Tuple[int, str]
const std::string pydantic_person =
    R"json({"$defs":{"Address":{"properties":{"street":{"title":"Street","type":"string"},"zip":{"pattern":)json"
    R"json("^[0-9]{5}$","title":"Zip","type":"string"}},"required":["street","zip"],"title":"Address","type)json"
    R"json(":"object"},"Cat":{"properties":{"kind":{"const":"cat","title":"Kind","type":"string"},"lives":{)json"
    R"json("maximum":9,"minimum":0,"title":"Lives","type":"integer"}},"required":["kind","lives"],"title":")json"
    R"json(Cat","type":"object"},"Color":{"enum":["red","green"],"title":"Color","type":"string"},"Dog":{"p)json"
    R"json(roperties":{"kind":{"const":"dog","title":"Kind","type":"string"},"good":{"title":"Good","type":)json"
    R"json("boolean"}},"required":["kind","good"],"title":"Dog","type":"object"}},"properties":{"name":{"de)json"
    R"json(scription":"full name","title":"Name","type":"string"},"age":{"exclusiveMinimum":0,"title":"Age")json"
    R"json(,"type":"integer"},"color":{"$ref":"#/$defs/Color"},"address":{"$ref":"#/$defs/Address"},"previo)json"
    R"json(us":{"default":[],"items":{"$ref":"#/$defs/Address"},"title":"Previous","type":"array"},"nicknam)json"
    R"json(e":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Nickname"},"pet":{"discr)json"
    R"json(iminator":{"mapping":{"cat":"#/$defs/Cat","dog":"#/$defs/Dog"},"propertyName":"kind"},"oneOf":[{)json"
    R"json("$ref":"#/$defs/Cat"},{"$ref":"#/$defs/Dog"}],"title":"Pet"},"score":{"anyOf":[{"type":"integer")json"
    R"json(},{"type":"string"}],"title":"Score"},"pair":{"maxItems":2,"minItems":2,"prefixItems":[{"type":")json"
    R"json(integer"},{"type":"string"}],"title":"Pair","type":"array"}},"required":["name","age","color","a)json"
    R"json(ddress","pet","score","pair"],"title":"Person","type":"object"})json";

// class Node(BaseModel): value: int; children: List["Node"] = []  (recursive, root is a $ref)
const std::string pydantic_node =
    R"json({"$defs":{"Node":{"properties":{"value":{"title":"Value","type":"integer"},"children":{"default")json"
    R"json(:[],"items":{"$ref":"#/$defs/Node"},"title":"Children","type":"array"}},"required":["value"],"ti)json"
    R"json(tle":"Node","type":"object"}},"$ref":"#/$defs/Node"})json";

// class Home(BaseModel): owner: Person; address: Address = Field(description="where");
// tree: Optional[Node] = None  ($ref with a sibling, anyOf with null around a $ref)
const std::string pydantic_home =
    R"json({"$defs":{"Address":{"properties":{"street":{"title":"Street","type":"string"},"zip":{"pattern":)json"
    R"json("^[0-9]{5}$","title":"Zip","type":"string"}},"required":["street","zip"],"title":"Address","type)json"
    R"json(":"object"},"Cat":{"properties":{"kind":{"const":"cat","title":"Kind","type":"string"},"lives":{)json"
    R"json("maximum":9,"minimum":0,"title":"Lives","type":"integer"}},"required":["kind","lives"],"title":")json"
    R"json(Cat","type":"object"},"Color":{"enum":["red","green"],"title":"Color","type":"string"},"Dog":{"p)json"
    R"json(roperties":{"kind":{"const":"dog","title":"Kind","type":"string"},"good":{"title":"Good","type":)json"
    R"json("boolean"}},"required":["kind","good"],"title":"Dog","type":"object"},"Node":{"properties":{"val)json"
    R"json(ue":{"title":"Value","type":"integer"},"children":{"default":[],"items":{"$ref":"#/$defs/Node"},)json"
    R"json("title":"Children","type":"array"}},"required":["value"],"title":"Node","type":"object"},"Person)json"
    R"json(":{"properties":{"name":{"description":"full name","title":"Name","type":"string"},"age":{"exclu)json"
    R"json(siveMinimum":0,"title":"Age","type":"integer"},"color":{"$ref":"#/$defs/Color"},"address":{"$ref)json"
    R"json(":"#/$defs/Address"},"previous":{"default":[],"items":{"$ref":"#/$defs/Address"},"title":"Previo)json"
    R"json(us","type":"array"},"nickname":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"titl)json"
    R"json(e":"Nickname"},"pet":{"discriminator":{"mapping":{"cat":"#/$defs/Cat","dog":"#/$defs/Dog"},"prop)json"
    R"json(ertyName":"kind"},"oneOf":[{"$ref":"#/$defs/Cat"},{"$ref":"#/$defs/Dog"}],"title":"Pet"},"score")json"
    R"json(:{"anyOf":[{"type":"integer"},{"type":"string"}],"title":"Score"},"pair":{"maxItems":2,"minItems)json"
    R"json(":2,"prefixItems":[{"type":"integer"},{"type":"string"}],"title":"Pair","type":"array"}},"requir)json"
    R"json(ed":["name","age","color","address","pet","score","pair"],"title":"Person","type":"object"}},"pr)json"
    R"json(operties":{"owner":{"$ref":"#/$defs/Person"},"address":{"$ref":"#/$defs/Address","description":")json"
    R"json(where"},"tree":{"anyOf":[{"$ref":"#/$defs/Node"},{"type":"null"}],"default":null}},"required":[")json"
    R"json(owner","address"],"title":"Home","type":"object"})json";

const std::string valid_person =
    R"({"name":"Ada","age":36,"color":"red","address":{"street":"Main","zip":"12345"},)"
    R"("pet":{"kind":"cat","lives":9},"score":"high","pair":[1,"a"]})";

std::string person_with(const std::string& field, const std::string& value) {
  std::string p = valid_person;
  const auto at = p.find("\"" + field + "\":");
  EXPECT_NE(at, std::string::npos) << field;
  const auto start = at + field.size() + 3;
  // Replace the field's value: up to the comma or brace at nesting level 0.
  int depth = 0;
  std::size_t end = start;
  for (; end < p.size(); ++end) {
    const char c = p[end];
    if (c == '{' || c == '[')
      ++depth;
    else if (c == '}' || c == ']') {
      if (depth == 0)
        break;
      --depth;
    } else if (c == ',' && depth == 0)
      break;
  }
  return p.substr(0, start) + value + p.substr(end);
}

TEST(SchemaDialect, TheIssuesExamplesAreEnforced) {
  auto c = compile(R"({"type":"object","properties":{"a":{"const":1}}})");
  ASSERT_TRUE(c);
  EXPECT_EQ(check(*c, R"({"a":1})"), "");
  EXPECT_NE(check(*c, R"({"a":2})"), "");
  auto r = compile(R"({"$defs":{"I":{"type":"integer"}},"type":"object",)"
                   R"("properties":{"a":{"$ref":"#/$defs/I"}}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(check(*r, R"({"a":3})"), "");
  EXPECT_NE(check(*r, R"({"a":"x"})"), "");
  auto i = compile(R"({"type":"object","if":{"properties":{"kind":{"const":"n"}}},)"
                   R"("then":{"required":["n"]},"else":{"required":["s"]}})");
  ASSERT_TRUE(i);
  EXPECT_EQ(check(*i, R"({"kind":"n","n":1})"), "");
  EXPECT_EQ(check(*i, R"({"kind":"t","s":1})"), "");
  EXPECT_NE(check(*i, R"({"kind":"n","s":1})"), "");
  EXPECT_NE(check(*i, R"({"kind":"t","n":1})"), "");
}

TEST(SchemaDialect, PydanticModelAcceptsWhatPydanticAccepts) {
  auto s = compile(pydantic_person);
  ASSERT_TRUE(s);
  EXPECT_EQ(check(*s, valid_person), "");
  EXPECT_EQ(check(*s, person_with("score", "7")), "");
  EXPECT_EQ(check(*s, person_with("pet", R"({"kind":"dog","good":true})")), "");
  EXPECT_EQ(check(*s, person_with("name", R"("Ada","nickname":null)")), "");
  EXPECT_EQ(check(*s, person_with("name", R"("Ada","nickname":"A")")), "");
  EXPECT_EQ(check(*s, person_with("name", R"("Ada","previous":[{"street":"x","zip":"00000"}])")),
            "");
}

TEST(SchemaDialect, PydanticModelRefusesWhatPydanticRefuses) {
  auto s = compile(pydantic_person);
  ASSERT_TRUE(s);
  const std::pair<const char*, const char*> bad[] = {
      {"age", "0"},                                               // gt=0: exclusiveMinimum
      {"color", R"("blue")"},                                     // enum behind a $ref
      {"address", R"({"street":"Main","zip":"1234"})"},           // pattern behind a $ref
      {"address", R"({"street":"Main"})"},                        // required behind a $ref
      {"pet", R"({"kind":"cow","lives":1})"},                     // const in a oneOf branch
      {"pet", R"({"kind":"cat","lives":10})"},                    // le=9 in a $ref'd model
      {"pet", R"({"kind":"dog","good":"yes"})"},                  // type in a $ref'd model
      {"score", "1.5"},                                           // anyOf
      {"pair", R"(["a",1])"},                                     // prefixItems types
      {"pair", R"([1,"a",2])"},                                   // maxItems
      {"name", R"("Ada","nickname":3)"},                          // Optional[str]
      {"name", R"("Ada","previous":[{"street":"x","zip":"x"}])"}, // items -> $ref -> pattern
  };
  for (const auto& [field, value] : bad)
    EXPECT_NE(check(*s, person_with(field, value)), "") << field << " = " << value;
}

TEST(SchemaDialect, RecursiveModelsAndRefsWithSiblings) {
  auto n = compile(pydantic_node);
  ASSERT_TRUE(n);
  EXPECT_EQ(check(*n, R"({"value":1,"children":[{"value":2,"children":[{"value":3}]}]})"), "");
  EXPECT_NE(check(*n, R"({"value":1,"children":[{"value":2,"children":[{"value":"x"}]}]})"), "");
  EXPECT_NE(check(*n, R"({"children":[]})"), "");
  auto h = compile(pydantic_home);
  ASSERT_TRUE(h);
  const std::string home = R"({"owner":)" + valid_person +
                           R"(,"address":{"street":"s","zip":"11111"},"tree":{"value":1}})";
  EXPECT_EQ(check(*h, home), "");
  EXPECT_NE(check(*h, R"({"owner":)" + valid_person + R"(,"address":{"street":"s","zip":"1"}})"),
            "");
  EXPECT_NE(check(*h, R"({"owner":)" + valid_person +
                          R"(,"address":{"street":"s","zip":"11111"},"tree":{"value":"x"}})"),
            "");
  // 2019-09 applies a $ref's siblings; draft-04 would drop the maximum.
  auto sib = compile(R"({"$defs":{"I":{"type":"integer"}},"properties":{"a":{"$ref":"#/$defs/I",)"
                     R"("maximum":3}}})");
  ASSERT_TRUE(sib);
  EXPECT_EQ(check(*sib, R"({"a":3})"), "");
  EXPECT_NE(check(*sib, R"({"a":4})"), "");
  EXPECT_NE(check(*sib, R"({"a":"x"})"), "");
}

TEST(SchemaDialect, OpenAiStrictModeSchema) {
  // The shape OpenAI's structured outputs require: every property required, nullable through
  // anyOf with null, additionalProperties false everywhere, shared definitions in $defs.
  auto s = compile(
      R"({"type":"object","properties":{"steps":{"type":"array","items":{"$ref":"#/$defs/step"}},)"
      R"("final_answer":{"type":"string"},"confidence":{"anyOf":[{"type":"number"},)"
      R"({"type":"null"}]},"status":{"type":"string","enum":["done","blocked"]}},)"
      R"("required":["steps","final_answer","confidence","status"],"additionalProperties":false,)"
      R"("$defs":{"step":{"type":"object","properties":{"explanation":{"type":"string"},)"
      R"("output":{"type":"string"}},"required":["explanation","output"],)"
      R"("additionalProperties":false}}})");
  ASSERT_TRUE(s);
  EXPECT_EQ(check(*s, R"({"steps":[{"explanation":"e","output":"o"}],"final_answer":"x",)"
                      R"("confidence":null,"status":"done"})"),
            "");
  EXPECT_NE(check(*s, R"({"steps":[{"explanation":"e","output":"o","extra":1}],)"
                      R"("final_answer":"x","confidence":null,"status":"done"})"),
            "");
  EXPECT_NE(check(*s, R"({"steps":[{"explanation":"e"}],"final_answer":"x","confidence":0.5,)"
                      R"("status":"done"})"),
            "");
  EXPECT_NE(check(*s, R"({"steps":[],"final_answer":"x","confidence":"high","status":"done"})"),
            "");
  EXPECT_NE(check(*s, R"({"steps":[],"final_answer":"x","confidence":1,"status":"maybe"})"), "");
}

TEST(SchemaDialect, LaterDraftKeywordsAreRewritten) {
  auto c = compile(R"({"properties":{"l":{"type":"array","contains":{"const":7}}}})");
  ASSERT_TRUE(c);
  EXPECT_EQ(check(*c, R"({"l":[1,7]})"), "");
  EXPECT_NE(check(*c, R"({"l":[1,2]})"), "");
  EXPECT_NE(check(*c, R"({"l":[]})"), "");
  auto d = compile(R"({"dependentRequired":{"card":["billing"]},)"
                   R"("dependentSchemas":{"vip":{"required":["level"]}}})");
  ASSERT_TRUE(d);
  EXPECT_EQ(check(*d, R"({"card":1,"billing":2})"), "");
  EXPECT_NE(check(*d, R"({"card":1})"), "");
  EXPECT_NE(check(*d, R"({"vip":true})"), "");
  auto b = compile(R"({"properties":{"never":false,"any":true},"additionalProperties":false})");
  ASSERT_TRUE(b);
  EXPECT_EQ(check(*b, R"({"any":[1]})"), "");
  EXPECT_NE(check(*b, R"({"never":1})"), "");
  auto t = compile(R"({"properties":{"t":{"prefixItems":[{"type":"string"}],"items":false}}})");
  ASSERT_TRUE(t);
  EXPECT_EQ(check(*t, R"({"t":["a"]})"), "");
  EXPECT_NE(check(*t, R"({"t":["a","b"]})"), "");
  auto x = compile(R"({"properties":{"m":{"exclusiveMaximum":10,"maximum":20}}})");
  ASSERT_TRUE(x);
  EXPECT_EQ(check(*x, R"({"m":9.5})"), "");
  EXPECT_NE(check(*x, R"({"m":10})"), "");
}

TEST(SchemaDialect, WhatCannotBeCheckedIsRefusedByName) {
  EXPECT_EQ(refusal(R"({"properties":{"a":{"type":"object","unevaluatedProperties":false}}})"),
            R"(output_format_json_schema_str: keyword "unevaluatedProperties" at #/properties/a )"
            R"(is not supported)");
  EXPECT_NE(refusal(R"({"propertyNames":{"pattern":"^a"}})").find("\"propertyNames\""),
            std::string::npos);
  EXPECT_NE(refusal(R"({"type":"array","minContains":2,"contains":{}})").find("minContains"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"properties":{"a":{"$ref":"https://example.com/s.json"}}})")
                .find("only local JSON Pointer references"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"properties":{"a":{"$ref":"#/$defs/missing"}}})").find("points to nothing"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"properties":{"a":7}})").find("not an object or a boolean"),
            std::string::npos);
}

TEST(SchemaDialect, EscapedReferencesResolve) {
  // RFC 6901 escapes (~1 is '/', ~0 is '~') and, in a URI fragment, percent-encoding.
  auto s = compile(R"({"$defs":{"a/b":{"type":"integer"},"c~d":{"type":"string"},)"
                   R"("My Model":{"type":"boolean"}},"properties":{"x":{"$ref":"#/$defs/a~1b"},)"
                   R"("y":{"$ref":"#/$defs/c~0d"},"z":{"$ref":"#/$defs/My%20Model"}}})");
  ASSERT_TRUE(s);
  EXPECT_EQ(check(*s, R"({"x":1,"y":"s","z":true})"), "");
  EXPECT_NE(check(*s, R"({"x":"1"})"), "");
  EXPECT_NE(check(*s, R"({"y":1})"), "");
  EXPECT_NE(check(*s, R"({"z":1})"), "");
}

TEST(SchemaDialect, NestedConditionsCannotBlowUp) {
  // Each "if" is copied twice by the rewrite: 200 nested ones would be 2^200 copies.
  std::string schema = "{}";
  for (int i = 0; i < 200; ++i)
    schema = R"({"if":)" + schema + R"(,"then":{"required":["a"]}})";
  EXPECT_NE(refusal(schema).find("nests \"if\" too deeply"), std::string::npos);
  std::string ten = "{}";
  for (int i = 0; i < 10; ++i)
    ten = R"({"if":)" + ten + R"(,"then":{"required":["a"]}})";
  EXPECT_TRUE(compile(ten));
}

TEST(SchemaDialect, TheCliGetsTheSchemaAsWritten) {
  auto s = compile(pydantic_node);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->schema_json(), pydantic_node);
}

} // namespace

#include "harness/schema_dialect.hpp"

#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "agentrt/protocol/errc.hpp"
#include "util/percent_decode.hpp"

namespace agentrt::runtime::harness {
namespace {

using rapidjson::Value;
using allocator = rapidjson::Document::AllocatorType;

// What a keyword's value is, for walking and for mapping $ref pointers.
enum class slot { schema, schema_map, schema_array, items, dependencies };

struct keyword_info {
  const char* name;
  slot kind;
};

// Draft-04 keywords RapidJSON implements, kept (their subschemas translated).
constexpr keyword_info kept[] = {{"properties", slot::schema_map},
                                 {"patternProperties", slot::schema_map},
                                 {"definitions", slot::schema_map},
                                 {"allOf", slot::schema_array},
                                 {"anyOf", slot::schema_array},
                                 {"oneOf", slot::schema_array},
                                 {"not", slot::schema},
                                 {"additionalProperties", slot::schema},
                                 {"additionalItems", slot::schema},
                                 {"items", slot::items},
                                 {"dependencies", slot::dependencies}};

// Validation keywords of later drafts with no draft-04 rewrite: refused, never ignored.
constexpr const char* refused[] = {"propertyNames",  "unevaluatedProperties", "unevaluatedItems",
                                   "minContains",    "maxContains",           "$dynamicRef",
                                   "$dynamicAnchor", "$recursiveRef",         "$recursiveAnchor"};

const keyword_info* find_kept(std::string_view name) {
  for (const auto& k : kept)
    if (name == k.name)
      return &k;
  return nullptr;
}

bool is_refused(std::string_view name) {
  for (const char* r : refused)
    if (name == r)
      return true;
  return false;
}

std::string view(const Value& v) {
  return std::string(v.GetString(), v.GetStringLength());
}

// One JSON Pointer token as written (escapes kept) and decoded (~1, ~0, %XX).
struct pointer_token {
  std::string raw;
  std::string name;
};

std::vector<pointer_token> split_pointer(std::string_view p) {
  std::vector<pointer_token> out;
  while (!p.empty()) {
    p.remove_prefix(1); // the '/'
    const auto end = p.find('/');
    pointer_token t;
    t.raw = std::string(p.substr(0, end));
    // ~1 and ~0 are the pointer's escapes; a "#..." reference is also a URI fragment.
    const std::string unescaped = util::percent_decode(t.raw);
    for (std::size_t i = 0; i < unescaped.size(); ++i) {
      if (unescaped[i] == '~' && i + 1 < unescaped.size() &&
          (unescaped[i + 1] == '0' || unescaped[i + 1] == '1'))
        t.name += unescaped[++i] == '0' ? '~' : '/';
      else
        t.name += unescaped[i];
    }
    out.push_back(std::move(t));
    p = end == std::string_view::npos ? std::string_view() : p.substr(end);
  }
  return out;
}

class translator {
public:
  translator(const Value& root, allocator& a) : root_(root), a_(a) {}

  bool schema(const Value& in, Value& out, const std::string& at) {
    if (in.IsBool()) {
      out.SetObject();
      if (!in.GetBool())
        out.AddMember("not", Value(rapidjson::kObjectType), a_);
      return true;
    }
    if (!in.IsObject())
      return fail("the schema at " + at + " is not an object or a boolean");
    out.SetObject();
    Value extra(rapidjson::kArrayType); // constraints that go into allOf
    const Value* ref = nullptr;
    for (auto m = in.MemberBegin(); m != in.MemberEnd(); ++m) {
      if (view(m->name) == "$ref")
        ref = &m->value;
      else if (!keyword(in, *m, out, extra, at))
        return false;
    }
    if (const auto* prefix = member(in, "prefixItems"); prefix && !prefix_items(*prefix, out, at))
      return false;
    if (ref && !reference(in, *ref, out, extra, at))
      return false;
    add_constraints(out, extra);
    return true;
  }

  std::string error;
  protocol::errc code = protocol::errc::invalid_value; // not_supported for what draft-04 lacks

private:
  static const Value* member(const Value& obj, const char* name) {
    const auto it = obj.FindMember(name);
    return it == obj.MemberEnd() ? nullptr : &it->value;
  }

  bool fail(std::string why, protocol::errc why_code = protocol::errc::invalid_value) {
    error = std::move(why);
    code = why_code;
    return false;
  }

  // One member of the object schema in (not "$ref"): copied into out, translated into out, or
  // rewritten as a constraint for extra.
  bool keyword(const Value& in, const Value::Member& m, Value& out, Value& extra,
               const std::string& at) {
    const std::string name = view(m.name);
    const std::string here = at + "/" + name;
    if (is_refused(name))
      return fail("keyword \"" + name + "\" at " + at + " is not supported",
                  protocol::errc::not_supported);
    if (name == "$defs") {
      if (in.HasMember("definitions"))
        return fail("the schema at " + at + " has both \"$defs\" and \"definitions\"");
      Value v;
      if (!schema_map(m.value, v, here))
        return false;
      out.AddMember("definitions", v, a_);
    } else if ((name == "additionalProperties" || name == "additionalItems") && m.value.IsBool()) {
      out.AddMember(Value(m.name, a_), Value(m.value.GetBool()), a_); // draft-04 takes these too
    } else if (const auto* k = find_kept(name)) {
      Value v;
      if (!subschemas(k->kind, m.value, v, here))
        return false;
      out.AddMember(Value(k->name, a_), v, a_);
    } else if (name == "const") {
      Value e(rapidjson::kObjectType);
      Value list(rapidjson::kArrayType);
      list.PushBack(Value(m.value, a_), a_);
      e.AddMember("enum", list, a_);
      extra.PushBack(e, a_);
    } else if (name == "if") {
      return conditional(in, extra, at);
    } else if (name == "then" || name == "else" || name == "prefixItems") {
      // then and else are handled with "if" (alone they have no effect), prefixItems once
      // every member is in (prefix_items).
    } else if ((name == "exclusiveMinimum" || name == "exclusiveMaximum") && m.value.IsNumber()) {
      Value e(rapidjson::kObjectType);
      e.AddMember(Value(name == "exclusiveMinimum" ? "minimum" : "maximum", a_), Value(m.value, a_),
                  a_);
      e.AddMember(Value(name.c_str(), a_), Value(true), a_);
      extra.PushBack(e, a_);
    } else if (name == "contains") {
      return contains(m.value, extra, here);
    } else if (name == "dependentRequired" || name == "dependentSchemas") {
      return dependent(name, m.value, extra, at);
    } else {
      // type, enum, minimum, pattern, required, ...: data; annotations and unknown keywords
      // are copied too and, as every draft says of them, do not affect validation.
      out.AddMember(Value(m.name, a_), Value(m.value, a_), a_);
    }
    return true;
  }

  // "contains": not (an array none of whose items matches).
  bool contains(const Value& in, Value& extra, const std::string& at) {
    Value s;
    if (!schema(in, s, at))
      return false;
    Value none(rapidjson::kObjectType);
    none.AddMember("type", "array", a_);
    Value not_s(rapidjson::kObjectType);
    not_s.AddMember("not", s, a_);
    none.AddMember("items", not_s, a_);
    Value e(rapidjson::kObjectType);
    e.AddMember("not", none, a_);
    extra.PushBack(e, a_);
    return true;
  }

  // "dependentRequired" and "dependentSchemas": the two halves of draft-04's "dependencies".
  bool dependent(const std::string& name, const Value& in, Value& extra, const std::string& at) {
    if (!in.IsObject())
      return fail("\"" + name + "\" at " + at + " must be an object");
    Value deps;
    if (!subschemas(slot::dependencies, in, deps, at + "/" + name))
      return false;
    Value e(rapidjson::kObjectType);
    e.AddMember("dependencies", deps, a_);
    extra.PushBack(e, a_);
    return true;
  }

  // prefixItems is draft-04's array form of "items"; 2020-12's "items" beside it is what
  // draft-04 calls additionalItems.
  bool prefix_items(const Value& prefix, Value& out, const std::string& at) {
    if (!prefix.IsArray())
      return fail("\"prefixItems\" at " + at + " must be an array");
    Value items;
    if (!subschemas(slot::schema_array, prefix, items, at + "/prefixItems"))
      return false;
    if (out.HasMember("items")) {
      Value additional(out["items"], a_);
      out.RemoveMember("items");
      out.RemoveMember("additionalItems");
      out.AddMember("additionalItems", additional, a_);
    }
    out.AddMember("items", items, a_);
    return true;
  }

  // The schema in's "$ref" (ref), mapped onto the translated document.
  bool reference(const Value& in, const Value& ref, Value& out, Value& extra,
                 const std::string& at) {
    if (!ref.IsString())
      return fail("\"$ref\" at " + at + " must be a string");
    std::string mapped;
    if (!map_ref(view(ref), mapped, at))
      return false;
    Value r(rapidjson::kObjectType);
    r.AddMember("$ref", Value(mapped.c_str(), a_), a_);
    // Alone, the node is the reference (RapidJSON resolves it); with siblings, draft-04
    // would drop them, so the reference becomes one more constraint beside them.
    bool siblings = false;
    for (auto m = in.MemberBegin(); m != in.MemberEnd() && !siblings; ++m)
      siblings = view(m->name) != "$ref";
    if (!siblings && extra.Empty())
      out = r;
    else
      extra.PushBack(r, a_);
    return true;
  }

  // The rewritten keywords' constraints, appended to out's allOf.
  void add_constraints(Value& out, Value& extra) {
    if (extra.Empty())
      return;
    if (auto it = out.FindMember("allOf"); it != out.MemberEnd() && it->value.IsArray()) {
      for (auto& e : extra.GetArray())
        it->value.PushBack(e, a_);
    } else {
      out.AddMember("allOf", extra, a_);
    }
  }

  bool schema_map(const Value& in, Value& out, const std::string& at) {
    if (!in.IsObject())
      return fail("the value at " + at + " must be an object of schemas");
    out.SetObject();
    for (auto m = in.MemberBegin(); m != in.MemberEnd(); ++m) {
      Value v;
      if (!schema(m->value, v, at + "/" + view(m->name)))
        return false;
      out.AddMember(Value(m->name, a_), v, a_);
    }
    return true;
  }

  bool schema_array(const Value& in, Value& out, const std::string& at) {
    if (!in.IsArray())
      return fail("the value at " + at + " must be an array of schemas");
    out.SetArray();
    for (rapidjson::SizeType i = 0; i < in.Size(); ++i) {
      Value v;
      if (!schema(in[i], v, at + "/" + std::to_string(i)))
        return false;
      out.PushBack(v, a_);
    }
    return true;
  }

  bool subschemas(slot kind, const Value& in, Value& out, const std::string& at) {
    switch (kind) {
    case slot::schema_map:
      return schema_map(in, out, at);
    case slot::schema_array:
      return schema_array(in, out, at);
    case slot::items:
      if (in.IsArray())
        return schema_array(in, out, at);
      return schema(in, out, at);
    case slot::schema:
      return schema(in, out, at);
    case slot::dependencies:
      if (!in.IsObject())
        return fail("the value at " + at + " must be an object");
      out.SetObject();
      for (auto m = in.MemberBegin(); m != in.MemberEnd(); ++m) {
        Value v;
        if (m->value.IsArray()) {
          v.CopyFrom(m->value, a_); // required property names
        } else if (!schema(m->value, v, at + "/" + view(m->name))) {
          return false;
        }
        out.AddMember(Value(m->name, a_), v, a_);
      }
      return true;
    }
    return fail("unknown keyword slot at " + at);
  }

  // "if" with "then"/"else": (if and then) or (not if and else).
  bool conditional(const Value& in, Value& extra, const std::string& at) {
    Value if_s, then_s(rapidjson::kObjectType), else_s(rapidjson::kObjectType);
    if (!schema(in["if"], if_s, at + "/if"))
      return false;
    if (const auto* t = member(in, "then"); t && !schema(*t, then_s, at + "/then"))
      return false;
    if (const auto* e = member(in, "else"); e && !schema(*e, else_s, at + "/else"))
      return false;
    // The condition appears twice in the rewrite; nested conditions would double at every
    // level (2^256 for a hostile schema), so the copies are paid from a fixed budget.
    if (!spend(if_s))
      return fail("the schema at " + at + " nests \"if\" too deeply to be checked",
                  protocol::errc::not_supported);
    Value not_if(rapidjson::kObjectType);
    not_if.AddMember("not", Value(if_s, a_), a_);
    Value yes(rapidjson::kArrayType);
    yes.PushBack(if_s, a_).PushBack(then_s, a_);
    Value no(rapidjson::kArrayType);
    no.PushBack(not_if, a_).PushBack(else_s, a_);
    Value yes_s(rapidjson::kObjectType), no_s(rapidjson::kObjectType);
    yes_s.AddMember("allOf", yes, a_);
    no_s.AddMember("allOf", no, a_);
    Value either(rapidjson::kArrayType);
    either.PushBack(yes_s, a_).PushBack(no_s, a_);
    Value e(rapidjson::kObjectType);
    e.AddMember("anyOf", either, a_);
    extra.PushBack(e, a_);
    return true;
  }

  // A local JSON Pointer reference, mapped onto the translated document: only keyword names
  // change ($defs -> definitions, prefixItems -> items, items beside prefixItems ->
  // additionalItems, dependentSchemas -> dependencies); references into what is rewritten
  // into allOf (if/then/else, contains) are refused.
  bool map_ref(const std::string& ref, std::string& mapped, const std::string& at) {
    if (ref.empty() || ref[0] != '#' || (ref.size() > 1 && ref[1] != '/'))
      return fail("\"$ref\" at " + at + " is \"" + ref.substr(0, 200) +
                      "\": only local JSON Pointer references (\"#/...\") are supported",
                  protocol::errc::not_supported);
    mapped = "#";
    const Value* node = &root_;
    enum class state { schema, map, array, data } st = state::schema;
    for (const auto& t : split_pointer(std::string_view(ref).substr(1))) {
      std::string out_token = t.raw;
      const Value* next = nullptr;
      if (node->IsObject()) {
        const auto it = node->FindMember(
            Value(t.name.c_str(), static_cast<rapidjson::SizeType>(t.name.size())));
        next = it == node->MemberEnd() ? nullptr : &it->value;
      } else if (node->IsArray()) {
        char* end = nullptr;
        const unsigned long i = std::strtoul(t.name.c_str(), &end, 10);
        if (!t.name.empty() && *end == '\0' && i < node->Size())
          next = &(*node)[static_cast<rapidjson::SizeType>(i)];
      }
      if (!next)
        return fail("\"$ref\" at " + at + " is \"" + ref.substr(0, 200) +
                    "\": it points to nothing in the schema");
      state next_state = state::data;
      if (st == state::map || st == state::array) {
        next_state = state::schema;
      } else if (st == state::schema) {
        const std::string& n = t.name;
        if (n == "$defs") {
          out_token = "definitions";
          next_state = state::map;
        } else if (n == "dependentSchemas") {
          return fail("\"$ref\" at " + at + " points into \"dependentSchemas\": not supported",
                      protocol::errc::not_supported);
        } else if (n == "prefixItems") {
          out_token = "items";
          next_state = state::array;
        } else if (n == "items" && node->HasMember("prefixItems")) {
          out_token = "additionalItems";
          next_state = state::schema;
        } else if (n == "if" || n == "then" || n == "else" || n == "contains") {
          return fail("\"$ref\" at " + at + " points into \"" + n + "\": not supported",
                      protocol::errc::not_supported);
        } else if (const auto* k = find_kept(n)) {
          next_state = k->kind == slot::schema_map || k->kind == slot::dependencies ? state::map
                       : k->kind == slot::schema_array                              ? state::array
                       : k->kind == slot::items ? (next->IsArray() ? state::array : state::schema)
                                                : state::schema;
        }
      }
      mapped += "/" + out_token;
      node = next;
      st = next_state;
    }
    if (st == state::data)
      return fail("\"$ref\" at " + at + " is \"" + ref.substr(0, 200) +
                  "\": it does not point to a schema");
    return true;
  }

  // Subtracts v's node count from the copy budget; false once it is spent.
  bool spend(const Value& v) {
    if (copy_budget_ == 0)
      return false;
    --copy_budget_;
    if (v.IsObject()) {
      for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m)
        if (!spend(m->value))
          return false;
    } else if (v.IsArray()) {
      for (const auto& e : v.GetArray())
        if (!spend(e))
          return false;
    }
    return true;
  }

  const Value& root_;
  allocator& a_;
  std::size_t copy_budget_ = 1'000'000;
};

} // namespace

protocol::result<void> to_draft4(const rapidjson::Value& schema, rapidjson::Document& out) {
  translator t(schema, out.GetAllocator());
  rapidjson::Value v;
  if (!t.schema(schema, v, "#")) {
    return {t.code, t.error.empty() ? "the schema could not be translated" : t.error};
  }
  static_cast<rapidjson::Value&>(out) = v;
  return {};
}

} // namespace agentrt::runtime::harness

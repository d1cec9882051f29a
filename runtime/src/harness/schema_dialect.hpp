// The JSON Schema dialects clients send (draft-07, 2019-09, 2020-12: what pydantic 2's
// model_json_schema() and OpenAI strict mode emit) rewritten into the draft-04 that RapidJSON's
// validator implements, with the same meaning. A keyword that cannot be rewritten is refused by
// name instead of being ignored: RapidJSON silently ignores what it does not know, which let
// {"a":2} pass "const": 1 and a string pass a $ref into $defs.
//
// Why not a draft-2020 validator (valijson): its "pattern" runs std::regex, whose backtracking
// executor recurses once per character, so a harness answer with a long string could overflow
// the stack and take the runtime down; RapidJSON's regex is an NFA without recursion.
#pragma once

#include <string>

#include <rapidjson/document.h>

#include "agentrt/protocol/result.hpp"

namespace agentrt::runtime::harness {

// out becomes the draft-04 equivalent of schema. Otherwise the text says why, e.g.
// `keyword "unevaluatedProperties" at #/properties/a is not supported`; the code is
// protocol::errc::not_supported for what draft-04 cannot express, invalid_value for a schema
// that is malformed (a member of the wrong type, a $ref to nothing).
//
// Rewrites: $defs -> definitions (and the $ref pointers into them); const -> enum [v];
// if/then/else -> anyOf [allOf [if, then], allOf [not if, else]]; numeric exclusiveMinimum /
// exclusiveMaximum -> minimum/maximum with the boolean form; prefixItems + items ->
// items [...] + additionalItems; contains -> not {type: array, items: not S};
// dependentRequired / dependentSchemas -> dependencies; a $ref with sibling keywords ->
// the siblings plus allOf [{$ref}] (2019-09 applies both; draft-04 would ignore the siblings);
// boolean subschemas -> {} and {"not": {}}. Annotations (title, description, default,
// examples, format, discriminator, ...) and keywords no draft defines are kept and have no
// effect, as every draft specifies.
protocol::result<void> to_draft4(const rapidjson::Value& schema, rapidjson::Document& out);

} // namespace agentrt::runtime::harness

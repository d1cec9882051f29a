// libFuzzer target: the harness event-stream parsers fed hostile output. Every input is one
// child's stdout (or one streamed HTTP body) and goes through every parser in the table below
// (line parsers twice: with agent events, and with a schema), so the recorded streams of all
// adapters form one corpus (corpus/harness_parsers).
//
// Checked besides crashes and sanitizer reports: line splitting in arbitrary chunks equals a
// plain split; every agent event is a known kind with a JSON object as data; every outcome's
// metadata is a JSON object; a successful outcome under a schema is structured output that
// validates; the SSE accumulator gives the same result for any chunking.
//
// Adding an adapter's parser is one row in `parsers` (plus its #include), e.g.
//   {"codex", run_line_parser<hs::codex_parser>},
// for a parser constructed as P(event_sink, std::shared_ptr<const output_schema>); other
// constructors get a small run function like run_chat_stream.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "harness/claude_harness.hpp"
#include "harness/codex_harness.hpp"
#include "harness/gemini_harness.hpp"
#include "harness/handler_harness.hpp"
#include "harness/line_splitter.hpp"
#include "harness/openai_harness.hpp"
#include "harness/opencode_harness.hpp"
#include "harness/schema_validator.hpp"

namespace {

namespace hs = agentrt::runtime::harness;

const char* current_parser = "";

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "fuzz_harness_parsers [%s]: %s\n%.*s\n", current_parser, what,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

bool is_json_object(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  return !doc.HasParseError() && doc.IsObject();
}

const std::shared_ptr<const hs::output_schema>& test_schema() {
  static const std::shared_ptr<const hs::output_schema> schema = [] {
    auto s = hs::output_schema::parse(
        R"({"type":"json_schema","schema":{"type":"object","properties":{"city":{"type":"string"},)"
        R"("population":{"type":"integer"}},"required":["city"]}})");
    if (!s.ok())
      fail("the test schema does not parse", s.error().text);
    return std::shared_ptr<const hs::output_schema>(std::move(s).value());
  }();
  return schema;
}

struct run_config {
  bool with_schema = false;
  bool agent_events = false;
  int exit_code = 0;
};

// Chunk sizes taken from the input itself, so that a crash reproduces from the input alone.
template <class Write> void write_in_chunks(std::string_view input, Write&& write) {
  std::size_t pos = 0;
  for (std::size_t i = 0; pos < input.size(); i++) {
    const std::size_t n = 1 + static_cast<unsigned char>(input[i % input.size()]) % 61;
    write(input.substr(pos, n));
    pos += n;
  }
}

std::vector<std::string> plain_lines(std::string_view input) {
  std::vector<std::string> out;
  while (true) {
    const std::size_t nl = input.find('\n');
    std::string_view line = input.substr(0, nl);
    if (nl == std::string_view::npos && line.empty())
      break;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    out.emplace_back(line);
    if (nl == std::string_view::npos)
      break;
    input.remove_prefix(nl + 1);
  }
  return out;
}

void check_outcome(const hs::harness_outcome& out, const run_config& cfg) {
  if (!out.ok()) {
    if (!is_json_object(out.error_metadata_json))
      fail("error metadata is not a JSON object", out.error_metadata_json);
    return;
  }
  if (!is_json_object(out.metadata_json))
    fail("metadata is not a JSON object", out.metadata_json);
  if (out.data.type == agentrt::protocol::result_data::kind::structured_output) {
    if (!is_json_object(out.data.structured_output.json))
      fail("structured output is not a JSON object", out.data.structured_output.json);
  }
  if (cfg.with_schema) {
    if (out.data.type != agentrt::protocol::result_data::kind::structured_output)
      fail("a schema was requested but the result is text", out.data.text);
    if (auto valid = test_schema()->validate(out.data.structured_output.json); !valid.ok())
      fail("a successful structured output does not validate", valid.error().text);
  }
}

// A parser of JSON lines, as process_run drives it: line_splitter over the chunks the pipe
// delivers, then finish() with the exit status.
template <class Parser> void run_line_parser_as(std::string_view input, const run_config& cfg) {
  hs::harness_callbacks cb;
  cb.on_assistant = [](std::vector<std::string> blocks) {
    if (blocks.empty())
      fail("an assistant message without text blocks", "");
  };
  cb.on_agent_event = [&cfg](std::string event, std::string data) {
    if (!cfg.agent_events)
      fail("an agent event although the client did not ask for them", event);
    if (event != "tool_use" && event != "tool_result" && event != "reasoning" && event != "usage" &&
        event != "session")
      fail("an unknown agent event kind", event);
    if (!is_json_object(data))
      fail("agent event data is not a JSON object", data);
  };
  cb.on_log = [](std::string) {};
  Parser parser(hs::event_sink(cb, cfg.agent_events),
                cfg.with_schema ? test_schema() : std::shared_ptr<const hs::output_schema>());

  // Small enough that long inputs exercise the overflow path too.
  hs::line_splitter splitter(4096);
  std::vector<std::string> lines;
  hs::process_end end;
  const auto on_line = [&](std::string_view line) {
    lines.emplace_back(line);
    if (!parser.on_line(line))
      end.ignored_lines++;
  };
  write_in_chunks(input, [&](std::string_view chunk) { splitter.write(chunk, on_line); });
  splitter.flush(on_line);
  if (!splitter.overflowed() && lines != plain_lines(input))
    fail("line_splitter disagrees with a plain split", input);
  end.status.exit_code = cfg.exit_code;
  check_outcome(parser.finish(end), cfg);
}

// Two passes keep the target fast: agent events on, and a schema with an exit status that the
// input's length picks (so that both clean and failed exits meet the schema path).
template <class Parser> void run_line_parser(std::string_view input) {
  run_line_parser_as<Parser>(input, run_config{false, true, 0});
  run_line_parser_as<Parser>(input, run_config{true, false, input.size() % 3 == 2 ? 1 : 0});
}

// The OpenAI-compatible SSE body accumulator: the same state for one write and for many.
void run_chat_stream(std::string_view input) {
  hs::chat_stream whole;
  whole.write(input);
  hs::chat_stream pieces;
  write_in_chunks(input, [&](std::string_view chunk) { pieces.write(chunk); });
  if (whole.done() != pieces.done() || whole.content != pieces.content ||
      whole.reasoning != pieces.reasoning || whole.finish_reason != pieces.finish_reason ||
      whole.prompt_tokens != pieces.prompt_tokens ||
      whole.completion_tokens != pieces.completion_tokens || whole.error != pieces.error ||
      whole.tool_calls.size() != pieces.tool_calls.size())
    fail("chunked SSE input gives a different result", input);
  for (std::size_t i = 0; i < whole.tool_calls.size(); i++) {
    const auto& a = whole.tool_calls[i];
    const auto& b = pieces.tool_calls[i];
    if (a.id != b.id || a.name != b.name || a.arguments != b.arguments)
      fail("chunked SSE input gives different tool calls", input);
  }
}

// OpenCode's parser also takes the model the run was started with and the session it resumes
// (a stream in another session is an error): once for a new session, once resuming one, so
// that the mismatch path is fuzzed too.
struct opencode_new_parser : hs::opencode_parser {
  opencode_new_parser(hs::event_sink sink, std::shared_ptr<const hs::output_schema> schema)
      : opencode_parser(std::move(sink), std::move(schema), "fake/model") {}
};
struct opencode_resuming_parser : hs::opencode_parser {
  opencode_resuming_parser(hs::event_sink sink, std::shared_ptr<const hs::output_schema> schema)
      : opencode_parser(std::move(sink), std::move(schema), "fake/model", "ses_fuzz") {}
};

struct parser_entry {
  const char* name;
  void (*run)(std::string_view input);
};

// One row per adapter (see the header comment).
const parser_entry parsers[] = {
    {"claude", run_line_parser<hs::claude_parser>},
    {"codex", run_line_parser<hs::codex_parser>},
    {"gemini", run_line_parser<hs::gemini_parser>},
    {"opencode", run_line_parser<opencode_new_parser>},
    {"opencode resuming", run_line_parser<opencode_resuming_parser>},
    {"handler", run_line_parser<hs::handler_parser>},
    {"openai chat_stream", run_chat_stream},
};

} // namespace

// The input as a client's output_format_json_schema_str (its first line) and each later line
// as a model's answer: translating and validating hostile schemas must neither crash nor
// blow up (schema_dialect rewrites later drafts into draft-04).
void run_schema(std::string_view input) {
  const auto nl = input.find('\n');
  const auto parsed = hs::output_schema::parse(input.substr(0, nl));
  if (!parsed.ok()) {
    if (parsed.error().text.empty() || !parsed.error().code)
      fail("a refused schema without a reason", std::string(input.substr(0, 200)));
    return;
  }
  const auto& schema = parsed.value();
  std::string_view rest = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  for (int i = 0; i < 8 && !rest.empty(); ++i) {
    const auto end = rest.find('\n');
    (void)schema->validate(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const auto& p : parsers) {
    current_parser = p.name;
    p.run(input);
  }
  current_parser = "output_schema";
  run_schema(input);
  return 0;
}

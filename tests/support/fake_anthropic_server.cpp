// Scripted Anthropic SSE answers on top of http_test_server.
#include "support/fake_anthropic_server.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace agentrt::test {

namespace {

const char* const path = "/v1/messages";

std::string quoted(const std::string& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  return buf.GetString();
}

std::string event(const char* name, const std::string& data) {
  return std::string("event: ") + name + "\ndata: " + data + "\n\n";
}

} // namespace

fake_anthropic_turn fake_anthropic_turn::say(std::string text) {
  fake_anthropic_turn t;
  t.text = std::move(text);
  return t;
}

fake_anthropic_turn fake_anthropic_turn::tool(std::string id, std::string name,
                                              std::string input_json) {
  fake_anthropic_turn t;
  t.tool_id = std::move(id);
  t.tool_name = std::move(name);
  t.tool_input_json = std::move(input_json);
  return t;
}

fake_anthropic_turn fake_anthropic_turn::error(int status, std::string type, std::string message) {
  fake_anthropic_turn t;
  t.status = status;
  t.error_type = std::move(type);
  t.error_message = std::move(message);
  return t;
}

fake_anthropic_turn fake_anthropic_turn::with_thinking(std::string text) && {
  thinking = std::move(text);
  return std::move(*this);
}

std::string anthropic_sse_body(const fake_anthropic_turn& turn) {
  std::string out = event(
      "message_start",
      R"({"type":"message_start","message":{"id":"msg_fake","type":"message","role":"assistant",)"
      R"("model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,)"
      R"("usage":{"input_tokens":10,"output_tokens":1}}})");
  int index = 0;
  if (!turn.thinking.empty()) {
    const auto i = std::to_string(index++);
    out +=
        event("content_block_start", R"({"type":"content_block_start","index":)" + i +
                                         R"(,"content_block":{"type":"thinking","thinking":""}})");
    out += event("content_block_delta", R"({"type":"content_block_delta","index":)" + i +
                                            R"(,"delta":{"type":"thinking_delta","thinking":)" +
                                            quoted(turn.thinking) + "}}");
    // Clients that replay thinking blocks need a signature; any string does for a fake.
    out += event("content_block_delta",
                 R"({"type":"content_block_delta","index":)" + i +
                     R"(,"delta":{"type":"signature_delta","signature":"fake-signature"}})");
    out += event("content_block_stop", R"({"type":"content_block_stop","index":)" + i + "}");
  }
  if (!turn.text.empty()) {
    const auto i = std::to_string(index++);
    out += event("content_block_start", R"({"type":"content_block_start","index":)" + i +
                                            R"(,"content_block":{"type":"text","text":""}})");
    for (std::size_t p = 0; p < turn.text.size(); p += 16) {
      out += event("content_block_delta", R"({"type":"content_block_delta","index":)" + i +
                                              R"(,"delta":{"type":"text_delta","text":)" +
                                              quoted(turn.text.substr(p, 16)) + "}}");
    }
    out += event("content_block_stop", R"({"type":"content_block_stop","index":)" + i + "}");
  }
  if (!turn.tool_name.empty()) {
    const auto i = std::to_string(index++);
    out += event("content_block_start", R"({"type":"content_block_start","index":)" + i +
                                            R"(,"content_block":{"type":"tool_use","id":)" +
                                            quoted(turn.tool_id) + R"(,"name":)" +
                                            quoted(turn.tool_name) + R"(,"input":{}}})");
    const auto half = turn.tool_input_json.size() / 2;
    for (const auto& part :
         {turn.tool_input_json.substr(0, half), turn.tool_input_json.substr(half)}) {
      out +=
          event("content_block_delta",
                R"({"type":"content_block_delta","index":)" + i +
                    R"(,"delta":{"type":"input_json_delta","partial_json":)" + quoted(part) + "}}");
    }
    out += event("content_block_stop", R"({"type":"content_block_stop","index":)" + i + "}");
  }
  out += event("message_delta", std::string(R"({"type":"message_delta","delta":{"stop_reason":")") +
                                    (turn.tool_name.empty() ? "end_turn" : "tool_use") +
                                    R"(","stop_sequence":null},"usage":{"output_tokens":12}})");
  out += event("message_stop", R"({"type":"message_stop"})");
  return out;
}

std::string fake_anthropic_server::base_url() const {
  return server_.url("");
}

void fake_anthropic_server::script(const std::vector<fake_anthropic_turn>& turns) {
  std::vector<http_response> responses;
  for (const auto& t : turns) {
    http_response r;
    if (t.status != 200) {
      r.status = t.status;
      r.body = R"({"type":"error","error":{"type":)" + quoted(t.error_type) + R"(,"message":)" +
               quoted(t.error_message) + "}}";
      r.headers.emplace_back("Content-Type", "application/json");
    } else {
      r.body = anthropic_sse_body(t);
      r.headers.emplace_back("Content-Type", "text/event-stream");
    }
    r.hang = t.hang;
    responses.push_back(std::move(r));
  }
  server_.route(path, std::move(responses));
}

std::size_t fake_anthropic_server::request_count() const {
  return server_.request_count(path);
}

std::vector<std::string> fake_anthropic_server::request_bodies() const {
  std::vector<std::string> out;
  for (const auto& p : server_.puts())
    if (p.path == path)
      out.push_back(p.body_head);
  return out;
}

} // namespace agentrt::test

// Scripted OpenAI Responses API streams on top of http_test_server. Codex needs only the
// events below: it builds its items from response.output_item.done and ends the model turn on
// response.completed (a function_call item makes it run the tool and ask again).
#include "support/fake_responses_server.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace agentrt::test {

namespace {

const char* const responses_path = "/v1/responses";

std::string json_string(const std::string& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  return buf.GetString();
}

std::string sse_event(const char* type, const std::string& data) {
  return std::string("event: ") + type + "\ndata: " + data + "\n\n";
}

} // namespace

std::string responses_message_item(const std::string& text) {
  return R"({"type":"message","role":"assistant","status":"completed","content":[{"type":"output_text","text":)" +
         json_string(text) + R"(,"annotations":[]}]})";
}

std::string responses_function_call_item(const std::string& call_id, const std::string& name,
                                         const std::string& arguments_json,
                                         const std::string& name_space) {
  std::string item = R"({"type":"function_call","status":"completed","call_id":)" +
                     json_string(call_id) + R"(,"name":)" + json_string(name);
  // MCP tools are offered to the model in namespaces ("mcp__SERVER"); a call names both.
  if (!name_space.empty())
    item += R"(,"namespace":)" + json_string(name_space);
  return item + R"(,"arguments":)" + json_string(arguments_json) + "}";
}

std::string responses_custom_tool_call_item(const std::string& call_id, const std::string& name,
                                            const std::string& input) {
  return R"({"type":"custom_tool_call","status":"completed","call_id":)" + json_string(call_id) +
         R"(,"name":)" + json_string(name) + R"(,"input":)" + json_string(input) + "}";
}

fake_responses_turn fake_responses_turn::say(std::string text) {
  fake_responses_turn t;
  t.items.push_back(responses_message_item(text));
  return t;
}

fake_responses_turn fake_responses_turn::exec(std::string call_id, std::string cmd) {
  fake_responses_turn t;
  t.items.push_back(
      responses_function_call_item(call_id, "exec_command", "{\"cmd\":" + json_string(cmd) + "}"));
  return t;
}

fake_responses_turn fake_responses_turn::error(int status, std::string message) {
  fake_responses_turn t;
  t.status = status;
  t.error_body = R"({"error":{"message":)" + json_string(message) +
                 R"(,"type":"invalid_request_error","param":null,"code":null}})";
  return t;
}

fake_responses_turn& fake_responses_turn::with_item(std::string item_json) {
  items.insert(items.empty() ? items.end() : items.end() - 1, std::move(item_json));
  return *this;
}

fake_responses_turn& fake_responses_turn::with_reasoning(std::string summary) {
  return with_item(R"({"type":"reasoning","summary":[{"type":"summary_text","text":)" +
                   json_string(summary) + "}]}");
}

fake_responses_turn& fake_responses_turn::with_message(std::string text) {
  return with_item(responses_message_item(text));
}

std::string responses_sse_body(const fake_responses_turn& turn, const std::string& response_id) {
  const std::string id = json_string(response_id);
  std::string out = sse_event("response.created",
                              R"({"type":"response.created","response":{"id":)" + id +
                                  R"(,"object":"response","status":"in_progress","output":[]}})");
  for (std::size_t i = 0; i < turn.items.size(); ++i) {
    // Items get ids as a real server's do; codex sends them back in the next request's input.
    std::string item = turn.items[i];
    item.insert(1, "\"id\":\"item_" + response_id + "_" + std::to_string(i) + "\",");
    out += sse_event("response.output_item.done",
                     R"({"type":"response.output_item.done","output_index":)" + std::to_string(i) +
                         R"(,"item":)" + item + "}");
  }
  if (turn.incomplete)
    return out;
  out += sse_event("response.completed",
                   R"({"type":"response.completed","response":{"id":)" + id +
                       R"(,"object":"response","status":"completed","usage":{"input_tokens":12,)"
                       R"("input_tokens_details":{"cached_tokens":0},"output_tokens":7,)"
                       R"("output_tokens_details":{"reasoning_tokens":0},"total_tokens":19}}})");
  return out;
}

std::string fake_responses_server::base_url() const {
  return server_.url("/v1");
}

void fake_responses_server::script(const std::vector<fake_responses_turn>& turns) {
  std::vector<http_response> answers;
  for (std::size_t n = 0; n < turns.size(); ++n) {
    const auto& t = turns[n];
    http_response r;
    r.status = t.status;
    r.hang = t.hang;
    const bool streamed = t.status == 200;
    r.body = streamed ? responses_sse_body(t, "resp_" + std::to_string(n + 1)) : t.error_body;
    r.headers.emplace_back("Content-Type", streamed ? "text/event-stream" : "application/json");
    answers.push_back(std::move(r));
  }
  server_.route(responses_path, std::move(answers));
}

std::size_t fake_responses_server::request_count() const {
  return server_.request_count(responses_path);
}

std::vector<std::string> fake_responses_server::request_bodies() const {
  std::vector<std::string> bodies;
  for (const auto& put : server_.puts())
    if (put.path == responses_path)
      bodies.push_back(put.body_head);
  return bodies;
}

} // namespace agentrt::test

// Scripted chat completions over SSE on top of http_test_server.
#include "support/fake_openai_server.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace agentrt::test {

namespace {

const char* const path = "/v1/chat/completions";

std::string quoted(const std::string& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  return buf.GetString();
}

std::string chunk(const std::string& delta, const std::string& finish = "null") {
  return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"fake\","
         "\"choices\":[{\"index\":0,\"delta\":" +
         delta + ",\"finish_reason\":" + finish + "}]}\n\n";
}

} // namespace

fake_chat_turn fake_chat_turn::say(std::string text) {
  fake_chat_turn t;
  t.text = std::move(text);
  return t;
}

fake_chat_turn fake_chat_turn::shell(std::string id, std::string command) {
  fake_chat_turn t;
  t.tool_calls.push_back({std::move(id), "shell", "{\"command\":" + quoted(command) + "}"});
  return t;
}

fake_chat_turn fake_chat_turn::error(int status, std::string message) {
  fake_chat_turn t;
  t.status = status;
  t.error_body =
      "{\"error\":{\"message\":" + quoted(message) + ",\"type\":\"invalid_request_error\"}}";
  return t;
}

std::string chat_sse_body(const fake_chat_turn& turn) {
  std::string out = chunk(R"({"role":"assistant","content":""})");
  // Deltas cut at arbitrary points, as real servers do.
  for (std::size_t i = 0; i < turn.text.size(); i += 7)
    out += chunk("{\"content\":" + quoted(turn.text.substr(i, 7)) + "}");
  for (std::size_t i = 0; i < turn.tool_calls.size(); ++i) {
    const auto& tc = turn.tool_calls[i];
    const auto idx = std::to_string(i);
    const auto half = tc.arguments.size() / 2;
    out += chunk(R"({"tool_calls":[{"index":)" + idx + R"(,"id":)" + quoted(tc.id) +
                 R"(,"type":"function","function":{"name":)" + quoted(tc.name) +
                 R"(,"arguments":)" + quoted(tc.arguments.substr(0, half)) + "}}]}");
    out += chunk(R"({"tool_calls":[{"index":)" + idx + R"(,"function":{"arguments":)" +
                 quoted(tc.arguments.substr(half)) + "}}]}");
  }
  out += chunk("{}", turn.tool_calls.empty() ? "\"stop\"" : "\"tool_calls\"");
  out += "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[],"
         "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7,\"total_tokens\":18}}\n\n";
  out += "data: [DONE]\n\n";
  return out;
}

std::string fake_openai_server::base_url() const {
  return server_.url("/v1");
}

void fake_openai_server::script(const std::vector<fake_chat_turn>& turns) {
  std::vector<http_response> responses;
  for (const auto& t : turns) {
    http_response r;
    if (t.status != 200) {
      r.status = t.status;
      r.body = t.error_body;
      r.headers.emplace_back("Content-Type", "application/json");
      if (!t.retry_after.empty())
        r.headers.emplace_back("Retry-After", t.retry_after);
    } else {
      r.body = chat_sse_body(t);
      r.headers.emplace_back("Content-Type", "text/event-stream");
    }
    r.hang = t.hang;
    responses.push_back(std::move(r));
  }
  server_.route(path, std::move(responses));
}

std::size_t fake_openai_server::request_count() const {
  return server_.request_count(path);
}

std::vector<std::string> fake_openai_server::request_bodies() const {
  std::vector<std::string> out;
  for (const auto& p : server_.puts())
    if (p.path == path)
      out.push_back(p.body_head);
  return out;
}

} // namespace agentrt::test

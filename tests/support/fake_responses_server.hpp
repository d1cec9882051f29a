// A fake OpenAI Responses API on 127.0.0.1 for driving the real Codex CLI: each POST
// /v1/responses gets the next scripted turn as an SSE stream (response.created, one
// response.output_item.done per output item, response.completed with usage), an HTTP error
// document, or a hang. Records the request bodies so tests can check what codex sent
// (developer instructions, the output schema, the history of a resumed session).
#pragma once

#include <string>
#include <vector>

#include "support/http_test_server.hpp"

namespace agentrt::test {

struct fake_responses_turn {
  // Response output items as JSON text, in order, e.g. a message or a function_call.
  std::vector<std::string> items;
  int status = 200;        // non-200: error_body is sent instead of a stream
  std::string error_body;  // {"error":{"message":...,"type":...}}
  bool hang = false;       // reads the request, never answers
  bool incomplete = false; // the stream ends without response.completed, like a dropped one

  // An assistant message with one output_text part.
  static fake_responses_turn say(std::string text);
  // A call of codex's exec_command tool running cmd.
  static fake_responses_turn exec(std::string call_id, std::string cmd);
  static fake_responses_turn error(int status, std::string message);
  // Further items inserted before the turn's last one (reasoning, a message before a call).
  fake_responses_turn& with_reasoning(std::string summary);
  fake_responses_turn& with_message(std::string text);
  fake_responses_turn& with_item(std::string item_json);
};

// Output item JSON for the most common shapes.
std::string responses_message_item(const std::string& text);
std::string responses_function_call_item(const std::string& call_id, const std::string& name,
                                         const std::string& arguments_json,
                                         const std::string& name_space = {});
std::string responses_custom_tool_call_item(const std::string& call_id, const std::string& name,
                                            const std::string& input);

// The SSE body of one streamed turn; response_id names the response.
std::string responses_sse_body(const fake_responses_turn& turn, const std::string& response_id);

class fake_responses_server {
public:
  // "http://127.0.0.1:PORT/v1": what a codex model provider's base_url is set to.
  std::string base_url() const;
  // Request n gets turns[min(n, size-1)].
  void script(const std::vector<fake_responses_turn>& turns);
  std::size_t request_count() const;
  // The first 64 KiB of each request body, in order.
  std::vector<std::string> request_bodies() const;
  std::vector<http_request_record> requests() const { return server_.requests(); }

private:
  http_test_server server_;
};

} // namespace agentrt::test

// A fake OpenAI-compatible server on 127.0.0.1 for the native openai loop: each POST
// /v1/chat/completions gets the next scripted turn as a streamed SSE answer (text deltas, tool
// call deltas split mid-arguments, usage, [DONE]), an HTTP error, or a hang. Records the
// request bodies so tests can check what the loop sent back (tool results, response_format).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/http_test_server.hpp"

namespace agentrt::test {

struct fake_chat_turn {
  std::string text; // streamed as several content deltas
  struct tool_call {
    std::string id;
    std::string name;
    std::string arguments; // JSON text
  };
  std::vector<tool_call> tool_calls;
  int status = 200;        // non-200: error_body is sent instead of a stream
  std::string error_body;  // e.g. {"error":{"message":"..."}}
  bool hang = false;       // never answers
  std::string retry_after; // a Retry-After header on an error answer, when not empty

  static fake_chat_turn say(std::string text);
  static fake_chat_turn shell(std::string id, std::string command);
  static fake_chat_turn error(int status, std::string message);
};

// The SSE body of one streamed turn.
std::string chat_sse_body(const fake_chat_turn& turn);

class fake_openai_server {
public:
  fake_openai_server() = default;
  // "http://127.0.0.1:PORT/v1"
  std::string base_url() const;
  // Request n gets turns[min(n, size-1)].
  void script(const std::vector<fake_chat_turn>& turns);
  std::size_t request_count() const;
  // The first 64 KiB of each request body, in order.
  std::vector<std::string> request_bodies() const;
  std::vector<http_request_record> requests() const { return server_.requests(); }

private:
  http_test_server server_;
};

} // namespace agentrt::test

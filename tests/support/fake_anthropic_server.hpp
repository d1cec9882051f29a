// A fake Anthropic Messages API on 127.0.0.1 for driving the real Claude Code (and OpenCode)
// CLIs: each POST /v1/messages gets the next scripted turn as the standard SSE sequence
// (message_start, content_block_start/delta/stop, message_delta, message_stop) with thinking,
// text and tool_use blocks, an HTTP error document, or a hang.
#pragma once

#include <string>
#include <vector>

#include "support/http_test_server.hpp"

namespace agentrt::test {

struct fake_anthropic_turn {
  std::string thinking;  // a thinking block (before the others) when non-empty
  std::string text;      // a text block when non-empty
  std::string tool_name; // a tool_use block when non-empty
  std::string tool_id;
  std::string tool_input_json; // the tool's input object as JSON text
  int status = 200;
  std::string error_type; // for status != 200
  std::string error_message;
  bool hang = false;

  static fake_anthropic_turn say(std::string text);
  static fake_anthropic_turn tool(std::string id, std::string name, std::string input_json);
  static fake_anthropic_turn error(int status, std::string type, std::string message);
  // Adds a thinking block to this turn.
  fake_anthropic_turn with_thinking(std::string text) &&;
};

std::string anthropic_sse_body(const fake_anthropic_turn& turn);

class fake_anthropic_server {
public:
  std::string base_url() const; // "http://127.0.0.1:PORT"
  void script(const std::vector<fake_anthropic_turn>& turns);
  std::size_t request_count() const;
  std::vector<std::string> request_bodies() const; // first 64 KiB of each

private:
  http_test_server server_;
};

} // namespace agentrt::test

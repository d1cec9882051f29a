// One streamed chat completion of an OpenAI-compatible endpoint, accumulated from its SSE body
// ("data: {...}" lines, then "data: [DONE]"). Pure: no I/O, so the fuzzers and unit tests feed
// it bytes directly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentrt::runtime::harness {

struct chat_tool_call {
  std::string id;
  std::string name;
  std::string arguments; // JSON text as streamed
};

class chat_stream {
public:
  // Any split of the body into calls gives the same result.
  void write(std::string_view bytes);
  bool done() const noexcept { return done_; } // "data: [DONE]" seen

  std::string content;
  std::string reasoning; // reasoning_content / reasoning deltas, when the server sends them
  std::vector<chat_tool_call> tool_calls;
  std::string finish_reason;
  std::int64_t prompt_tokens = -1;
  std::int64_t completion_tokens = -1;
  std::string error; // an {"error":{...}} event inside the stream

private:
  void on_data(std::string_view data);
  std::string partial_;
  bool done_ = false;
};

} // namespace agentrt::runtime::harness

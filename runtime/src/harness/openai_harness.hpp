// The native agent loop over an OpenAI-compatible POST {base}/chat/completions endpoint
// (OpenAI, Ollama, vLLM, llama.cpp, LM Studio): streamed completions read through libcurl on a
// transfer engine of its own (one thread for every run's requests, so a model that thinks for
// minutes holds up no other invocation), a `shell` tool that runs commands in the request's
// process scope
// like protocol commands do, a turn limit, and response_format json_schema for structured
// output. Conversations are kept in memory so resume_session_id can continue one.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "harness/harness.hpp"
#include "transfer/transfer_engine.hpp"

namespace agentrt::runtime::harness {

struct chat_tool_call {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text as streamed
};

// One streamed chat completion, accumulated from its SSE body. Pure, for unit tests.
class chat_stream {
 public:
  void write(std::string_view bytes);
  bool done() const noexcept { return done_; }  // "data: [DONE]" seen

  std::string content;
  std::string reasoning;  // reasoning_content / reasoning deltas, when the server sends them
  std::vector<chat_tool_call> tool_calls;
  std::string finish_reason;
  std::int64_t prompt_tokens = -1;
  std::int64_t completion_tokens = -1;
  std::string error;  // an {"error":{...}} event inside the stream

 private:
  void on_data(std::string_view data);
  std::string partial_;
  bool done_ = false;
};

class openai_harness : public harness {
 public:
  explicit openai_harness(harness_config config);
  ~openai_harness() override;
  std::string name() const override { return "openai"; }
  std::shared_ptr<harness_run> start(asio::io_context& io, process::process_reaper& reaper,
                                     process::process_scope& scope, const invocation& inv,
                                     harness_callbacks callbacks, done_handler on_done) override;

  // Stored conversations (messages array JSON) by session id, oldest evicted first.
  struct session_store {
    std::map<std::string, std::string> messages;
    std::deque<std::string> order;
    void put(const std::string& id, std::string messages_json);
    const std::string* find(const std::string& id) const;
  };

 private:
  harness_config config_;
  transfer::transfer_engine engine_;
  std::shared_ptr<session_store> sessions_;
};

}  // namespace agentrt::runtime::harness

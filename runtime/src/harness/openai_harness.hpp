// The native agent loop over an OpenAI-compatible POST {base}/chat/completions endpoint
// (OpenAI, Ollama, vLLM, llama.cpp, LM Studio): streamed completions read through libcurl on a
// transfer engine of its own (one thread for every run's requests, so a model that thinks for
// minutes holds up no other invocation), a `shell` tool that runs commands in the request's
// process scope like protocol commands do, an `edit_file` tool (edit_tool.hpp), a turn limit,
// a token budget, 429/5xx retries that honour Retry-After, and response_format json_schema for
// structured output. Conversations are kept in memory so resume_session_id can continue one.
#pragma once

#include <memory>
#include <string>

#include "harness/chat_stream.hpp" // chat_stream, the SSE accumulator the tests drive directly
#include "harness/harness.hpp"
#include "harness/openai_session_store.hpp"
#include "transfer/transfer_engine.hpp"

namespace agentrt::runtime::harness {

class openai_harness : public harness {
public:
  explicit openai_harness(harness_config config);
  ~openai_harness() override;
  std::string name() const override { return "openai"; }
  std::shared_ptr<harness_run> start(asio::io_context& io, process::process_reaper& reaper,
                                     process::process_scope& scope, const invocation& inv,
                                     harness_callbacks callbacks, done_handler on_done) override;

private:
  harness_config config_;
  transfer::transfer_engine engine_;
  std::shared_ptr<openai_session_store> sessions_;
};

} // namespace agentrt::runtime::harness

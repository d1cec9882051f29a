// The handler examples the documentation shows, run as users run them: `agentrt --handler
// docs/examples/handler.py` (docs/protocol.md) and the runtimeuse module shim
// (docs/migrating-from-runtimeuse.md), behind a real runtime and a real WebSocket session.
// tests/docs checks that the documents show these files verbatim.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include <gtest/gtest.h>

#include "agentrt/protocol/codec.hpp"
#include "support/protocol_helpers.hpp"
#include "support/runtime_process.hpp"
#include "support/ws_test_client.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;

const std::string examples = AGENTRT_DOCS_EXAMPLES_DIR;

p::invocation_message invocation(const std::string& prompt) {
  p::invocation_message m;
  m.system_prompt = "be brief";
  m.user_prompt = prompt;
  m.model = "test-model";
  m.source_id = "docs-example";
  return m;
}

template <class T> std::vector<const T*> all_of(const std::vector<p::message>& msgs) {
  std::vector<const T*> out;
  for (const auto& m : msgs)
    if (auto* x = as<T>(m))
      out.push_back(x);
  return out;
}

bool on_path(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

// A runtime started with an example as its handler, and one session to it.
class ExampleSession : public ::testing::Test {
protected:
  void start(std::vector<std::string> args, std::vector<std::string> env = {}) {
    rt_ = std::make_unique<runtime_process>(std::move(args), std::move(env));
    auto r = ws_test_client::connect(rt_->url());
    ASSERT_TRUE(r.client) << r.error;
    c_ = std::move(r.client);
  }
  // Every message of one request, up to and including its terminal.
  std::vector<p::message> request(const p::message& m) {
    c_->send(m);
    return c_->receive_until_terminal();
  }

  std::unique_ptr<runtime_process> rt_;
  std::unique_ptr<ws_test_client> c_;
};

// docs/examples/handler.py in a working directory with two known files.
class PythonHandlerExample : public ExampleSession {
protected:
  void SetUp() override {
    work_ = make_temp_dir("agentrt-docs-handler-");
    std::ofstream(work_ + "/a.txt") << "a";
    std::ofstream(work_ + "/b.md") << "b";
    start({"--handler", examples + "/handler.py", "--workdir", work_, "--kill-grace", "1"});
  }

  std::string work_;
};

TEST_F(PythonHandlerExample, TextAnswerAfterAnAssistantMessageWithoutEventsByDefault) {
  auto msgs = request(invocation("What is here?"));
  auto* r = as<p::result_message>(msgs.back());
  ASSERT_NE(r, nullptr) << p::encode(msgs.back()) << rt_->log();
  EXPECT_EQ(r->data.type, p::result_data::kind::text);
  EXPECT_EQ(r->data.text, "2 files here: a.txt, b.md");
  EXPECT_NE(r->metadata.json.find(R"("num_turns":1)"), std::string::npos) << r->metadata.json;
  EXPECT_NE(r->metadata.json.find(R"("model":"test-model")"), std::string::npos)
      << r->metadata.json;
  const auto assistants = all_of<p::assistant_message>(msgs);
  ASSERT_EQ(assistants.size(), 1u);
  EXPECT_EQ(assistants[0]->text_blocks,
            std::vector<std::string>{"Looking at " + work_ + " to answer: What is here?"});
  EXPECT_EQ(count_of<p::agent_event_message>(msgs), 0u) << "the client did not ask for events";
  // The handler's stderr line is in the runtime's log, under the request's source_id.
  EXPECT_NE(rt_->log().find("[docs-example] harness: handler: session "), std::string::npos)
      << rt_->log();
}

TEST_F(PythonHandlerExample, EventsForAClientThatAsksForThem) {
  auto m = invocation("What is here?");
  m.client_capabilities = {"agent_events"};
  auto msgs = request(m);
  ASSERT_NE(as<p::result_message>(msgs.back()), nullptr) << p::encode(msgs.back());
  const auto events = all_of<p::agent_event_message>(msgs);
  std::vector<std::string> kinds;
  for (auto* e : events)
    kinds.push_back(e->event);
  ASSERT_EQ(kinds, (std::vector<std::string>{"session", "tool_use", "tool_result", "usage"}));
  EXPECT_EQ(events[1]->data.json,
            R"({"id":"call-1","name":"list_files","input":{"directory":"."}})");
  EXPECT_EQ(events[2]->data.json, R"({"id":"call-1","output":"a.txt\nb.md","is_error":false})");
}

TEST_F(PythonHandlerExample, StructuredOutputIsValidatedAgainstTheSchema) {
  auto m = invocation("Count the files");
  m.output_format_json_schema_str =
      R"({"type":"json_schema","schema":{"type":"object","properties":{"file_count":{"type":"integer"},)"
      R"("files":{"type":"array","items":{"type":"string"}}},"required":["file_count","files"]}})";
  auto msgs = request(m);
  auto* r = as<p::result_message>(msgs.back());
  ASSERT_NE(r, nullptr) << p::encode(msgs.back());
  EXPECT_EQ(r->data.type, p::result_data::kind::structured_output);
  EXPECT_EQ(r->data.structured_output.json,
            R"({"answer":"2 files here: a.txt, b.md","file_count":2,"files":["a.txt","b.md"]})");

  // A schema the example's answer does not meet fails the request, quoting why.
  m.output_format_json_schema_str =
      R"({"type":"json_schema","schema":{"type":"object","required":["summary"]}})";
  msgs = request(m);
  auto* e = as<p::error_message>(msgs.back());
  ASSERT_NE(e, nullptr) << p::encode(msgs.back());
  EXPECT_EQ(e->error.rfind("structured output does not match the schema: ", 0), 0u) << e->error;
  EXPECT_NE(e->error.find("\"required\""), std::string::npos) << e->error;
}

TEST_F(PythonHandlerExample, ErrorLineBecomesTheRequestsOneErrorMessage) {
  auto msgs = request(invocation("   "));
  auto* e = as<p::error_message>(msgs.back());
  ASSERT_NE(e, nullptr) << p::encode(msgs.back());
  EXPECT_EQ(e->error, "the prompt is empty");
  EXPECT_EQ(e->metadata.json, R"({"code":"empty_prompt"})");
  EXPECT_EQ(count_of<p::error_message>(msgs), 1u);
  // The session goes on.
  msgs = request(invocation("again?"));
  ASSERT_NE(as<p::result_message>(msgs.back()), nullptr) << p::encode(msgs.back());
}

TEST_F(PythonHandlerExample, ResumeKeepsTheSessionIdAndSecretsAreRedacted) {
  auto m = invocation("What is here?");
  m.resume_session_id = "conversation-42";
  m.secrets_to_redact = {"b.md"};
  auto msgs = request(m);
  auto* r = as<p::result_message>(msgs.back());
  ASSERT_NE(r, nullptr) << p::encode(msgs.back());
  EXPECT_NE(r->metadata.json.find(R"("session_id":"conversation-42")"), std::string::npos)
      << r->metadata.json;
  EXPECT_EQ(r->data.text, "2 files here: a.txt, [REDACTED]");
}

// docs/examples/runtimeuse_handler_shim.mjs with a small runtimeuse AgentHandler module.
class RuntimeuseShimExample : public ExampleSession {
protected:
  void SetUp() override {
    if (!on_path("node"))
      GTEST_SKIP() << "node is not installed: the shim cannot run";
    dir_ = make_temp_dir("agentrt-docs-shim-");
    module_ = dir_ + "/echo-handler.mjs";
    std::ofstream(module_) << R"JS(
import { writeFileSync } from "node:fs";
export default {
  async run(invocation, sender) {
    writeFileSync(new URL("./node.pid", import.meta.url), String(process.pid));
    console.log("console.log must not reach the protocol");
    sender.sendAssistantMessage(["thinking about " + invocation.userPrompt]);
    if (invocation.userPrompt === "fail") throw new Error("model exploded");
    if (invocation.userPrompt === "wait") {
      await new Promise((_, reject) =>
        invocation.signal.addEventListener("abort", () => reject(new Error("aborted"))));
    }
    if (invocation.outputFormat)
      return { type: "structured_output", structuredOutput: { echo: invocation.userPrompt } };
    return { type: "text", text: "echo: " + invocation.userPrompt + " " + invocation.env.GREETING,
             metadata: { model: invocation.model } };
  },
};
)JS";
    start({"--handler", examples + "/runtimeuse_handler_shim.mjs", "--kill-grace", "2"},
          {"RUNTIMEUSE_HANDLER_MODULE=" + module_});
  }

  std::string dir_;
  std::string module_;
};

TEST_F(RuntimeuseShimExample, ModuleResultsAssistantMessagesAndErrors) {
  auto m = invocation("hello");
  m.agent_env = p::string_map{{"GREETING", "from agent_env"}};
  auto msgs = request(m);
  auto* r = as<p::result_message>(msgs.back());
  ASSERT_NE(r, nullptr) << p::encode(msgs.back()) << rt_->log();
  EXPECT_EQ(r->data.text, "echo: hello from agent_env");
  EXPECT_EQ(r->metadata.json, R"({"model":"test-model"})");
  const auto assistants = all_of<p::assistant_message>(msgs);
  ASSERT_EQ(assistants.size(), 1u);
  EXPECT_EQ(assistants[0]->text_blocks, std::vector<std::string>{"thinking about hello"});
  EXPECT_NE(rt_->log().find("console.log must not reach the protocol"), std::string::npos);
  EXPECT_EQ(rt_->log().find("ignored output line"), std::string::npos) << rt_->log();

  auto s = invocation("structured");
  s.output_format_json_schema_str =
      R"({"type":"json_schema","schema":{"type":"object","required":["echo"]}})";
  msgs = request(s);
  r = as<p::result_message>(msgs.back());
  ASSERT_NE(r, nullptr) << p::encode(msgs.back());
  EXPECT_EQ(r->data.structured_output.json, R"({"echo":"structured"})");

  msgs = request(invocation("fail"));
  auto* e = as<p::error_message>(msgs.back());
  ASSERT_NE(e, nullptr) << p::encode(msgs.back());
  EXPECT_EQ(e->error, "model exploded");
}

TEST_F(RuntimeuseShimExample, CancelAbortsTheModulesSignal) {
  c_->send(invocation("wait"));
  auto first = c_->receive(20s);
  ASSERT_TRUE(first);
  ASSERT_NE(as<p::assistant_message>(*first), nullptr) << p::encode(*first);
  const auto started = std::chrono::steady_clock::now();
  c_->send(p::cancel_message{});
  auto msgs = c_->receive_until_terminal(20s);
  auto* e = as<p::error_message>(msgs.back());
  ASSERT_NE(e, nullptr) << p::encode(msgs.back());
  EXPECT_EQ(e->error, "Request cancelled");
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  std::cout << "[ figures  ] shim cancel -> Request cancelled: " << took.count() << " ms\n";
  // This test's node process only: other tests may run the shim at the same time.
  const std::string pid = read_whole_file(dir_ + "/node.pid");
  ASSERT_FALSE(pid.empty());
  const std::string stat = read_whole_file("/proc/" + pid + "/stat");
  EXPECT_TRUE(stat.empty() || stat.find(") Z ") != std::string::npos)
      << "node is still running: " << stat;
}

} // namespace
} // namespace agentrt::test

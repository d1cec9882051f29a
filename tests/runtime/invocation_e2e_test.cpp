// invocation_message end to end through the real runtime with --handler: the pipeline order
// (downloadables -> pre-commands -> harness -> post-commands -> result), the behaviours the
// published Python client relies on, and cancel.
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "agentrt/protocol/codec.hpp"
#include "support/http_test_server.hpp"
#include "support/protocol_helpers.hpp"
#include "support/runtime_process.hpp"
#include "support/ws_test_client.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;

// A custom handler: reads the invocation line, acts on the user prompt, prints JSON lines.
constexpr const char* handler_script = R"PY(#!/usr/bin/env python3
import json, sys, time, os
inv = json.loads(sys.stdin.readline())
prompt = inv["user_prompt"]
def emit(o):
    print(json.dumps(o), flush=True)
if prompt.startswith("echo:"):
    emit({"type": "result", "data": {"type": "text", "text": prompt[5:]}, "metadata": {"model": inv["model"]}})
elif prompt == "stream":
    for i in range(5):
        emit({"type": "assistant", "text_blocks": ["block %d" % i]})
    emit({"type": "result", "data": {"type": "text", "text": "done"}, "metadata": {}})
elif prompt == "structured":
    emit({"type": "result", "data": {"type": "structured_output", "structured_output": {"answer": 42, "nested": {"list": [1, "two", None]}}}, "metadata": {}})
elif prompt == "fail":
    emit({"type": "error", "error": "model exploded", "metadata": {"why": "test"}})
    sys.exit(3)
elif prompt == "read-download":
    emit({"type": "result", "data": {"type": "text", "text": open(os.environ["DL_FILE"]).read()}, "metadata": {}})
elif prompt == "write-artifact":
    with open(os.environ["ART_DIR"] + "/agent-report.txt", "w") as f:
        f.write("made by the agent")
    emit({"type": "result", "data": {"type": "text", "text": "wrote"}, "metadata": {}})
elif prompt == "leak":
    emit({"type": "assistant", "text_blocks": ["the key is " + inv["env"].get("API_KEY", "?")]})
    emit({"type": "result", "data": {"type": "text", "text": "key=" + inv["env"].get("API_KEY", "?")}, "metadata": {}})
elif prompt == "slow":
    emit({"type": "assistant", "text_blocks": ["working"]})
    os.system("sleep 100.8181 &")
    time.sleep(100)
)PY";

class Invocation : public ::testing::Test {
protected:
  void SetUp() override {
    root_ = make_temp_dir("agentrt-inv-");
    handler_ = root_ + "/handler.py";
    std::ofstream(handler_) << handler_script;
    ASSERT_EQ(::chmod(handler_.c_str(), 0755), 0);
    rt_ = std::make_unique<runtime_process>(
        std::vector<std::string>{"--handler", handler_, "--kill-grace", "1"});
    auto r = ws_test_client::connect(rt_->url());
    ASSERT_TRUE(r.client) << r.error;
    c_ = std::move(r.client);
  }
  void TearDown() override { std::system(("rm -rf " + root_).c_str()); }

  static p::invocation_message invocation(const std::string& prompt) {
    p::invocation_message m;
    m.system_prompt = "be brief";
    m.user_prompt = prompt;
    m.model = "test-model";
    return m;
  }

  std::string root_;
  std::string handler_;
  std::unique_ptr<runtime_process> rt_;
  std::unique_ptr<ws_test_client> c_;
};

TEST_F(Invocation, TextResultEchoesExactly) {
  c_->send(invocation("echo:hello \"world\" \xC3\xA9"));
  auto msgs = c_->receive_until_terminal();
  auto* r = as<p::result_message>(msgs.back());
  ASSERT_NE(r, nullptr) << p::encode(msgs.back());
  EXPECT_EQ(r->data.type, p::result_data::kind::text);
  EXPECT_EQ(r->data.text, "hello \"world\" \xC3\xA9");
  EXPECT_NE(r->metadata.json.find("test-model"), std::string::npos) << r->metadata.json;
}

TEST_F(Invocation, StructuredResultRoundTripsNestedJson) {
  auto m = invocation("structured");
  m.output_format_json_schema_str =
      R"({"type":"json_schema","schema":{"type":"object","properties":{"answer":{"type":"integer"}},"required":["answer"]}})";
  c_->send(m);
  auto msgs = c_->receive_until_terminal();
  auto* r = as<p::result_message>(msgs.back());
  ASSERT_NE(r, nullptr) << p::encode(msgs.back());
  EXPECT_EQ(r->data.type, p::result_data::kind::structured_output);
  EXPECT_EQ(r->data.structured_output.json, R"({"answer":42,"nested":{"list":[1,"two",null]}})");
}

TEST_F(Invocation, AssistantMessagesArriveInOrderBeforeTheResult) {
  c_->send(invocation("stream"));
  auto msgs = c_->receive_until_terminal();
  std::vector<std::string> blocks;
  for (const auto& m : msgs) {
    if (auto* a = as<p::assistant_message>(m))
      blocks.insert(blocks.end(), a->text_blocks.begin(), a->text_blocks.end());
  }
  EXPECT_EQ(blocks,
            (std::vector<std::string>{"block 0", "block 1", "block 2", "block 3", "block 4"}));
  ASSERT_NE(as<p::result_message>(msgs.back()), nullptr);
}

TEST_F(Invocation, HarnessErrorSurfacesAsErrorMessageWithItsText) {
  c_->send(invocation("fail"));
  auto msgs = c_->receive_until_terminal();
  auto* e = as<p::error_message>(msgs.back());
  ASSERT_NE(e, nullptr) << p::encode(msgs.back());
  EXPECT_NE(e->error.find("model exploded"), std::string::npos) << e->error;
  EXPECT_EQ(count_of<p::error_message>(msgs), 1u); // exactly one terminal
}

TEST_F(Invocation, PipelineOrderWithPrePostCommandsCwdAndDownloads) {
  http_test_server http;
  http.route("/in/input.txt", http_response::with_status(200, "downloaded-content"));
  const std::string work = root_ + "/work";
  auto m = invocation("read-download");
  p::downloadable d;
  d.download_url = http.url("/in/input.txt");
  d.working_dir = work;
  m.pre_agent_downloadables.push_back(d);
  p::command pre;
  pre.command = "pwd; cat input.txt";
  pre.cwd = work;
  m.pre_agent_invocation_commands.push_back(pre);
  p::command post;
  post.command = "echo post-ran";
  m.post_agent_invocation_commands.push_back(post);
  m.agent_env = p::string_map{{"DL_FILE", work + "/input.txt"}};
  c_->send(m);
  auto msgs = c_->receive_until_terminal();
  auto* r = as<p::result_message>(msgs.back());
  ASSERT_NE(r, nullptr) << p::encode(msgs.back());
  EXPECT_EQ(r->data.text, "downloaded-content");
  // Output of pre and post commands streamed with the right command, in pipeline order.
  std::vector<std::string> order;
  for (const auto& x : msgs) {
    if (auto* o = as<p::command_output_message>(x))
      order.push_back(o->command + "|" + o->text);
  }
  ASSERT_GE(order.size(), 2u);
  EXPECT_EQ(order.front().substr(0, pre.command.size() + 1), pre.command + "|");
  EXPECT_NE(order.front().find(work), std::string::npos);
  EXPECT_EQ(order.back(), "echo post-ran|post-ran\n");
}

TEST_F(Invocation, FailingPreOrPostCommandFailsTheRequest) {
  auto m = invocation("echo:never");
  p::command bad;
  bad.command = "exit 7";
  m.pre_agent_invocation_commands.push_back(bad);
  c_->send(m);
  auto msgs = c_->receive_until_terminal();
  auto* e = as<p::error_message>(msgs.back());
  ASSERT_NE(e, nullptr) << p::encode(msgs.back());
  EXPECT_NE(e->error.find("pre_agent_invocation_commands[0]"), std::string::npos) << e->error;
  EXPECT_NE(e->error.find("exit code 7"), std::string::npos) << e->error;

  auto m2 = invocation("echo:ran");
  m2.post_agent_invocation_commands.push_back(bad);
  c_->send(m2);
  msgs = c_->receive_until_terminal();
  e = as<p::error_message>(msgs.back());
  ASSERT_NE(e, nullptr) << p::encode(msgs.back());
  EXPECT_NE(e->error.find("post_agent_invocation_commands[0]"), std::string::npos) << e->error;
}

TEST_F(Invocation, SecretsAreRedactedFromAssistantResultAndErrors) {
  auto m = invocation("leak");
  m.agent_env = p::string_map{{"API_KEY", "sk-very-secret"}};
  m.secrets_to_redact = {"sk-very-secret"};
  c_->send(m);
  auto msgs = c_->receive_until_terminal();
  ASSERT_NE(as<p::result_message>(msgs.back()), nullptr) << p::encode(msgs.back());
  EXPECT_EQ(as<p::result_message>(msgs.back())->data.text, "key=[REDACTED]");
  for (const auto& x : msgs)
    EXPECT_EQ(p::encode(x).find("sk-very-secret"), std::string::npos);
  EXPECT_EQ(rt_->log().find("sk-very-secret"), std::string::npos);
}

TEST_F(Invocation, ArtifactWrittenByTheHarnessIsAnnounced) {
  const std::string dir = root_ + "/artifacts";
  auto m = invocation("write-artifact");
  m.artifacts_dirs = {dir};
  m.agent_env = p::string_map{{"ART_DIR", dir}};
  c_->send(m);
  std::vector<p::message> msgs = c_->receive_until_terminal();
  bool announced = false;
  for (const auto& x : msgs) {
    if (auto* up = as<p::artifact_upload_request_message>(x))
      announced |= up->filepath == dir + "/agent-report.txt";
  }
  if (!announced) { // the announcement belongs to the session and may follow the terminal
    auto extra = c_->receive(2s);
    ASSERT_TRUE(extra);
    auto* up = as<p::artifact_upload_request_message>(*extra);
    ASSERT_NE(up, nullptr) << p::encode(*extra);
    announced = up->filepath == dir + "/agent-report.txt";
  }
  EXPECT_TRUE(announced);
}

TEST_F(Invocation, CancelDuringStreamingKillsTheHarnessTree) {
  c_->send(invocation("slow"));
  auto first = c_->receive(10s);
  ASSERT_TRUE(first);
  ASSERT_NE(as<p::assistant_message>(*first), nullptr) << p::encode(*first);
  std::this_thread::sleep_for(200ms);
  c_->send(p::cancel_message{});
  auto msgs = c_->receive_until_terminal(10s);
  auto* e = as<p::error_message>(msgs.back());
  ASSERT_NE(e, nullptr) << p::encode(msgs.back());
  EXPECT_EQ(e->error, "Request cancelled");
  EXPECT_TRUE(find_processes("sleep 100.8181").empty());
  EXPECT_TRUE(find_processes("python3 " + handler_).empty());
  c_->send(invocation("echo:again"));
  msgs = c_->receive_until_terminal();
  ASSERT_NE(as<p::result_message>(msgs.back()), nullptr) << p::encode(msgs.back());
}

TEST_F(Invocation, CommandOnlyExecutionNeverStartsTheHarness) {
  c_->send(exec_request({"echo plain"}));
  auto msgs = c_->receive_until_terminal();
  ASSERT_NE(as<p::command_execution_result_message>(msgs.back()), nullptr);
  EXPECT_EQ(rt_->log().find("harness"), rt_->log().find("harness: custom handler"));
  EXPECT_EQ(rt_->log().find("invocation_message"), std::string::npos);
}

} // namespace
} // namespace agentrt::test

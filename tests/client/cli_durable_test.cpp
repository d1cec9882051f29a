// agentrt-client and durable sessions, against a scripted peer playing the runtime: exec
// survives a drop with one notice line, --detach prints a handle (eval-able and JSON), attach
// collects the request from it (argument or environment) with the request's exit code, and the
// refusals and the missing extension have their exit codes.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "agentrt/protocol/codec.hpp"
#include "support/durable_script.hpp"
#include "support/program_run.hpp"
#include "support/scripted_peer.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;

using namespace durable_script;

program_result run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), AGENTRT_CLIENT_BINARY);
  return run_program(args);
}

std::string handle_json(const std::string& url) {
  return std::string(R"({"url":")") + url + R"(","session_id":")" + session_id +
         R"(","resume_token":")" + resume_token + R"("})";
}

TEST(ClientCliDurable, ExecSurvivesADropWithOneNotice) {
  scripted_peer peer({
      durable({scripted_peer::send(info(false, 0, 0)),
               scripted_peer::expect("command_execution_message"), out("one\n", 1),
               scripted_peer::drop()}),
      durable({scripted_peer::send(info(true, 2, 1)), out("one\n", 1), out("two\n", 2),
               exec_result(0, 3), scripted_peer::expect("end_session_message"),
               scripted_peer::send(protocol::end_session_confirm_message{}, 4)}),
  });
  auto r = run_cli({"exec", peer.url(), "--", "c"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "one\ntwo\n");
  EXPECT_EQ(r.err.rfind("agentrt-client: connection lost (", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("resumed after 1 attempt,"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(peer.wait_done()) << peer.failure();
}

TEST(ClientCliDurable, NoDurableEndsTheRequestAtTheDrop) {
  scripted_peer peer(
      {durable({scripted_peer::send(info(false, 0, 0)),
                scripted_peer::expect("command_execution_message"), scripted_peer::drop()})});
  auto r = run_cli({"exec", peer.url(), "--no-durable", "--", "c"});
  EXPECT_EQ(r.code, 69) << r.err;
  EXPECT_EQ(peer.request_headers(0).count("Agentrt-Session"), 0u);
  EXPECT_EQ(peer.connection_attempts(), 1u);
}

TEST(ClientCliDurable, DetachPrintsAnEvaluableHandleAndItsJson) {
  const auto detached = [] {
    return durable({
        scripted_peer::send(info(false, 0, 0)),
        scripted_peer::expect("command_execution_message"),
        scripted_peer::expect("detach_message"),
        scripted_peer::send(protocol::detach_confirm_message{session_id, 3600}, 1),
        scripted_peer::close(1000, "detached"),
    });
  };
  scripted_peer peer({detached(), detached()});
  auto r = run_cli({"exec", peer.url(), "--detach", "--", "sleep 100"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const std::string json = std::string(R"({"message_type":"session_handle","url":")") + peer.url() +
                           R"(","session_id":")" + session_id + R"(","resume_token":")" +
                           resume_token + R"(","expires_in_s":3600)";
  const std::string expected_shell = "export AGENTRT_URL='" + peer.url() + "' AGENTRT_SESSION='" +
                                     session_id + "' AGENTRT_RESUME_TOKEN='" + resume_token + "'\n";
  EXPECT_EQ(r.out.substr(0, expected_shell.size()), expected_shell) << r.out;
  EXPECT_EQ(r.out.substr(expected_shell.size(), 2 + json.size()), "# " + json) << r.out;

  auto j = run_cli({"exec", peer.url(), "--detach", "--json", "--", "sleep 100"});
  ASSERT_EQ(j.code, 0) << j.err;
  EXPECT_EQ(j.out.substr(0, json.size()), json) << j.out;
  EXPECT_EQ(std::count(j.out.begin(), j.out.end(), '\n'), 1) << j.out;
  // Back to back: the detach follows the request before anything is acknowledged.
  EXPECT_TRUE(peer.wait_done()) << peer.failure();
  for (const auto& f : peer.received())
    EXPECT_NE(protocol::decode(f).message_type, "ack_message");
}

TEST(ClientCliDurable, AttachCollectsTheRequestAndExitsWithItsCode) {
  for (const bool from_env : {false, true}) {
    scripted_peer peer({durable({
        scripted_peer::send(info(true, 2, 1, true)),
        out("from the start\n", 1),
        out("the rest\n", 2),
        exec_result(4, 3),
        scripted_peer::expect("end_session_message"),
        scripted_peer::send(protocol::end_session_confirm_message{}, 4),
    })});
    program_result r;
    if (from_env) {
      r = run_program({"/usr/bin/env", "AGENTRT_URL=" + peer.url(),
                       std::string("AGENTRT_SESSION=") + session_id,
                       std::string("AGENTRT_RESUME_TOKEN=") + resume_token, AGENTRT_CLIENT_BINARY,
                       "attach"});
    } else {
      // The whole output of --detach works as the handle too.
      r = run_cli({"attach", "export X=1\n# " + handle_json(peer.url()) + "\n"});
    }
    EXPECT_EQ(r.code, 4) << r.err;
    EXPECT_EQ(r.out, "from the start\nthe rest\n");
    EXPECT_TRUE(peer.wait_done()) << peer.failure();
    auto headers = peer.request_headers(0);
    EXPECT_EQ(headers["Agentrt-Session"], session_id);
    EXPECT_EQ(headers["Agentrt-Resume-Token"], resume_token);
    EXPECT_EQ(headers["Agentrt-Last-Seq"], "0");
  }
}

TEST(ClientCliDurable, RefusalsAndARuntimeWithoutTheExtensionHaveExitCodes) {
  for (const auto& [code, exit_code] : {std::pair<std::string, int>{"session_expired", 66},
                                        std::pair<std::string, int>{"resume_refused", 77}}) {
    protocol::error_message refused{"resume refused", {R"({"code":")" + code + "\"}"}};
    scripted_peer peer(
        {durable({scripted_peer::send(refused), scripted_peer::close(1008, "refused")})});
    auto r = run_cli({"attach", handle_json(peer.url()), "--json"});
    EXPECT_EQ(r.code, exit_code) << r.err;
    EXPECT_NE(r.out.find(R"("name":")" + code + "\""), std::string::npos) << r.out;
  }
  {
    scripted_peer peer({scripted_peer::pause(1s)}); // no extension
    auto r = run_cli({"exec", peer.url(), "--detach", "--", "c"});
    EXPECT_EQ(r.code, 69) << r.err;
    EXPECT_NE(r.err.find("durable"), std::string::npos) << r.err;
    EXPECT_TRUE(peer.received().empty()); // nothing was sent
  }
  auto usage = run_cli({"attach"});
  EXPECT_EQ(usage.code, 64);
  EXPECT_NE(usage.err.find("AGENTRT_SESSION"), std::string::npos) << usage.err;
  EXPECT_EQ(run_cli({"attach", "{\"url\":1}"}).code, 64);
  EXPECT_EQ(run_cli({"exec", "ws://127.0.0.1:1/", "--detach", "--no-durable", "--", "c"}).code, 64);
}

} // namespace
} // namespace agentrt::test

// Sample: the asynchronous API. Connects to a runtime on one io_loop, runs a query (answered
// with a runtime error by agentrt builds without a harness) and a command on the same session,
// then ends the session.
//
//   query_sample URL [PROMPT]       (the token from AGENTRT_TOKEN)
#include <future>
#include <iostream>

#include "agentrt/client/client.hpp"
#include "support/sample_util.hpp"

int main(int argc, char** argv) {
  if (agentrt::samples::print_version_if_asked(argc, argv, "query_sample"))
    return 0;
  namespace client = agentrt::client;
  const bool help = agentrt::samples::help_asked(argc, argv);
  if (help || argc < 2) {
    (help ? std::cout : std::cerr)
        << "usage: " << argv[0] << " URL [PROMPT]\n(the token from AGENTRT_TOKEN)\n";
    return help ? 0 : 2;
  }
  client::io_loop loop; // one I/O thread; could serve thousands of sessions
  client::connect_options connect{argv[1], agentrt::samples::env_token()};
  auto [session, error] = client::async_session::connect(loop, connect).get();
  if (!session) {
    std::cerr << error.message << "\n";
    return 2;
  }

  client::query_options q;
  q.system_prompt = "You are terse.";
  q.model = "default";
  q.timeout = std::chrono::minutes(5);
  q.on_assistant_message = [](const agentrt::protocol::assistant_message& m) {
    for (const auto& block : m.text_blocks)
      std::cerr << "assistant: " << block << "\n";
  };
  auto [result, query_error] = session->query(argc > 2 ? argv[2] : "Say hello.", q).get();
  if (query_error)
    std::cout << "query failed: " << query_error.message << "\n";
  else
    std::cout << "result: " << result.text << "\n";

  agentrt::protocol::command c;
  c.command = "echo hello from the same session";
  auto [commands, exec_error] = session->execute_commands({c}, {}).get();
  if (!exec_error)
    std::cout << commands.results.at(0).stdout_text.value_or("");

  auto end_error = session->end().get();
  return end_error || exec_error ? 1 : 0;
}

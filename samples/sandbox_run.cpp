// Sample: drive one sandbox end to end on one session — download a repository archive into it,
// run set-up commands, ask the agent a question whose answer must match a JSON Schema, save the
// answer as a file, and receive every artifact the work produced into a local directory.
//
//   sandbox_run URL --archive ARCHIVE_URL [--workdir DIR] [--setup CMD]... [--prompt TEXT]
//               [--out LOCAL_DIR] [--token T]
//
// ARCHIVE_URL is fetched by the runtime (http, https or file; zip or tar.*), e.g. a GitHub
// https://github.com/OWNER/REPO/archive/refs/heads/main.tar.gz. Files written under
// WORKDIR/out in the sandbox are uploaded to LOCAL_DIR (default ./artifacts) through a PUT
// receiver on 127.0.0.1, so the runtime must be able to reach this machine (loopback, local
// Docker). The query needs a harness in the runtime (Claude Code, the openai loop, or
// --handler); CI runs this sample against `agentrt --handler samples/tests/summary_handler.py`.
//
// Exit status: 0 on success, the failing set-up command's exit code, 2 for usage or connection
// errors, 1 for any other error.
#include <iostream>
#include <string>
#include <vector>

#include "agentrt/client/client.hpp"
#include "support/artifact_sink.hpp"
#include "support/sample_util.hpp"

namespace {

namespace client = agentrt::client;
namespace proto = agentrt::protocol;
using agentrt::samples::print_error;

// What the agent must answer with; the runtime validates the answer against it.
constexpr const char* summary_schema = R"({"type":"json_schema","schema":{
  "type":"object",
  "properties":{
    "summary":{"type":"string"},
    "file_count":{"type":"integer","minimum":0},
    "languages":{"type":"array","items":{"type":"string"}}
  },
  "required":["summary","file_count","languages"],
  "additionalProperties":false}})";

struct options {
  client::connect_options connect;
  std::string archive_url, workdir = "/tmp/agentrt-sandbox-run", out = "artifacts";
  std::string prompt = "Summarize the repository in the current directory: what it is, how "
                       "many files it has, and which languages it uses.";
  std::vector<std::string> setup;
};

int usage(const char* argv0, std::ostream& out = std::cerr, int code = 2) {
  out << "usage: " << argv0
      << " URL --archive ARCHIVE_URL [--workdir DIR] [--setup CMD]... [--prompt TEXT]"
         " [--out LOCAL_DIR] [--token T]\n"
         "(the token also from AGENTRT_TOKEN)\n";
  return code;
}

void stream_output(const proto::command_output_message& chunk) {
  (chunk.stream == "stderr" ? std::cerr : std::cout) << chunk.text << std::flush;
}

} // namespace

int main(int argc, char** argv) {
  if (agentrt::samples::print_version_if_asked(argc, argv, "sandbox_run"))
    return 0;
  if (agentrt::samples::help_asked(argc, argv))
    return usage(argv[0], std::cout, 0);
  options o;
  o.connect.token = agentrt::samples::env_token();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--archive" && has_value)
      o.archive_url = argv[++i];
    else if (arg == "--workdir" && has_value)
      o.workdir = argv[++i];
    else if (arg == "--setup" && has_value)
      o.setup.emplace_back(argv[++i]);
    else if (arg == "--prompt" && has_value)
      o.prompt = argv[++i];
    else if (arg == "--out" && has_value)
      o.out = argv[++i];
    else if (arg == "--token" && has_value)
      o.connect.token = argv[++i];
    else if (o.connect.url.empty() && arg.rfind("-", 0) != 0)
      o.connect.url = arg;
    else
      return usage(argv[0]);
  }
  if (o.connect.url.empty() || o.archive_url.empty())
    return usage(argv[0]);
  const std::string repo_dir = o.workdir + "/repo", out_dir = o.workdir + "/out";

  std::string sink_error;
  agentrt::samples::artifact_sink sink(o.out, sink_error);
  if (!sink_error.empty()) {
    std::cerr << "artifact receiver: " << sink_error << "\n";
    return 1;
  }
  auto [session, connect_error] = client::session::connect(o.connect);
  if (!session) {
    print_error("connection failed", connect_error);
    return 2;
  }

  // 1. The archive is fetched and unpacked before the set-up commands run, in the same request.
  //    The artifacts directory is registered here and stays watched for the whole session.
  client::execute_options setup;
  setup.downloadables.push_back({o.archive_url, repo_dir, std::nullopt});
  setup.artifacts_dirs = {out_dir};
  setup.on_command_output = stream_output;
  sink.attach(setup);
  std::vector<proto::command> setup_commands;
  for (const auto& text : o.setup)
    setup_commands.push_back({text, repo_dir, std::nullopt, std::nullopt, std::nullopt});
  if (setup_commands.empty()) // the request needs at least one command; list what arrived
    setup_commands.push_back({"ls -la", repo_dir, std::nullopt, std::nullopt, std::nullopt});
  auto [setup_result, setup_error] = session->execute_commands(setup_commands, setup);
  if (setup_error) {
    print_error("set-up failed", setup_error);
    return 1;
  }
  if (const int code = setup_result.failed_exit_code(); code != 0) {
    std::cerr << "set-up command \"" << setup_result.results.back().command << "\" exited " << code
              << "\n";
    session->end();
    return agentrt::samples::exit_status_of(code);
  }

  // 2. The query: its answer must validate against summary_schema.
  client::query_options query;
  query.system_prompt = "You inspect repositories. Answer only with the requested JSON.";
  query.model = "default";
  query.output_format_json_schema_str = summary_schema;
  query.timeout = std::chrono::minutes(10);
  query.on_assistant_message = [](const proto::assistant_message& m) {
    for (const auto& block : m.text_blocks)
      std::cerr << "assistant: " << block << "\n";
  };
  auto [answer, query_error] = session->query(o.prompt, query);
  if (query_error) {
    print_error("query failed", query_error);
    session->end();
    return 1;
  }
  std::cout << "structured output: " << answer.structured_output_json << "\n";

  // 3. Save the answer inside the sandbox (the stdin extension feeds it to the command); the
  //    file lands in the watched directory and is uploaded like any other artifact.
  proto::command save{"cat > " + out_dir + "/summary.json", std::nullopt, std::nullopt,
                      std::nullopt, answer.structured_output_json};
  // No upload callback here: the one given with artifacts_dirs serves the rest of the session.
  auto [save_result, save_error] = session->execute_commands({save}, {});
  if (save_error || save_result.failed_exit_code() != 0) {
    print_error("saving the answer failed", save_error);
    session->end();
    return 1;
  }

  // 4. Ending the session waits for the runtime to announce late files and finish uploads.
  if (auto end_error = session->end(); end_error)
    print_error("ending the session", end_error);
  if (!sink.wait(30000))
    std::cerr << "some artifacts did not arrive\n";
  for (const auto& name : sink.received())
    std::cout << "artifact: " << o.out << "/" << name << "\n";
  for (const auto& name : sink.failed())
    std::cerr << "artifact upload failed: " << name << "\n";
  return sink.failed().empty() ? 0 : 1;
}

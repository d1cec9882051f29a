// Sample: a CI step that runs in a sandbox. Fetches the sources, runs the test command with its
// output streamed live (lines prefixed with the stream), collects the report files the tests
// wrote as artifacts into a local directory, and exits with the test command's exit code.
//
//   ci_runner URL --test CMD [--archive ARCHIVE_URL] [--workdir DIR] [--reports DIR]
//             [--out LOCAL_DIR] [--timeout S] [--env K=V]... [--token T]
//
// --reports is relative to the sources (default: reports); files written there are uploaded to
// LOCAL_DIR (default ./ci-reports) through a PUT receiver on 127.0.0.1. Exit status: the test
// command's (0 when it passed), 2 for usage or connection errors, 1 for other errors, 124 when
// --timeout expired.
#include <iostream>
#include <string>
#include <vector>

#include "agentrt/client/client.hpp"
#include "support/artifact_sink.hpp"
#include "support/sample_util.hpp"

namespace {

namespace client = agentrt::client;
namespace proto = agentrt::protocol;

int usage(const char* argv0, std::ostream& out = std::cerr, int code = 2) {
  out << "usage: " << argv0
      << " URL --test CMD [--archive ARCHIVE_URL] [--workdir DIR] [--reports DIR]"
         " [--out LOCAL_DIR] [--timeout S] [--env K=V]... [--token T]\n"
         "(the token also from AGENTRT_TOKEN)\n";
  return code;
}

// Prefixes every line with its stream, as a CI log viewer would; a line split across chunks
// keeps a single prefix.
class log_writer {
public:
  void write(const proto::command_output_message& chunk) {
    bool& at_line_start = chunk.stream == "stderr" ? err_at_start_ : out_at_start_;
    std::ostream& out = chunk.stream == "stderr" ? std::cerr : std::cout;
    for (char c : chunk.text) {
      if (at_line_start)
        out << (chunk.stream == "stderr" ? "[test:err] " : "[test] ");
      out << c;
      at_line_start = c == '\n';
    }
    out << std::flush;
  }

private:
  bool out_at_start_ = true, err_at_start_ = true;
};

} // namespace

int main(int argc, char** argv) {
  if (agentrt::samples::print_version_if_asked(argc, argv, "ci_runner"))
    return 0;
  if (agentrt::samples::help_asked(argc, argv))
    return usage(argv[0], std::cout, 0);
  client::connect_options connect;
  connect.token = agentrt::samples::env_token();
  std::string test, archive, workdir = "/tmp/agentrt-ci", reports = "reports", out = "ci-reports";
  double timeout_s = 0;
  proto::string_map env;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--test" && has_value)
      test = argv[++i];
    else if (arg == "--archive" && has_value)
      archive = argv[++i];
    else if (arg == "--workdir" && has_value)
      workdir = argv[++i];
    else if (arg == "--reports" && has_value)
      reports = argv[++i];
    else if (arg == "--out" && has_value)
      out = argv[++i];
    else if (arg == "--timeout" && has_value)
      timeout_s = std::stod(argv[++i]);
    else if (arg == "--token" && has_value)
      connect.token = argv[++i];
    else if (arg == "--env" && has_value &&
             std::string(argv[i + 1]).find('=') != std::string::npos) {
      const std::string kv = argv[++i];
      env[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    } else if (connect.url.empty() && arg.rfind("-", 0) != 0)
      connect.url = arg;
    else
      return usage(argv[0]);
  }
  if (connect.url.empty() || test.empty())
    return usage(argv[0]);
  const std::string src = workdir + "/src", reports_dir = src + "/" + reports;

  std::string sink_error;
  agentrt::samples::artifact_sink sink(out, sink_error);
  if (!sink_error.empty()) {
    std::cerr << "report receiver: " << sink_error << "\n";
    return 1;
  }
  auto [session, connect_error] = client::session::connect(connect);
  if (!session) {
    agentrt::samples::print_error("connection failed", connect_error);
    return 2;
  }

  log_writer log;
  client::execute_options options;
  if (!archive.empty())
    options.downloadables.push_back({archive, src, std::nullopt});
  options.artifacts_dirs = {reports_dir};
  options.on_command_output = [&log](const proto::command_output_message& m) { log.write(m); };
  if (timeout_s > 0)
    options.timeout = std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));
  sink.attach(options);

  // CI=true like most CI systems; the test command runs in the sources.
  env.emplace("CI", "true");
  proto::command command{test, src, env, std::nullopt, std::nullopt};
  auto [result, error] = session->execute_commands({command}, options);

  int status = 0;
  if (error) {
    agentrt::samples::print_error("test run failed", error);
    status = error.code == client::errc::timed_out ? 124 : 1;
  } else {
    status = agentrt::samples::exit_status_of(result.failed_exit_code());
  }
  // Reports written just before the test exited are announced during the end-session drain.
  if (auto end_error = session->end(); end_error)
    agentrt::samples::print_error("ending the session", end_error);
  sink.wait(30000);
  const auto reports_received = sink.received();
  std::cout << "ci_runner: test command exited " << (error ? -1 : result.failed_exit_code()) << "; "
            << reports_received.size() << " report file(s) in " << out << "\n";
  for (const auto& name : reports_received)
    std::cout << "  " << out << "/" << name << "\n";
  for (const auto& failure : sink.failed())
    std::cerr << "report upload failed: " << failure << "\n";
  return status;
}

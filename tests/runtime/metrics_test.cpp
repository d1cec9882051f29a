// GET /metrics and --log-format json against the real runtime: who may scrape, that a real
// Prometheus text parser (python3-prometheus-client) accepts the page, that the counters move
// with what the runtime did, and that every JSON log line is one valid object even when a client
// put quotes and newlines into its source_id.
#include <stdio.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "support/protocol_helpers.hpp"
#include "support/runtime_process.hpp"
#include "support/ws_test_client.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;

// Debian's python3 (python3-prometheus-client is a Debian package; a pyenv python on PATH
// would not see it).
constexpr const char* system_python = "/usr/bin/python3";

// Parses a scraped page with prometheus_client's own parser: "name{k="v",...}" -> value, the
// labels sorted. Fails the test when the parser refuses the page.
std::map<std::string, double> parse_with_prometheus_client(const std::string& page) {
  const std::string dir = make_temp_dir("agentrt-metrics-");
  const std::string page_path = dir + "/page.txt";
  const std::string script_path = dir + "/parse.py";
  std::ofstream(page_path) << page;
  std::ofstream(script_path) << R"(import sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in family.samples:
        labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
        print("%s{%s} %r" % (s.name, labels, s.value))
)";
  const std::string cmd =
      std::string(system_python) + " " + script_path + " " + page_path + " 2>&1";
  std::map<std::string, double> samples;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) {
    ADD_FAILURE() << "cannot run " << cmd;
    return samples;
  }
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f))
    out.append(buf, n);
  const int status = ::pclose(f);
  EXPECT_EQ(status, 0) << "prometheus_client refused the page (install python3-prometheus-client:"
                       << " sandbox-images/install-deps.sh test):\n"
                       << out << "\n--- page:\n"
                       << page;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto space = line.rfind(' ');
    if (space != std::string::npos)
      samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

double sample(const std::map<std::string, double>& s, const std::string& key) {
  const auto it = s.find(key);
  if (it == s.end()) {
    ADD_FAILURE() << "no sample " << key;
    return -1;
  }
  return it->second;
}

// Scrapes until key has value (what the runtime's thread has not handled yet shows up on a
// later scrape), for at most 5 s; returns the last value seen.
double wait_for_sample(int port, const std::string& key, double value) {
  double seen = -1;
  for (int i = 0; i < 100; ++i) {
    seen = sample(parse_with_prometheus_client(http_get(port, "/metrics").second), key);
    if (seen == value)
      break;
    std::this_thread::sleep_for(50ms);
  }
  return seen;
}

TEST(Metrics, NeedsTheTokenWhileHealthStaysOpen) {
  runtime_process rt({"--token", "run-token"});
  EXPECT_EQ(http_get(rt.port(), "/health").first, 200);
  EXPECT_EQ(http_get(rt.port(), "/metrics").first, 401);
  EXPECT_EQ(http_get(rt.port(), "/metrics", {"Authorization: Bearer wrong"}).first, 401);
  EXPECT_EQ(http_get(rt.port(), "/metrics?token=wrong").first, 401);
  const auto ok = http_get(rt.port(), "/metrics", {"Authorization: Bearer run-token"});
  EXPECT_EQ(ok.first, 200);
  EXPECT_NE(ok.second.find("# TYPE agentrt_requests_total counter"), std::string::npos);
  EXPECT_EQ(http_get(rt.port(), "/metrics?token=run-token").first, 200);
}

TEST(Metrics, MetricsTokenOpensOnlyMetrics) {
  runtime_process rt({"--token", "run-token", "--metrics-token", "scrape-token"});
  EXPECT_EQ(http_get(rt.port(), "/metrics", {"Authorization: Bearer scrape-token"}).first, 200);
  EXPECT_EQ(http_get(rt.port(), "/metrics", {"Authorization: Bearer run-token"}).first, 200);
  EXPECT_EQ(http_get(rt.port(), "/metrics", {"Authorization: Bearer other"}).first, 401);
  // The scrape token does not run commands.
  auto refused = ws_test_client::connect(rt.url() + "?token=scrape-token");
  EXPECT_FALSE(refused.client);
  EXPECT_EQ(refused.http_status, 401);
}

TEST(Metrics, MetricsTokenFromTheEnvironmentIsHiddenFromCommands) {
  runtime_process rt({}, {"AGENTRT_METRICS_TOKEN=env-scrape-token"});
  EXPECT_EQ(http_get(rt.port(), "/metrics").first, 401);
  EXPECT_EQ(http_get(rt.port(), "/metrics?token=env-scrape-token").first, 200);
  auto r = ws_test_client::connect(rt.url());
  ASSERT_TRUE(r.client) << r.error;
  r.client->send(exec_request({"echo \"[${AGENTRT_METRICS_TOKEN:-unset}]\""}));
  const auto msgs = r.client->receive_until_terminal();
  EXPECT_EQ(joined_output(msgs, "stdout"), "[unset]\n");
}

TEST(Metrics, CountersFollowWhatTheRuntimeDidAndParseWithPrometheusClient) {
  runtime_process rt({"--kill-grace", "1"});
  const auto before = parse_with_prometheus_client(http_get(rt.port(), "/metrics").second);
  EXPECT_EQ(sample(before, "agentrt_requests_total{kind=\"command\",outcome=\"completed\"}"), 0);
  EXPECT_EQ(sample(before, "agentrt_up{}"), 1);
  EXPECT_GT(sample(before, "process_resident_memory_bytes{}"), 0);
  EXPECT_GT(sample(before, "process_open_fds{}"), 0);

  auto r = ws_test_client::connect(rt.url());
  ASSERT_TRUE(r.client) << r.error;
  auto& c = *r.client;
  // Two commands that succeed, then one exiting 3 (stops the request, which still completes
  // with its results), then a request cancelled while its command sleeps.
  c.send(exec_request({"printf 12345", "printf abc >&2"}));
  auto msgs = c.receive_until_terminal();
  ASSERT_FALSE(msgs.empty());
  c.send(exec_request({"exit 3", "echo never"}));
  msgs = c.receive_until_terminal();
  ASSERT_FALSE(msgs.empty());
  c.send(exec_request({"echo started; exec sleep 30"}));
  // Cancelled once the command runs (a cancel before it starts would start no command).
  for (auto m = c.receive(10s); m && !as<p::command_output_message>(*m); m = c.receive(10s)) {
  }
  c.send(p::cancel_message{});
  msgs = c.receive_until_terminal();
  ASSERT_FALSE(msgs.empty());
  ASSERT_TRUE(as<p::error_message>(msgs.back()));

  // The cancelled command: its exit (or its runner's end) may come after the request's terminal.
  EXPECT_EQ(wait_for_sample(rt.port(), "agentrt_command_exits_total{class=\"killed\"}", 1), 1);
  // The session is still open, with nothing in flight.
  const std::string page = http_get(rt.port(), "/metrics").second;
  const auto after = parse_with_prometheus_client(page);
  EXPECT_EQ(sample(after, "agentrt_requests_total{kind=\"command\",outcome=\"completed\"}"), 2);
  EXPECT_EQ(sample(after, "agentrt_requests_total{kind=\"command\",outcome=\"cancelled\"}"), 1);
  EXPECT_EQ(sample(after, "agentrt_requests_total{kind=\"invocation\",outcome=\"completed\"}"), 0);
  EXPECT_EQ(sample(after, "agentrt_commands_started_total{}"), 4);
  EXPECT_EQ(sample(after, "agentrt_command_exits_total{class=\"success\"}"), 2);
  EXPECT_EQ(sample(after, "agentrt_command_exits_total{class=\"failure\"}"), 1);
  EXPECT_EQ(sample(after, "agentrt_output_bytes_total{stream=\"stdout\"}"), 13);
  EXPECT_EQ(sample(after, "agentrt_output_bytes_total{stream=\"stderr\"}"), 3);
  EXPECT_GE(sample(after, "agentrt_process_kill_signals_total{signal=\"SIGTERM\"}"), 1);
  EXPECT_EQ(sample(after, "agentrt_command_exits_total{class=\"signal\"}"), 0);
  EXPECT_EQ(sample(after, "agentrt_sessions_open{}"), 1);
  EXPECT_EQ(sample(after, "agentrt_requests_in_flight{}"), 0);
  EXPECT_EQ(sample(after, "agentrt_sessions_started_total{}"), 1);
  EXPECT_GT(sample(after, "agentrt_sent_bytes_total{}"), 0);
  EXPECT_EQ(sample(after, "agentrt_build_info{version=\"" AGENTRT_VERSION "\"}"), 1);

  c.close();
  ASSERT_TRUE(c.wait_closed(5s));
  EXPECT_EQ(wait_for_sample(rt.port(), "agentrt_sessions_open{}", 0), 0);
}

TEST(Metrics, DownloadsAreCountedByOutcome) {
  runtime_process rt;
  auto r = ws_test_client::connect(rt.url());
  ASSERT_TRUE(r.client) << r.error;
  auto req = exec_request({"true"});
  // Nothing listens on port 9 of loopback: the download fails at once.
  req.pre_execution_downloadables.push_back(
      p::downloadable{"http://127.0.0.1:9/missing.tar.gz", make_temp_dir(), std::nullopt});
  r.client->send(req);
  const auto msgs = r.client->receive_until_terminal();
  ASSERT_FALSE(msgs.empty());
  ASSERT_TRUE(as<p::error_message>(msgs.back()));
  const auto s = parse_with_prometheus_client(http_get(rt.port(), "/metrics").second);
  EXPECT_EQ(sample(s, "agentrt_transfers_total{kind=\"download\",outcome=\"failure\"}"), 1);
  EXPECT_EQ(sample(s, "agentrt_transfers_total{kind=\"download\",outcome=\"success\"}"), 0);
  EXPECT_EQ(sample(s, "agentrt_requests_total{kind=\"command\",outcome=\"failed\"}"), 1);
}

TEST(Metrics, InotifyWatchesAreHeldWhileASessionWatchesArtifactsAndGivenBackAfter) {
  runtime_process rt;
  EXPECT_EQ(sample(parse_with_prometheus_client(http_get(rt.port(), "/metrics").second),
                   "agentrt_inotify_watches{}"),
            0);
  auto r = ws_test_client::connect(rt.url());
  ASSERT_TRUE(r.client) << r.error;
  auto& c = *r.client;
  const std::string dir = make_temp_dir("agentrt-metrics-artifacts-");
  auto req = exec_request({"mkdir " + dir + "/sub && echo started && exec sleep 30"});
  req.artifacts_dirs = {dir};
  c.send(req);
  for (auto m = c.receive(10s); m && !as<p::command_output_message>(*m); m = c.receive(10s)) {
  }
  // The root, its parent and sub/ (added when the watcher sees it created).
  EXPECT_EQ(wait_for_sample(rt.port(), "agentrt_inotify_watches{}", 3), 3);
  c.send(p::cancel_message{});
  const auto msgs = c.receive_until_terminal();
  ASSERT_FALSE(msgs.empty());
  // The session keeps watching its artifacts directories after the request: they go with it.
  EXPECT_EQ(sample(parse_with_prometheus_client(http_get(rt.port(), "/metrics").second),
                   "agentrt_inotify_watches{}"),
            3);
  c.close();
  EXPECT_EQ(wait_for_sample(rt.port(), "agentrt_inotify_watches{}", 0), 0);
}

TEST(LogFormat, JsonIsOneValidObjectPerLineWithTheTextFormatsFields) {
  runtime_process rt({"--log-format", "json"});
  auto r = ws_test_client::connect(rt.url());
  ASSERT_TRUE(r.client) << r.error;
  auto req = exec_request({"echo hi"});
  // A hostile source_id: quotes, a backslash, a newline that would forge a line, invalid UTF-8.
  req.source_id = "job \"1\"\\\n{\"level\":\"error\"}\xff";
  r.client->send(req);
  ASSERT_FALSE(r.client->receive_until_terminal().empty());
  r.client->close();
  ASSERT_TRUE(r.client->wait_closed(5s));
  std::this_thread::sleep_for(200ms);

  const std::string log = rt.log();
  std::istringstream lines(log);
  std::string line;
  int objects = 0, with_source = 0;
  while (std::getline(lines, line)) {
    rapidjson::Document d;
    d.Parse(line.c_str(), line.size());
    ASSERT_FALSE(d.HasParseError()) << "not JSON: " << line;
    ASSERT_TRUE(d.IsObject()) << line;
    ASSERT_TRUE(d.HasMember("time") && d["time"].IsString()) << line;
    ASSERT_TRUE(d.HasMember("level") && d["level"].IsString()) << line;
    ASSERT_TRUE(d.HasMember("message") && d["message"].IsString()) << line;
    const std::string level = d["level"].GetString();
    EXPECT_TRUE(level == "debug" || level == "info" || level == "warn" || level == "error");
    EXPECT_EQ(std::string(d["time"].GetString()).back(), 'Z');
    if (d.HasMember("source_id")) {
      ++with_source;
      // Escaped as in the text format: the newline is a visible \n, invalid UTF-8 is U+FFFD.
      EXPECT_EQ(std::string(d["source_id"].GetString()),
                "job \"1\"\\\\n{\"level\":\"error\"}\xEF\xBF\xBD")
          << line;
    }
    ++objects;
  }
  EXPECT_GE(objects, 3) << log;
  EXPECT_GE(with_source, 1) << log;
  EXPECT_NE(log.find("\"message\":\"agentrt "), std::string::npos) << log;
}

TEST(LogFormat, UnknownFormatIsAStartupError) {
  runtime_process rt_ok({"--log-format", "text"});
  EXPECT_EQ(http_get(rt_ok.port(), "/health").first, 200);
  EXPECT_EQ(rt_ok.log().find("{\"time\""), std::string::npos);
  const std::string cmd = std::string(AGENTRT_BINARY) + " --log-format xml 2>&1";
  FILE* f = ::popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[512];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f))
    out.append(buf, n);
  const int status = ::pclose(f);
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(out.find("--log-format: expected text or json"), std::string::npos) << out;
}

} // namespace
} // namespace agentrt::test

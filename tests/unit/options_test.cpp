// The agentrt binary's flags (config/options, on CLI11): both spellings of a value, strict
// numbers with the flag named in the error, the last of a repeated flag, the environment's
// tokens, and the cross-flag check.
#include <stdlib.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/options.hpp"

namespace agentrt::runtime::config {
namespace {

using namespace std::chrono_literals;

options parse(std::vector<std::string> args) {
  args.insert(args.begin(), "agentrt");
  std::vector<const char*> argv;
  for (const auto& a : args)
    argv.push_back(a.c_str());
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

// The message of the std::invalid_argument that parsing args throws ("" when it does not).
std::string error_of(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(Options, DefaultsWithoutFlags) {
  ::unsetenv("AGENTRT_TOKEN");
  ::unsetenv("AGENTRT_METRICS_TOKEN");
  const options o = parse({});
  EXPECT_EQ(o.host, "0.0.0.0");
  EXPECT_EQ(o.port, 8080);
  EXPECT_FALSE(o.token);
  EXPECT_FALSE(o.metrics_token);
  EXPECT_EQ(o.resume_window, 120s);
  EXPECT_EQ(o.log_format, log::format::text);
  EXPECT_FALSE(o.show_help);
}

TEST(Options, ValueAsNextArgumentOrAfterEquals) {
  const options a = parse({"--port", "9001", "--kill-grace", "0.5", "--log-level", "debug"});
  const options b = parse({"--port=9001", "--kill-grace=0.5", "--log-level=debug"});
  for (const options* o : {&a, &b}) {
    EXPECT_EQ(o->port, 9001);
    EXPECT_EQ(o->kill_grace, 500ms);
    EXPECT_EQ(o->log_level, log::level::debug);
  }
}

TEST(Options, TheLastOfARepeatedFlagCounts) {
  EXPECT_EQ(parse({"--port", "1", "--port", "2"}).port, 2);
}

TEST(Options, NumbersAreStrictAndErrorsNameTheFlag) {
  EXPECT_EQ(error_of({"--port", "99999"}), "--port: 99999 is out of range (max 65535)");
  EXPECT_EQ(error_of({"--port=-1"}), "--port: expected a non-negative integer, got \"-1\"");
  EXPECT_EQ(error_of({"--stdout-cap-bytes", "1e3"}),
            "--stdout-cap-bytes: expected a non-negative integer, got \"1e3\"");
  EXPECT_NE(error_of({"--kill-grace", "soon"}).find("--kill-grace: expected"), std::string::npos);
  EXPECT_EQ(error_of({"--max-turns", "0"}), "--max-turns: must be at least 1");
  EXPECT_EQ(error_of({"--log-format", "xml"}), "--log-format: expected text or json");
  EXPECT_EQ(error_of({"--containment", "jail"}),
            "--containment: expected auto, cgroup or subreaper");
}

TEST(Options, UnknownFlagsStrayArgumentsAndMissingValuesAreRefused) {
  EXPECT_NE(error_of({"--bogus"}).find("--bogus"), std::string::npos);
  EXPECT_NE(error_of({"stray"}).find("stray"), std::string::npos);
  EXPECT_NE(error_of({"--port"}).find("--port"), std::string::npos);
}

TEST(Options, PendingFrameBudgetMustHoldOneLargestFrame) {
  EXPECT_EQ(error_of({"--max-message-bytes", "4096", "--max-pending-frame-bytes", "2048"}),
            "--max-pending-frame-bytes: 2048 is below --max-message-bytes (4096)");
  EXPECT_EQ(parse({"--max-message-bytes", "4096", "--max-pending-frame-bytes", "4096"})
                .max_pending_frame_bytes,
            4096u);
}

TEST(Options, TokensFromTheEnvironmentAndFlags) {
  ::setenv("AGENTRT_TOKEN", "env-token", 1);
  ::setenv("AGENTRT_METRICS_TOKEN", "env-metrics", 1);
  const options from_env = parse({});
  EXPECT_EQ(from_env.token.value_or(""), "env-token");
  EXPECT_EQ(from_env.metrics_token.value_or(""), "env-metrics");
  const options from_flags = parse({"--token", "flag-token", "--metrics-token=flag-metrics"});
  EXPECT_EQ(from_flags.token.value_or(""), "flag-token");
  EXPECT_EQ(from_flags.metrics_token.value_or(""), "flag-metrics");
  // An empty --token turns authentication off, even over the environment's.
  EXPECT_FALSE(parse({"--token="}).token);
  // ... and never takes the next argument as the token.
  const options next = parse({"--token=", "--help"});
  EXPECT_FALSE(next.token);
  EXPECT_TRUE(next.show_help);
  EXPECT_EQ(error_of({"--metrics-token="}), "--metrics-token: must not be empty");
  ::unsetenv("AGENTRT_TOKEN");
  ::unsetenv("AGENTRT_METRICS_TOKEN");
}

TEST(Options, HelpAndVersionAreFlagsAndHelpListsEveryFlag) {
  EXPECT_TRUE(parse({"--help"}).show_help);
  EXPECT_TRUE(parse({"-h"}).show_help);
  EXPECT_TRUE(parse({"--version"}).show_version);
  const std::string help = help_text("agentrt");
  for (const char* flag :
       {"--host", "--resume-window", "--journal-dir", "--containment", "--openai-token-budget",
        "--download-max-bytes", "--log-format", "--metrics-token", "/metrics"})
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
}

} // namespace
} // namespace agentrt::runtime::config

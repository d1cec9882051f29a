// Helpers every real-CLI harness test needs: where tests/harness/install-clis.sh put the CLIs,
// an isolated HOME (and XDG dirs) per test so runs never share state, and the harness's session
// id read back from an outcome's metadata.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "harness/harness.hpp"
#include "runtime/harness_test_fixture.hpp"

namespace agentrt::test {

// The installed CLI's path, or "" when it is not installed (the test then skips).
inline std::string cli_path(const char* name) {
  const char* prefix = std::getenv("AGENTRT_HARNESS_CLIS");
  const char* home = std::getenv("HOME");
  const std::filesystem::path dir =
      prefix ? std::filesystem::path(prefix)
             : std::filesystem::path(home ? home : "/root") / ".cache" / "agentrt-harness-clis";
  const auto p = dir / "node_modules" / ".bin" / name;
  return std::filesystem::exists(p) ? p.string() : std::string();
}

// HOME and the XDG directories under home (created), for a CLI's agent_env.
inline std::map<std::string, std::string> isolated_home_env(const std::filesystem::path& home) {
  std::filesystem::create_directories(home);
  const auto h = home.string();
  return {{"HOME", h},
          {"XDG_CONFIG_HOME", h + "/.config"},
          {"XDG_CACHE_HOME", h + "/.cache"},
          {"XDG_DATA_HOME", h + "/.local/share"},
          {"XDG_STATE_HOME", h + "/.local/state"}};
}

// harness_settings.mcp_servers naming one local MCP server, a shell that leaves marker behind
// and then reads its stdin until the CLI lets go: the marker proves the CLI started it.
inline std::string probe_mcp_servers(const std::filesystem::path& marker) {
  return R"({"probe":{"command":"/bin/sh","args":["-c","touch )" + marker.string() +
         R"(; cat >/dev/null"]}})";
}

// Runs inv (the fake model server scripted to answer) with the probe MCP server and checks
// that the CLI started it.
inline void expect_mcp_probe_started(harness_env& env, runtime::harness::harness& h,
                                     runtime::harness::invocation inv,
                                     std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  const auto marker = env.dir / "mcp-started";
  inv.settings.mcp_servers = protocol::json_text{probe_mcp_servers(marker)};
  auto rec = env.run(h, inv, limit);
  ASSERT_TRUE(rec.outcome && rec.outcome->ok())
      << (rec.outcome ? rec.outcome->error.text : "") << rec.logs_text();
  EXPECT_TRUE(std::filesystem::exists(marker)) << rec.logs_text();
}

// The "session_id" string of the outcome's metadata (result or error), or "".
inline std::string session_of(const runtime::harness::harness_outcome& o) {
  const auto& m = o.ok() ? o.metadata_json : o.error_metadata_json;
  const auto at = m.find("\"session_id\":\"");
  if (at == std::string::npos)
    return "";
  const auto start = at + 14;
  return m.substr(start, m.find('"', start) - start);
}

} // namespace agentrt::test

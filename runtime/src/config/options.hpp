// Command-line flags of the agentrt binary (all of them also appear in --help).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "log/logger.hpp"

namespace agentrt::runtime::config {

struct options {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;
  std::optional<std::string> token; // --token, or env AGENTRT_TOKEN
  std::size_t max_message_bytes = 16 * 1024 * 1024;
  // Session processes per session, running plus exited and not collected (docs/processes.md).
  std::size_t max_session_processes = 64;
  std::chrono::milliseconds heartbeat_interval{15000};
  log::level log_level = log::level::info;
  log::format log_format = log::format::text;
  // GET /metrics: answered with this token or --token (either); unset = as --token.
  std::optional<std::string> metrics_token; // --metrics-token, or env AGENTRT_METRICS_TOKEN
  std::size_t stdout_cap_bytes = 1024 * 1024;
  std::chrono::milliseconds kill_grace{5000};
  std::chrono::milliseconds drain_idle{200};
  // How a request's processes are kept together: "auto", "cgroup" or "subreaper".
  std::string containment = "auto";
  // Partly received frames of all connections together (frame_budget.hpp).
  std::uint64_t max_pending_frame_bytes = 256ULL * 1024 * 1024;
  // Close a session with nothing in flight after this long without traffic; 0 = never.
  std::chrono::milliseconds session_idle_timeout{3600 * 1000};

  // Durable sessions (docs/durable-sessions.md): how long a session whose connection dropped
  // (or that detached on purpose) waits for a resume, and the journal that keeps its output.
  std::chrono::milliseconds resume_window{120 * 1000};
  std::chrono::milliseconds detached_window{3600 * 1000};
  std::uint64_t journal_memory_bytes = 8ULL << 20;
  std::uint64_t journal_disk_bytes = 256ULL << 20;
  std::string journal_dir; // empty = $TMPDIR, else /tmp

  // The agent harness.
  std::string agent;        // --agent NAME; empty = auto-detect
  std::string handler_path; // --handler PATH
  std::string workdir;      // --workdir DIR; empty = the runtime's cwd
  std::chrono::milliseconds harness_timeout{0};
  int max_turns = 50;
  std::uint64_t openai_token_budget = 0; // --openai-token-budget; 0 = none

  // The files API (docs/protocol.md, "Files API"): empty = the whole file system.
  std::string files_root; // --files-root DIR

  // Downloads, extraction, artifacts.
  std::uint64_t extract_max_bytes = 8ULL << 30;
  std::uint64_t extract_max_entries = 200000;
  double extract_max_ratio = 200.0;
  int transfer_retries = 3;
  std::chrono::milliseconds connect_timeout{30000};
  std::uint64_t low_speed_limit = 1024; // bytes/s averaged over low_speed_time; 0 = no rule
  std::chrono::milliseconds low_speed_time{60000};
  std::uint64_t download_max_bytes = 8ULL << 30; // 0 = unlimited
  std::chrono::milliseconds artifact_settle{250};
  std::chrono::milliseconds drain_timeout{30000};

  bool show_help = false;
  bool show_version = false;
};

// Parses argv (and AGENTRT_TOKEN). Throws std::invalid_argument with a message naming the flag
// when a flag is unknown or its value is unusable: this runs once, at startup.
options parse_options(int argc, const char* const* argv);

std::string help_text(const std::string& program);

} // namespace agentrt::runtime::config

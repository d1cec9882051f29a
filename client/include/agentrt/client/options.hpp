// What a caller can ask of a connection and of each request: every field the protocol carries,
// the callbacks for the runtime's intermediate messages, and the client-side time limits.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agentrt/protocol/messages.hpp"

namespace agentrt::client {

// How a durable session gets its connection back after it dropped (per outage: the counts
// start again after each successful resume). Attempt n waits min(max_backoff, initial_backoff
// * 2^n), less up to half of that at random (jitter, so that many clients cut off together do
// not come back together).
struct reconnect_policy {
  int max_attempts = 10;                      // 0: never reconnect
  std::chrono::milliseconds deadline{120000}; // give up this long after the drop
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds max_backoff{5000};
};

// What on_connection_event reports about a durable session's connection.
struct connection_event {
  enum class kind {
    lost,    // the connection dropped; reconnecting
    resumed, // a new connection resumed the session
  };
  kind type = kind::lost;
  std::string reason{};                // lost: why (close code, socket error)
  int attempts = 0;                    // resumed: connection attempts it took
  std::chrono::milliseconds outage{0}; // resumed: time from the drop to the resume
  std::uint64_t last_seq = 0;          // the last message received before the event
};

struct connect_options {
  // The initializers let callers write {url} without -Wmissing-field-initializers.
  std::string url{};                  // "ws://host:port/path" or "wss://..."
  std::optional<std::string> token{}; // sent as "Authorization: Bearer <token>"
  std::chrono::milliseconds connect_timeout{10000};
  // wss:// only. The system's CA store is used unless ca_file names a PEM bundle;
  // verify_tls = false accepts any certificate (tests, trusted local networks).
  std::optional<std::string> ca_file{};
  bool verify_tls = true;
  // Ask for a durable session (docs/durable-sessions.md): when the runtime supports it, a
  // dropped connection is re-established and the session resumed transparently. A runtime
  // without the extension (runtimeuse) is used exactly as with durable = false.
  bool durable = true;
  reconnect_policy reconnect{};
  // Called on the I/O thread when a durable session loses its connection and when it resumes.
  std::function<void(const connection_event&)> on_connection_event{};
};

// Where the runtime should PUT an artifact.
struct upload_target {
  std::string presigned_url{};
  std::string content_type = "application/octet-stream";
};

// Answers one upload request; call it exactly once, from any thread, at any time before the
// callback timeout. std::nullopt declines the upload (nothing is sent to the runtime).
using upload_reply = std::function<void(std::optional<upload_target>)>;

// Callbacks run on the I/O thread that serves the session: they must not block (hand slow work
// to another thread and answer uploads later through upload_reply).
struct request_callbacks {
  std::function<void(const protocol::command_output_message&)> on_command_output{};
  std::function<void(const protocol::heartbeat_message&)> on_heartbeat{};
  // Required together with artifacts_dirs. Stays in effect for the rest of the session (the
  // runtime keeps watching the directories), including the end-of-session drain.
  std::function<void(const protocol::artifact_upload_request_message&, upload_reply)>
      on_artifact_upload_request{};
  // Setting it declares the "upload_results" capability (agentrt runtimes only).
  std::function<void(const protocol::artifact_upload_result_message&)> on_artifact_upload_result{};
  // Durable sessions only: messages the runtime had to drop while nobody was connected (its
  // journal was full) were output; this says which, in their place in the stream.
  std::function<void(const protocol::gap_message&)> on_gap{};
};

// The client-side limits of a request. On expiry of any of these the request is cancelled; the
// call fails with errc::timed_out, idle_timed_out or callback_timed_out once the runtime's
// terminal arrives.
struct request_limits {
  std::optional<std::chrono::milliseconds> timeout{};      // the whole request
  std::optional<std::chrono::milliseconds> idle_timeout{}; // silence from the runtime
  std::chrono::milliseconds callback_timeout{30000};       // an upload callback's answer
  // How long the runtime may take to answer a cancel before the connection is given up on.
  std::chrono::milliseconds cancel_grace{10000};
};

// Fields and limits shared by both kinds of request.
struct request_options : request_callbacks, request_limits {
  std::optional<std::string> source_id{};
  std::vector<std::string> secrets_to_redact{};
  std::vector<std::string> artifacts_dirs{};
  std::optional<std::string> artifacts_ignore_content{};
  std::vector<protocol::downloadable> downloadables{}; // fetched before anything else runs
  // agentrt extension: false = announce only files written after a directory is watched;
  // unset = the runtime's default (also the files already there, as runtimeuse does).
  std::optional<bool> announce_existing_artifacts{};
};

struct execute_options : request_options {};

struct query_options : request_options {
  std::string system_prompt{};
  std::string model{};
  // The wire's output_format_json_schema_str: {"type":"json_schema","schema":{...}}. When set
  // the result is structured output.
  std::optional<std::string> output_format_json_schema_str{};
  std::optional<protocol::string_map> agent_env{};
  std::vector<protocol::command> pre_agent_invocation_commands{};
  std::vector<protocol::command> post_agent_invocation_commands{};
  // agentrt extensions (docs/protocol.md); unset fields are not sent, so a runtimeuse runtime
  // sees exactly what it always did.
  std::optional<std::string> resume_session_id{}; // continue the harness's stored session
  // "claude", "codex", "gemini", "opencode", "openai" or "handler": this query's agent in
  // place of the runtime's default.
  std::optional<std::string> agent{};
  // Per-query limits and permissions (max_turns, timeout_s, permission_mode, tools, budgets,
  // MCP servers, extra CLI arguments); an agent that cannot honour one fails the query.
  std::optional<protocol::harness_settings> harness_settings{};
  std::function<void(const protocol::assistant_message&)> on_assistant_message{};
  // Setting it declares the "agent_events" capability (agentrt runtimes only).
  std::function<void(const protocol::agent_event_message&)> on_agent_event{};
};

// What a session attached to (async_session::attach) delivers while it collects the request
// that was in flight: the callbacks of the request, whoever sent it, and the limits.
struct attach_options : request_callbacks, request_limits {
  std::function<void(const protocol::assistant_message&)> on_assistant_message{};
  std::function<void(const protocol::agent_event_message&)> on_agent_event{};
};

} // namespace agentrt::client

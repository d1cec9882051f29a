// What a caller can ask of a connection and of each request: every field the protocol carries,
// the callbacks for the runtime's intermediate messages, and the client-side time limits.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agentrt/protocol/messages.hpp"

namespace agentrt::client {

struct connect_options {
  // The initializers let callers write {url} without -Wmissing-field-initializers.
  std::string url{};                  // "ws://host:port/path" or "wss://..."
  std::optional<std::string> token{}; // sent as "Authorization: Bearer <token>"
  std::chrono::milliseconds connect_timeout{10000};
  // wss:// only. The system's CA store is used unless ca_file names a PEM bundle;
  // verify_tls = false accepts any certificate (tests, trusted local networks).
  std::optional<std::string> ca_file{};
  bool verify_tls = true;
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
};

// Fields and limits shared by both kinds of request.
struct request_options : request_callbacks {
  std::optional<std::string> source_id{};
  std::vector<std::string> secrets_to_redact{};
  std::vector<std::string> artifacts_dirs{};
  std::optional<std::string> artifacts_ignore_content{};
  std::vector<protocol::downloadable> downloadables{}; // fetched before anything else runs

  // On expiry of any of these the request is cancelled; the call fails with errc::timed_out,
  // idle_timed_out or callback_timed_out once the runtime's terminal arrives.
  std::optional<std::chrono::milliseconds> timeout{};      // the whole request
  std::optional<std::chrono::milliseconds> idle_timeout{}; // silence from the runtime
  std::chrono::milliseconds callback_timeout{30000};       // an upload callback's answer
  // How long the runtime may take to answer a cancel before the connection is given up on.
  std::chrono::milliseconds cancel_grace{10000};
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
  std::function<void(const protocol::assistant_message&)> on_assistant_message{};
  // Setting it declares the "agent_events" capability (agentrt runtimes only).
  std::function<void(const protocol::agent_event_message&)> on_agent_event{};
};

} // namespace agentrt::client

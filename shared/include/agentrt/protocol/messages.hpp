// Every message of the runtimeuse wire protocol (docs/protocol.md) plus agentrt's
// extensions, as plain C++ types. Arbitrary JSON (metadata, structured output) is carried as
// JSON text so that this header needs no JSON library.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace agentrt::protocol {

using string_map = std::map<std::string, std::string>;

// A JSON document kept as its serialized text (e.g. "{}" or "{\"a\":[1,2]}").
struct json_text {
  std::string json = "{}";
};

// ---- shared shapes --------------------------------------------------------------------------

struct command {
  std::string command;
  std::optional<std::string> cwd;
  std::optional<string_map> env;
  std::optional<double> timeout_s;       // extension: kill the process group after this
  std::optional<std::string> stdin_data; // extension, wire name "stdin"
};

struct downloadable {
  std::string download_url;
  std::string working_dir;
  std::optional<bool> extract; // extension: false keeps an archive as downloaded
};

// Extension: per-invocation limits and permissions for the harness (docs/protocol.md,
// "harness_settings"). Every field is optional; absent means the runtime's flags decide. An
// adapter that cannot honour a field that is present fails the invocation naming it.
struct harness_settings {
  std::optional<int> max_turns;                             // >= 1
  std::optional<double> timeout_s;                          // > 0
  std::optional<std::string> permission_mode;               // the CLI's own vocabulary
  std::optional<std::vector<std::string>> allowed_tools;    // tool names/patterns
  std::optional<std::vector<std::string>> disallowed_tools; // tool names/patterns
  std::optional<double> max_budget_usd;                     // > 0
  std::optional<std::int64_t> token_budget;                 // >= 1, prompt + completion
  std::optional<json_text> mcp_servers;                     // {"name": {command,args,env|url}}
  std::optional<std::vector<std::string>> extra_args;       // appended to the CLI's argv
};

// ---- client -> runtime ----------------------------------------------------------------------

struct invocation_message {
  std::optional<std::string> source_id;
  std::string system_prompt;
  std::string user_prompt;
  std::string model;
  std::optional<std::string> output_format_json_schema_str;
  std::optional<string_map> agent_env;
  std::vector<std::string> secrets_to_redact;
  // artifacts_dirs with the legacy artifacts_dir merged in, duplicates removed, order kept.
  std::vector<std::string> artifacts_dirs;
  std::optional<std::string> artifacts_ignore_content;
  std::vector<downloadable> pre_agent_downloadables;
  std::vector<command> pre_agent_invocation_commands;
  std::vector<command> post_agent_invocation_commands;
  std::vector<std::string> client_capabilities; // extension
  std::optional<std::string> resume_session_id; // extension
  // extension: false = announce only files written after the directory is watched; absent or
  // true = also the files already in it (runtimeuse's initial scan)
  std::optional<bool> announce_existing_artifacts;
  // extension: "claude", "codex", "gemini", "opencode", "openai" or "handler"; absent = the
  // runtime's --agent / --handler / auto-detected harness
  std::optional<std::string> agent;
  std::optional<harness_settings> settings; // extension, wire name "harness_settings"
  bool used_artifacts_dir = false;          // decoded only: the deprecated artifacts_dir was sent
};

struct command_execution_message {
  std::optional<std::string> source_id;
  std::vector<std::string> secrets_to_redact;
  std::vector<std::string> artifacts_dirs; // merged as above
  std::optional<std::string> artifacts_ignore_content;
  std::vector<command> commands;
  std::vector<downloadable> pre_execution_downloadables;
  std::vector<std::string> client_capabilities;    // extension
  std::optional<bool> announce_existing_artifacts; // extension, as in invocation_message
  bool used_artifacts_dir = false;                 // decoded only, as in invocation_message
};

struct cancel_message {};

struct artifact_upload_response_message {
  std::string filename;
  std::string filepath;
  std::string presigned_url;
  std::string content_type;
};

struct end_session_message {};

// ---- runtime -> client ----------------------------------------------------------------------

struct result_data {
  enum class kind { text, structured_output };
  kind type = kind::text;
  std::string text;            // when type == text
  json_text structured_output; // when type == structured_output (a JSON object)
};

struct result_message {
  result_data data;
  json_text metadata;
};

struct command_result {
  std::string command;
  int exit_code = 0;
  std::optional<std::string> stdout_text; // wire name "stdout"
  bool stdout_truncated = false;          // extension; on the wire only when true
};

struct command_execution_result_message {
  std::vector<command_result> results;
};

struct error_message {
  std::string error;
  json_text metadata;
};

struct assistant_message {
  std::vector<std::string> text_blocks;
};

struct command_output_message {
  std::string stream; // "stdout" or "stderr"
  std::string text;
  std::string command;
};

struct heartbeat_message {
  std::string phase = "request_in_flight";
  std::int64_t elapsed_ms = 0;
};

struct artifact_upload_request_message {
  std::string filename;
  std::string filepath;
};

struct end_session_confirm_message {};

// Extension, only sent to clients that declared "agent_events".
struct agent_event_message {
  std::string event; // "tool_use" | "tool_result" | "reasoning" | "usage" | "session"
  json_text data;
};

// Extension, only sent to clients that declared "upload_results".
struct artifact_upload_result_message {
  std::string filepath;
  bool ok = false;
  std::optional<int> http_status;
  std::optional<std::string> error;
};

// ---- durable sessions (docs/durable-sessions.md) ---------------------------------------------
// Only on connections whose upgrade opted in; a runtimeuse peer never sees them. Every other
// runtime -> client message of a durable session carries "seq" (see decode_result::seq and
// encode(message, seq)); these two runtime -> client messages are not numbered.

// The first frame of every durable connection, new or resumed.
struct session_info_message {
  std::string session_id;
  std::string resume_token; // a secret: only this message carries it
  bool resumed = false;
  double resume_window_s = 0;
  double detached_window_s = 0;
  std::uint64_t last_seq = 0;          // the highest seq sent so far
  std::uint64_t requests_received = 0; // requests the session accepted since it started
  // Whether a request was in flight when this was sent. Optional: an attaching client that
  // did not send the request learns from it whether a terminal is still to come.
  std::optional<bool> request_in_flight;
};

// What a gap_message says one (message type, command, stream) lost.
struct gap_loss {
  std::string message_type;
  std::string command; // command_output_message's command (agent_event's event), else ""
  std::string stream;  // "stdout" / "stderr" for command output, else ""
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
};

// Sent in a replay in place of output messages from_seq..to_seq (inclusive) that the journal
// had to drop; not numbered itself.
struct gap_message {
  std::uint64_t from_seq = 0;
  std::uint64_t to_seq = 0;
  std::vector<gap_loss> lost;
};

// The answer to detach_message (numbered); the runtime then closes with 1000.
struct detach_confirm_message {
  std::string session_id;
  double expires_in_s = 0;
};

// Client -> runtime: everything up to seq has arrived; the runtime may forget it.
struct ack_message {
  std::uint64_t seq = 0;
};

// Client -> runtime: the client leaves on purpose; the request keeps running.
struct detach_message {};

// Client -> runtime (extension "upload-decline"): no artifact_upload_response_message will come
// for this announced file; the runtime stops waiting for it at once.
struct artifact_upload_declined_message {
  std::string filename;
  std::string filepath;
  std::optional<std::string> reason; // why, for the runtime's log
};

// ---- session processes (extension "processes", docs/processes.md) ------------------------------
// Only on connections whose upgrade asked for "processes" in Agentrt-Extensions and got it back;
// a runtimeuse peer never sends or sees any of them.

struct terminal_size {
  int cols = 80; // 1..1000
  int rows = 24; // 1..1000
};

// Report a process ready only once a TCP port on 127.0.0.1 accepts and/or a probe command
// exits 0 (both when both are given), checked every interval_s until timeout_s.
struct process_readiness {
  std::optional<int> tcp_port;      // 1..65535
  std::optional<std::string> probe; // /bin/sh -c, in the process's cwd and env
  double timeout_s = 30;            // > 0
  double interval_s = 0.2;          // > 0
};

// Client -> runtime: start a command in the background. Answered at once by
// process_started_message (or process_error_message), both carrying ref.
struct process_start_message {
  std::optional<std::string> ref; // the client's correlation text, echoed
  std::string command;            // /bin/sh -c
  std::optional<std::string> cwd;
  std::optional<string_map> env;
  std::optional<terminal_size> pty; // run on a pseudo-terminal of this size
  bool stdin_open = false;          // wire name "stdin": keep stdin open for process_stdin_message
  std::optional<process_readiness> ready;
  std::vector<std::string> secrets_to_redact;
  std::optional<double> timeout_s; // kill the process's tree after this
};

// Client -> runtime: bytes for the process's stdin (its terminal with a pty), in order. On the
// wire either "text" (UTF-8) or "data_b64"; encode writes data_b64. eof closes stdin after data
// (with a pty: the terminal's end-of-file character).
struct process_stdin_message {
  std::string process_id;
  std::string data; // raw bytes
  bool eof = false;
};

// Client -> runtime: a signal by name ("SIGINT", "SIGTERM", "SIGKILL", "SIGHUP", "SIGQUIT",
// "SIGUSR1", "SIGUSR2", "SIGSTOP", "SIGCONT", "SIGWINCH"; the "SIG" prefix is optional).
struct process_signal_message {
  std::optional<std::string> ref;
  std::string process_id;
  std::string signal;
};

struct process_resize_message {
  std::optional<std::string> ref;
  std::string process_id;
  terminal_size size; // wire: top-level "cols" and "rows"
};

struct process_list_message {
  std::optional<std::string> ref;
};

// Client -> runtime: collect the exit status. Answered by process_exit_message once the process
// has exited and all of its output was sent; the process is then forgotten.
struct process_wait_message {
  std::optional<std::string> ref;
  std::string process_id;
};

// Runtime -> client.
struct process_started_message {
  std::optional<std::string> ref;
  std::string process_id;
  std::int64_t pid = 0;
  bool pty = false;
  // How many stdin bytes may be sent and not yet acknowledged (process_stdin_ack_message);
  // 0 when stdin is not open.
  std::uint64_t stdin_window = 0;
};

// Output of a session process: stream "stdout"/"stderr" carry text (UTF-8, redacted, as
// command_output_message), stream "pty" carries the terminal's raw bytes (redacted) as
// data_b64. data holds either.
struct process_output_message {
  std::string process_id;
  std::string stream;
  std::string data;
};

// Runtime -> client: written bytes of stdin in total so far; closed once stdin is closed (eof,
// or the process stopped reading it: later stdin is refused).
struct process_stdin_ack_message {
  std::string process_id;
  std::uint64_t written = 0;
  bool closed = false;
};

struct process_ready_message {
  std::string process_id;
  bool ready = false;
  std::optional<std::string> error; // why not, when ready is false
  std::int64_t elapsed_ms = 0;
};

struct process_exit_message {
  std::optional<std::string> ref; // the process_wait_message's
  std::string process_id;
  int exit_code = 0;                 // as in command results: 128 + N after signal N
  std::optional<std::string> signal; // "SIGKILL" etc. when a signal ended it
  bool timed_out = false;
};

struct process_info {
  std::string process_id;
  std::string command; // redacted
  std::int64_t pid = 0;
  bool pty = false;
  std::string state;         // "starting" (readiness pending), "running", "exited"
  std::optional<bool> ready; // when readiness was asked for and decided
  std::optional<int> exit_code;
  std::optional<std::string> signal;
  // For a process started with stdin: every stdin byte the runtime accepted so far (written or
  // still queued), and whether stdin is closed. After a resume a client compares its own count
  // with this one to resend what was lost with the connection, and nothing twice.
  std::optional<std::uint64_t> stdin_received;
  std::optional<bool> stdin_closed;
};

struct process_list_result_message {
  std::optional<std::string> ref;
  std::vector<process_info> processes;
};

// Runtime -> client: a process message could not be carried out. code is one of the
// documented codes (docs/processes.md), e.g. "unknown_process".
struct process_error_message {
  std::optional<std::string> ref;
  std::optional<std::string> process_id;
  std::string code;
  std::string error;
};

// New alternatives go at the end: the index is the wire name's position (message_names).
using message =
    std::variant<invocation_message, command_execution_message, cancel_message,
                 artifact_upload_response_message, end_session_message, result_message,
                 command_execution_result_message, error_message, assistant_message,
                 command_output_message, heartbeat_message, artifact_upload_request_message,
                 end_session_confirm_message, agent_event_message, artifact_upload_result_message,
                 session_info_message, gap_message, detach_confirm_message, ack_message,
                 detach_message, artifact_upload_declined_message, process_start_message,
                 process_stdin_message, process_signal_message, process_resize_message,
                 process_list_message, process_wait_message, process_started_message,
                 process_output_message, process_stdin_ack_message, process_ready_message,
                 process_exit_message, process_list_result_message, process_error_message>;

// Whether T is sent by a client (client -> runtime); everything else is sent by a runtime. The
// one list of directions: the codec reads "seq" only on a runtime's messages by it.
template <class T>
inline constexpr bool sent_by_client_v =
    std::is_same_v<T, invocation_message> || std::is_same_v<T, command_execution_message> ||
    std::is_same_v<T, cancel_message> || std::is_same_v<T, artifact_upload_response_message> ||
    std::is_same_v<T, end_session_message> || std::is_same_v<T, ack_message> ||
    std::is_same_v<T, detach_message> || std::is_same_v<T, artifact_upload_declined_message> ||
    std::is_same_v<T, process_start_message> || std::is_same_v<T, process_stdin_message> ||
    std::is_same_v<T, process_signal_message> || std::is_same_v<T, process_resize_message> ||
    std::is_same_v<T, process_list_message> || std::is_same_v<T, process_wait_message>;

bool sent_by_client(const message& m) noexcept;

// The wire name of a message's type, e.g. "invocation_message".
const char* message_type_name(const message& m) noexcept;

} // namespace agentrt::protocol

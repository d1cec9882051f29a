// What agentrt-client prints besides the commands' own output: exit codes, client errors (a
// line on stderr, or one JSON line with --json), and the JSON lines themselves. The commands'
// output comes from the I/O thread and errors from the main thread: everything printed goes
// through one mutex so that lines never interleave.
#pragma once

#include <mutex>
#include <string>

#include "agentrt/client/errors.hpp"
#include "agentrt/protocol/messages.hpp"

namespace agentrt::cli {

// A failing command's own code (1-255) is passed through, so these were chosen from the
// sysexits/timeout(1) conventions that shell commands rarely use.
constexpr int exit_usage = 64;
constexpr int exit_session_expired = 66;
constexpr int exit_connection = 69;
constexpr int exit_runtime_error = 70;
constexpr int exit_artifact_failed = 74;
constexpr int exit_superseded = 75;
constexpr int exit_protocol = 76;
constexpr int exit_auth_refused = 77;
constexpr int exit_timeout = 124;
constexpr int exit_cancelled = 130;

// The exit-code table printed by --help (README's table says the same).
extern const char* const exit_code_help;

std::mutex& output_mutex();

void json_line(const std::string& line);
void emit(const protocol::message& m);
// s as a JSON string literal, quotes included.
std::string json_string(const std::string& s);

// An error the CLI reports: the library's client_error, or one of the CLI's own (code names
// below), with the stable machine-readable code that --json prints as "code".
struct cli_error {
  std::string code;    // errc_name(), or authentication_refused, invalid_url, command_failed,
                       // artifact_not_delivered, usage
  std::string message; // for people
  std::string metadata_json = "{}";
  int exit_code = 1;
};

// The library's error as the CLI reports it: a refused upgrade (HTTP 401/403) becomes
// authentication_refused (77) with a plain message; resume_refused is 77 too.
cli_error from_client_error(const client::client_error& e);

// "agentrt-client: MESSAGE [METADATA]" on stderr, or with --json one line
// {"message_type":"client_error","code":CODE,"name":CODE,"error":MESSAGE,"metadata":{...}}
// (a runtime error stays the runtime's own error_message).
void report(const cli_error& e, bool json);
void report(const client::client_error& e, bool json);
// report(e, json), and the exit status e calls for.
int report_failure(const client::client_error& e, bool json);

// Writes text to stdout or stderr under the output mutex and flushes.
void print(std::FILE* stream, const std::string& text);

} // namespace agentrt::cli

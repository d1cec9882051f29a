#include "output.hpp"

#include <cstdio>
#include <iostream>

#include <rapidjson/document.h>

#include "agentrt/protocol/codec.hpp"

namespace agentrt::cli {

const char* const exit_code_help = R"(Exit codes:
  0     success
  1-255 exec: the failing command's exit code (128+N when killed by signal N); exec --tty,
        wait: the process's exit code; spawn: 1 when the process did not become ready
  64    usage error (also: a URL that is not ws:// or wss://)
  66    resume refused: the session expired (its request was killed)
  69    connection failure (or reconnecting failed; or --detach/spawn without durable sessions,
        or exec --tty/spawn/ps/kill/wait against a runtime without session processes)
  70    runtime error (error_message from the runtime; or a refused process message, e.g. an
        unknown process id)
  74    an artifact was announced but not delivered (one line per file says why)
  75    another client attached to the session
  76    protocol violation by the runtime
  77    authentication refused: wrong or missing token (HTTP 401/403), or a resume refused
        (unknown session or wrong resume token)
  124   timeout (overall, idle or callback)
  130   cancelled (SIGINT/SIGTERM; a second one quits at once)
)";

std::mutex& output_mutex() {
  static std::mutex m;
  return m;
}

void json_line(const std::string& line) {
  std::lock_guard lock(output_mutex());
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void emit(const protocol::message& m) {
  json_line(protocol::encode(m));
}

std::string json_string(const std::string& s) {
  return protocol::json_quote(s);
}

void print(std::FILE* stream, const std::string& text) {
  std::lock_guard lock(output_mutex());
  std::fwrite(text.data(), 1, text.size(), stream);
  std::fflush(stream);
}

namespace {

int exit_code_for(const client::client_error& e) {
  using client::errc;
  if (e.code == errc::connection_failed)
    return exit_connection;
  if (e.code == errc::runtime_error || e.code == errc::process_error)
    return exit_runtime_error;
  if (e.code == errc::protocol_violation)
    return exit_protocol;
  if (e.code == errc::timed_out || e.code == errc::idle_timed_out ||
      e.code == errc::callback_timed_out)
    return exit_timeout;
  if (e.code == errc::cancelled)
    return exit_cancelled;
  if (e.code == errc::invalid_options)
    return exit_usage;
  if (e.code == errc::session_expired)
    return exit_session_expired;
  if (e.code == errc::resume_refused)
    return exit_auth_refused;
  if (e.code == errc::superseded)
    return exit_superseded;
  return exit_connection; // closed: the connection went away
}

// The HTTP status of a refused upgrade, from the library's error metadata (0 if none).
int http_status_of(const std::string& metadata_json) {
  rapidjson::Document d;
  d.Parse(metadata_json.c_str());
  if (d.HasParseError() || !d.IsObject())
    return 0;
  auto it = d.FindMember("http_status");
  return it != d.MemberEnd() && it->value.IsInt() ? it->value.GetInt() : 0;
}

} // namespace

cli_error from_client_error(const client::client_error& e) {
  cli_error c{client::errc_name(e.code), e.message, e.metadata_json, exit_code_for(e)};
  if (e.code == client::errc::connection_failed) {
    if (const int status = http_status_of(e.metadata_json); status == 401 || status == 403) {
      c.code = "authentication_refused";
      c.message = "authentication refused (HTTP " + std::to_string(status) +
                  "): wrong or missing token (--token or AGENTRT_TOKEN)";
      c.exit_code = exit_auth_refused;
    }
  }
  return c;
}

void report(const cli_error& e, bool json) {
  if (json) {
    json_line(R"({"message_type":"client_error","code":)" + json_string(e.code) + R"(,"name":)" +
              json_string(e.code) + R"(,"error":)" + json_string(e.message) + R"(,"metadata":)" +
              e.metadata_json + "}");
    return;
  }
  std::string line = "agentrt-client: " + e.message;
  // The CLI's own errors say everything in the message; the library's carry details.
  if (e.metadata_json != "{}" && e.code != "authentication_refused" &&
      e.code != "artifact_not_delivered")
    line += " " + e.metadata_json;
  print(stderr, line + "\n");
}

void report(const client::client_error& e, bool json) {
  if (json && e.code == client::errc::runtime_error) {
    protocol::error_message m;
    m.error = e.message;
    m.metadata.json = e.metadata_json;
    return emit(m);
  }
  report(from_client_error(e), json);
}

int report_failure(const client::client_error& e, bool json) {
  report(e, json);
  return from_client_error(e).exit_code;
}

} // namespace agentrt::cli

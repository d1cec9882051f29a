// The blocking session. Requests are sent, and their answers decoded and dispatched, on the
// caller's thread; only the socket lives on the connection's io thread.
#include "agentrt/client/session.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <type_traits>
#include <variant>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/errc.hpp"
#include "error_metadata.hpp"
#include "ws_connection.hpp"

namespace agentrt::client {

namespace {

using clock = std::chrono::steady_clock;
using detail::error_metadata;
using detail::ws_connection;

// How long to wait for a request's terminal after cancelling it. The runtime answers a cancel
// once the commands' process groups are gone, after its SIGTERM-to-SIGKILL grace (5 s by
// default) for commands that ignore SIGTERM.
constexpr auto terminal_grace = std::chrono::seconds(10);
// How long a new request waits for the terminals of requests given up on earlier. Sending it
// before they arrived would make the runtime answer "another request is in flight" and leave
// the old terminal to be mistaken for the new request's.
constexpr auto unanswered_drain_limit = std::chrono::seconds(30);
// The runtime's end-of-session drain is bounded by its own timeouts; this bounds ours.
constexpr auto end_session_limit = std::chrono::seconds(60);
constexpr std::size_t frame_excerpt_bytes = 512;

client_error make_error(errc e, std::string message, std::string metadata_json = "{}") {
  return client_error{make_error_code(e), std::move(message), std::move(metadata_json)};
}

// A "?token=..." in the URL is a credential; keep it out of error messages.
std::string url_for_messages(const std::string& url) {
  std::string out = url;
  for (std::size_t pos = 0; (pos = out.find("token=", pos)) != std::string::npos;) {
    if (pos != 0 && out[pos - 1] != '?' && out[pos - 1] != '&') {
      pos += 6;
      continue;
    }
    std::size_t begin = pos + 6;
    std::size_t end = out.find_first_of("&#", begin);
    out.replace(begin, (end == std::string::npos ? out.size() : end) - begin, "[REDACTED]");
    pos = begin;
  }
  return out;
}

bool is_terminal(const protocol::message& m) {
  return std::holds_alternative<protocol::result_message>(m) ||
         std::holds_alternative<protocol::command_execution_result_message>(m) ||
         std::holds_alternative<protocol::error_message>(m);
}

} // namespace

struct session::impl {
  std::unique_ptr<ws_connection> connection;

  // One request (or end()) at a time: the protocol allows no more per connection.
  std::mutex request_mutex;
  int unanswered_requests = 0; // given up on before their terminal came; under request_mutex
  bool ended = false;          // under request_mutex

  // What abort() needs to know, shared with the requesting thread.
  std::mutex state_mutex;
  bool in_flight = false;
  bool cancel_sent = false;
  bool abort_requested = false;

  void send(const protocol::message& m) { connection->send(protocol::encode(m)); }

  // Sends at most one cancel_message per request.
  void cancel_locked() {
    if (cancel_sent)
      return;
    cancel_sent = true;
    send(protocol::cancel_message{});
  }

  client_error closed_error(const std::string& waiting_for) const {
    error_metadata metadata;
    metadata.add("close_code", connection->close_code());
    metadata.add("close_reason", connection->close_reason());
    std::string message = "the connection closed while waiting for " + waiting_for;
    if (int code = connection->close_code(); code != 0) {
      message += " (close code " + std::to_string(code);
      if (!connection->close_reason().empty())
        message += ": " + connection->close_reason();
      message += ")";
    }
    return make_error(errc::closed, std::move(message), metadata.str());
  }

  static client_error violation(const std::string& what, const std::string& frame) {
    error_metadata metadata;
    metadata.add("error", what);
    metadata.add("frame", std::string_view(frame).substr(0, frame_excerpt_bytes));
    return make_error(errc::protocol_violation, "the runtime sent an invalid frame: " + what,
                      metadata.str());
  }

  client_error drain_unanswered(clock::time_point deadline);
  client_error await_terminal(clock::time_point deadline, const execute_options& options,
                              execute_result& result);
};

session::session() : impl_(std::make_unique<impl>()) {}

session::~session() = default; // ws_connection closes the connection if it is still open

std::pair<std::unique_ptr<session>, client_error> session::connect(const connect_options& options) {
  std::map<std::string, std::string> headers;
  if (options.token)
    headers["Authorization"] = "Bearer " + *options.token;

  auto opened = ws_connection::open(options.url, headers, options.connect_timeout);
  if (!opened.connection) {
    const std::string url = url_for_messages(options.url);
    error_metadata metadata;
    metadata.add("url", url);
    if (opened.http_status != 0)
      metadata.add("http_status", opened.http_status);
    metadata.add("error", opened.error);
    return {nullptr, make_error(errc::connection_failed,
                                "cannot connect to " + url + ": " + opened.error, metadata.str())};
  }
  std::unique_ptr<session> s(new session());
  s->impl_->connection = std::move(opened.connection);
  return {std::move(s), client_error{}};
}

std::pair<execute_result, client_error>
session::execute_commands(const std::vector<protocol::command>& commands,
                          const execute_options& options) {
  impl& d = *impl_;
  std::lock_guard request_lock(d.request_mutex);
  execute_result result;
  if (d.ended)
    return {result, make_error(errc::closed, "the session has ended")};

  const auto deadline =
      options.timeout ? clock::now() + *options.timeout : clock::time_point::max();
  if (auto error = d.drain_unanswered(deadline); error.code)
    return {result, error};

  protocol::command_execution_message request;
  request.source_id = options.source_id;
  request.secrets_to_redact = options.secrets_to_redact;
  request.commands = commands;
  {
    // Under the state lock, so that an abort() either sees no request or sends its cancel
    // after the request (both go through the same ordered send queue).
    std::lock_guard lock(d.state_mutex);
    d.in_flight = true;
    d.cancel_sent = false;
    d.abort_requested = false;
    d.send(request);
  }
  client_error error = d.await_terminal(deadline, options, result);
  {
    std::lock_guard lock(d.state_mutex);
    d.in_flight = false;
  }
  return {std::move(result), std::move(error)};
}

client_error session::impl::drain_unanswered(clock::time_point deadline) {
  const auto limit = std::min(deadline, clock::now() + unanswered_drain_limit);
  std::string frame;
  while (unanswered_requests > 0) {
    switch (connection->next_frame(frame, limit)) {
    case ws_connection::wait_status::closed:
      return closed_error("an earlier request's answer");
    case ws_connection::wait_status::timed_out:
      return make_error(errc::timed_out,
                        "an earlier request is still running at the runtime: its cancel has "
                        "not been answered yet");
    case ws_connection::wait_status::interrupted:
      break;
    case ws_connection::wait_status::frame:
      // Whatever else belonged to the old request (output, heartbeats) is dropped with it.
      if (auto decoded = protocol::decode(frame); decoded.msg && is_terminal(*decoded.msg))
        --unanswered_requests;
      break;
    }
  }
  return {};
}

client_error session::impl::await_terminal(clock::time_point deadline,
                                           const execute_options& options, execute_result& result) {
  // Set once the request is being cancelled: why, and how long its terminal may still take.
  std::optional<errc> cancel_reason;
  auto grace_deadline = clock::time_point::max();
  const auto start_cancel = [&](errc reason) {
    if (cancel_reason)
      return;
    cancel_reason = reason;
    grace_deadline = clock::now() + terminal_grace;
  };

  std::string frame;
  for (;;) {
    {
      std::lock_guard lock(state_mutex);
      if (abort_requested)
        start_cancel(errc::cancelled);
    }
    switch (connection->next_frame(frame, std::min(deadline, grace_deadline))) {
    case ws_connection::wait_status::interrupted:
      continue;
    case ws_connection::wait_status::closed:
      return closed_error("the request's answer");
    case ws_connection::wait_status::timed_out: {
      const auto now = clock::now();
      if (now >= grace_deadline) {
        ++unanswered_requests;
        return make_error(*cancel_reason,
                          *cancel_reason == errc::timed_out
                              ? "request timed out; the runtime did not answer its cancel"
                              : "request cancelled; the runtime did not answer the cancel");
      }
      if (now >= deadline) {
        deadline = clock::time_point::max();
        start_cancel(errc::timed_out);
        std::lock_guard lock(state_mutex);
        cancel_locked();
      }
      continue;
    }
    case ws_connection::wait_status::frame:
      break;
    }

    auto decoded = protocol::decode(frame);
    if (!decoded.msg) {
      // Newer runtimes may send message types this client does not know; they are not errors.
      if (decoded.ec == protocol::errc::unknown_message_type)
        continue;
      // The request is still running at the runtime and nobody will read its answer now.
      {
        std::lock_guard lock(state_mutex);
        cancel_locked();
      }
      ++unanswered_requests;
      return violation(decoded.error, frame);
    }

    std::optional<client_error> outcome = std::visit(
        [&](auto& m) -> std::optional<client_error> {
          using type = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<type, protocol::command_output_message>) {
            if (options.on_output)
              options.on_output(m);
            return std::nullopt;
          } else if constexpr (std::is_same_v<type, protocol::command_execution_result_message>) {
            result.results = std::move(m.results);
            if (!cancel_reason)
              return client_error{};
            // The commands finished before the cancel reached the runtime; the results are
            // kept, but the call still reports why it was cut short.
            return make_error(*cancel_reason, "the commands finished before the cancel");
          } else if constexpr (std::is_same_v<type, protocol::error_message>) {
            if (cancel_reason == errc::timed_out) {
              return make_error(errc::timed_out,
                                "request timed out after " +
                                    std::to_string(options.timeout->count()) +
                                    " ms; the runtime answered the cancel with: " + m.error,
                                std::move(m.metadata.json));
            }
            return make_error(cancel_reason ? *cancel_reason : errc::runtime_error,
                              std::move(m.error), std::move(m.metadata.json));
          } else if constexpr (std::is_same_v<type, protocol::result_message> ||
                               std::is_same_v<type, protocol::end_session_confirm_message>) {
            // Answers to requests this session never made: the two sides disagree about the
            // session's state, so the request's own terminal cannot be trusted to follow.
            ++unanswered_requests;
            return violation(std::string("unexpected ") + protocol::message_type_name(m) +
                                 " during a command execution",
                             frame);
          } else {
            // Heartbeats, assistant text, artifact upload requests (not answered by this
            // client yet) and extension events do not affect the request.
            return std::nullopt;
          }
        },
        *decoded.msg);
    if (outcome)
      return std::move(*outcome);
  }
}

void session::abort() {
  impl& d = *impl_;
  std::lock_guard lock(d.state_mutex);
  if (!d.in_flight)
    return;
  d.abort_requested = true;
  d.cancel_locked();
  d.connection->interrupt();
}

client_error session::end() {
  impl& d = *impl_;
  std::lock_guard request_lock(d.request_mutex);
  if (d.ended)
    return {};
  d.ended = true;
  if (d.connection->closed())
    return d.closed_error("end_session_confirm_message");

  d.send(protocol::end_session_message{});
  const auto deadline = clock::now() + end_session_limit;
  std::string frame;
  for (;;) {
    switch (d.connection->next_frame(frame, deadline)) {
    case ws_connection::wait_status::closed:
      return d.closed_error("end_session_confirm_message");
    case ws_connection::wait_status::timed_out:
      d.connection->close();
      return make_error(errc::timed_out, "the runtime did not confirm the end of the session");
    case ws_connection::wait_status::interrupted:
      continue;
    case ws_connection::wait_status::frame:
      break;
    }
    // Anything else still arriving (late terminals, upload requests) no longer matters.
    auto decoded = protocol::decode(frame);
    if (decoded.msg &&
        std::holds_alternative<protocol::end_session_confirm_message>(*decoded.msg)) {
      d.connection->close();
      return {};
    }
  }
}

} // namespace agentrt::client

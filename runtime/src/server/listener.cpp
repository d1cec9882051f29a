// Connection acceptance, authentication, /health, and shutdown for the runtime.
#include "server/listener.hpp"

#include <cctype>
#include <cerrno>
#include <string>
#include <string_view>

#include <asio/error.hpp>
#include <asio/post.hpp>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/input_quote.hpp"
#include "agentrt/protocol/json_builder.hpp"
#include "artifacts/inotify_hub.hpp"
#include "log/logger.hpp"
#include "metrics/metrics_page.hpp"
#include "metrics/runtime_metrics.hpp"
#include "server/extensions.hpp"
#include "util/percent_decode.hpp"
#include "util/secure_token.hpp"

namespace agentrt::runtime::server {
namespace {

// The value of name in the request target's query string, if present.
std::optional<std::string> query_param(const std::string& resource, std::string_view name) {
  const auto q = resource.find('?');
  if (q == std::string::npos)
    return std::nullopt;
  std::string_view query(resource);
  query.remove_prefix(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.size() > name.size() && pair.compare(0, name.size(), name) == 0 &&
        pair[name.size()] == '=') {
      return util::percent_decode(pair.substr(name.size() + 1), /*plus_is_space=*/true);
    }
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// A durable session asked for on the upgrade (docs/durable-sessions.md); headers win over the
// query parameters.
struct durable_opt_in {
  std::string session; // "new" or the id of the session to resume
  std::string resume_token;
  std::string last_seq;
};

std::string header_or_param(const ws_server::connection_type& con, const std::string& header,
                            std::string_view param) {
  std::string v = con.get_request_header(header);
  if (v.empty())
    v = query_param(con.get_resource(), param).value_or("");
  return v;
}

std::optional<durable_opt_in> parse_opt_in(const ws_server::connection_type& con) {
  durable_opt_in o;
  o.session = header_or_param(con, "Agentrt-Session", "session");
  if (o.session.empty())
    return std::nullopt;
  o.resume_token = header_or_param(con, "Agentrt-Resume-Token", "resume_token");
  o.last_seq = header_or_param(con, "Agentrt-Last-Seq", "last_seq");
  return o;
}

// The Agentrt-Extensions header of the 101: durable-sessions for a durable opt-in, and those
// named in the upgrade's own Agentrt-Extensions header that this runtime supports. A runtimeuse
// client sends neither, and gets no header.
std::string answered_extensions(const ws_server::connection_type& con) {
  std::string answer;
  if (parse_opt_in(con))
    answer = "durable-sessions";
  const std::string asked = con.get_request_header("Agentrt-Extensions");
  for (const std::string_view supported : {"upload-decline", "processes"}) {
    if (lists_extension(asked, supported)) {
      answer += answer.empty() ? "" : ", ";
      answer += supported;
    }
  }
  return answer;
}

std::optional<std::uint64_t> parse_seq(const std::string& text) {
  if (text.empty())
    return 0;
  if (text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoull(text);
}

std::string request_path(const std::string& resource) {
  return resource.substr(0, resource.find('?'));
}

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" || host.rfind("127.", 0) == 0;
}

// Accept errors that mean "no resources now": retrying at once only spins. Compared by value:
// standalone Asio reports errno values in its own "asio.system" category, which is not
// equivalent to std::errc conditions.
bool out_of_resources(const std::error_code& ec) {
  if (ec.category() != asio::error::get_system_category() &&
      ec.category() != std::system_category()) {
    return false;
  }
  const int e = ec.value();
  return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

constexpr std::chrono::milliseconds first_accept_backoff{50};
constexpr std::chrono::milliseconds max_accept_backoff{1000};

// "Authorization: Bearer <token>" or "?token=<token>", compared in constant time.
bool presents_token(ws_server::connection_type& con, const std::string& token) {
  const std::string auth = con.get_request_header("Authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (auth.size() > bearer.size() && auth.compare(0, bearer.size(), bearer) == 0 &&
      util::constant_time_equal(std::string_view(auth).substr(bearer.size()), token))
    return true;
  const auto q = query_param(con.get_resource(), "token");
  return q && util::constant_time_equal(*q, token);
}

} // namespace

listener::listener(asio::io_context& io, const config::options& opts,
                   process::process_reaper& reaper, harness::harness& agent_harness)
    : pool_(4), state_(io, opts, reaper, transfers_, pool_, agent_harness),
      frame_budget_(std::make_shared<frame_budget>(opts.max_pending_frame_bytes)),
      files_router_(io, files_), accept_backoff_timer_(io), shutdown_deadline_(io) {
  server_.clear_access_channels(websocketpp::log::alevel::all);
  server_.clear_error_channels(websocketpp::log::elevel::all);
  if (log::enabled(log::level::debug)) {
    server_.set_error_channels(websocketpp::log::elevel::warn | websocketpp::log::elevel::rerror |
                               websocketpp::log::elevel::fatal);
  }
  std::error_code ec;
  server_.init_asio(&io, ec);
  server_.set_reuse_addr(true);
  server_.set_max_message_size(opts.max_message_bytes);
  // Nagle would hold a small frame (an artifact announce after a close) until the client's
  // delayed ACK for the previous one, ~20-40 ms. Post-init: at socket_init the accepted socket
  // is not open yet and the option would silently not be set.
  server_.set_tcp_post_init_handler([this](websocketpp::connection_hdl h) { on_tcp_ready(h); });
  server_.set_validate_handler([this](websocketpp::connection_hdl h) { return on_validate(h); });
  server_.set_ping_handler(
      [this](websocketpp::connection_hdl h, std::string) { return on_ping(h); });
  server_.set_http_handler([this](websocketpp::connection_hdl h) { on_http(h); });
  server_.set_open_handler([this](websocketpp::connection_hdl h) { on_open(h); });
  server_.set_close_handler([this](websocketpp::connection_hdl h) { on_close(h); });
  server_.set_fail_handler([this](websocketpp::connection_hdl h) { on_close(h); });
  server_.set_message_handler(
      [this](websocketpp::connection_hdl h, ws_server::message_ptr m) { on_message(h, m); });
}

listener::~listener() {
  // Durable sessions are also held by the registry (in state_, destroyed last): they go with
  // the connections they are attached to.
  state_.durable_sessions.clear();
}

std::error_code listener::start() {
  const auto& o = state_.options;
  files::files_config files_config;
  files_config.token = o.token;
  files_config.limits.extract_max_bytes = o.extract_max_bytes;
  files_config.limits.extract_max_entries = o.extract_max_entries;
  files_config.limits.extract_max_ratio = o.extract_max_ratio;
  files_config.limits.max_upload_bytes = o.extract_max_bytes;
  if (auto started = files_.start(std::move(files_config), o.files_root); !started.ok()) {
    log::error({}, started.error().text);
    return std::make_error_code(std::errc::no_such_file_or_directory);
  }
  std::error_code ec;
  server_.listen(o.host, std::to_string(o.port), ec);
  if (ec)
    return ec;
  accept_next();
  log::info({}, "agentrt " AGENTRT_VERSION " listening on " + o.host + ":" +
                    std::to_string(port()) + (o.token ? " (token required)" : ""));
  if (!o.token && !is_loopback(o.host)) {
    log::warn({}, "listening on a non-loopback address without a token: anyone who can reach "
                  "this port can run commands (set --token or AGENTRT_TOKEN)");
  }
  return {};
}

std::uint16_t listener::port() const {
  std::error_code ec;
  const auto ep = const_cast<ws_server&>(server_).get_local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void listener::accept_next() {
  if (state_.shutting_down || !server_.is_listening())
    return;
  connection_ptr con = server_.get_connection();
  if (!con) {
    log::error({}, "cannot accept connections any more: no connection could be created");
    return;
  }
  std::error_code ec;
  server_.async_accept(
      con, [this, con](const std::error_code& e) { on_accept(con, e); }, ec);
  if (ec) {
    con->terminate(ec);
    log::error({}, "cannot accept connections any more: " + ec.message());
  }
}

void listener::on_accept(const connection_ptr& con, const std::error_code& ec) {
  if (!ec) {
    if (accept_backoff_.count() > 0) {
      log::info({}, "accepting connections again");
      accept_backoff_ = std::chrono::milliseconds{0};
    }
    // A request for /files goes to the files API's streaming handler; the rest to websocketpp.
    files_router_.route(con->get_raw_socket(), con, [con] { con->start(); });
    accept_next();
    return;
  }
  con->terminate(ec);
  if (ec == websocketpp::error::make_error_code(websocketpp::error::operation_canceled) ||
      state_.shutting_down) {
    return;
  }
  if (!out_of_resources(ec)) {
    // The peer gave up before we took it (ECONNABORTED) and the like: next one.
    log::debug({}, "accept failed: " + ec.message());
    accept_next();
    return;
  }
  // Pending connections wait in the kernel's backlog until descriptors are freed (a session
  // ends, or an idle one times out: --session-idle-timeout).
  if (accept_backoff_.count() == 0) {
    accept_backoff_ = first_accept_backoff;
    log::warn({}, "cannot accept a connection: " + ec.message() + " (" +
                      std::to_string(state_.open_sessions) +
                      " session(s) open); retrying with back-off up to " +
                      std::to_string(max_accept_backoff.count()) + " ms");
  } else {
    accept_backoff_ = std::min(accept_backoff_ * 2, max_accept_backoff);
  }
  accept_backoff_timer_.expires_after(accept_backoff_);
  accept_backoff_timer_.async_wait([this](const std::error_code& e) {
    if (!e)
      accept_next();
  });
}

void listener::on_tcp_ready(websocketpp::connection_hdl hdl) {
  std::error_code ec;
  auto con = server_.get_con_from_hdl(hdl, ec);
  if (ec)
    return;
  con->get_raw_socket().set_option(asio::ip::tcp::no_delay(true), ec);
  if (ec)
    log::debug({}, "TCP_NODELAY not set: " + ec.message());
  con->set_inbound_budget(frame_budget_, [this, hdl](std::size_t frame_bytes) {
    // Posted: this runs inside websocketpp's read path.
    asio::post(state_.io, [this, hdl, frame_bytes] { on_frame_refused(hdl, frame_bytes); });
  });
}

void listener::on_frame_refused(websocketpp::connection_hdl hdl, std::size_t frame_bytes) {
  std::error_code ec;
  auto con = server_.get_con_from_hdl(hdl, ec);
  if (ec)
    return;
  log::warn({}, "refused a " + std::to_string(frame_bytes) + "-byte frame from " +
                    con->get_remote_endpoint() + ": partly received frames of all connections " +
                    "would exceed --max-pending-frame-bytes (" +
                    std::to_string(frame_budget_->limit()) + "); closing with 1013");
  const std::string reason = "too many large frames in progress; try again later";
  auto it = sessions_.find(hdl);
  if (it != sessions_.end()) {
    it->second->close_now(websocketpp::close::status::try_again_later, reason);
    return;
  }
  con->close(websocketpp::close::status::try_again_later, reason, ec);
}

bool listener::on_validate(websocketpp::connection_hdl hdl) {
  auto con = server_.get_con_from_hdl(hdl);
  // RFC 6455 only. websocketpp also accepts the drafts hybi-07/08 and hixie-76; hixie-76
  // frames went around both --max-message-bytes and the UTF-8 check.
  const std::string version = con->get_request_header("Sec-WebSocket-Version");
  if (version != "13") {
    log::warn({}, "refused a WebSocket upgrade from " + con->get_remote_endpoint() +
                      ": Sec-WebSocket-Version \"" + protocol::quote_prefix(version, 32) +
                      "\" (only 13, RFC 6455, is supported)");
    con->set_status(websocketpp::http::status_code::upgrade_required);
    con->replace_header("Sec-WebSocket-Version", "13");
    return false;
  }
  if (state_.shutting_down) {
    con->set_status(websocketpp::http::status_code::service_unavailable);
    return false;
  }
  const auto& token = state_.options.token;
  if (token) {
    if (!presents_token(*con, *token)) {
      log::warn({}, "refused a WebSocket upgrade from " + con->get_remote_endpoint() +
                        ": missing or wrong token");
      con->set_status(websocketpp::http::status_code::unauthorized);
      con->set_body("{\"error\":\"unauthorized\"}");
      con->append_header("Content-Type", "application/json");
      return false;
    }
  }
  // Answered on the 101 whatever the outcome of a resume: a refusal is an error_message on the
  // open connection (on_open), which the client can read.
  const std::string extensions = answered_extensions(*con);
  if (!extensions.empty())
    con->append_header("Agentrt-Extensions", extensions);
  return true;
}

void listener::on_http(websocketpp::connection_hdl hdl) {
  auto con = server_.get_con_from_hdl(hdl);
  const std::string path = request_path(con->get_resource());
  const bool get = con->get_request().get_method() == "GET";
  if (path == "/health" && get) {
    con->set_status(websocketpp::http::status_code::ok);
    con->append_header("Content-Type", "application/json");
    con->set_body(health_json());
    return;
  }
  if (path == "/metrics" && get) {
    serve_metrics(*con);
    return;
  }
  con->set_status(websocketpp::http::status_code::not_found);
  con->append_header("Content-Type", "application/json");
  con->set_body("{\"error\":\"not found: connect with a WebSocket, or GET /health or /metrics\"}");
}

void listener::serve_metrics(ws_server::connection_type& con) {
  const auto& o = state_.options;
  // Either token opens it: a scraper can be given --metrics-token without the token that runs
  // commands.
  const bool open = !o.token && !o.metrics_token;
  if (!open && !(o.token && presents_token(con, *o.token)) &&
      !(o.metrics_token && presents_token(con, *o.metrics_token))) {
    log::warn({}, "refused GET /metrics from " + con.get_remote_endpoint() +
                      ": missing or wrong token");
    con.set_status(websocketpp::http::status_code::unauthorized);
    con.append_header("Content-Type", "application/json");
    con.append_header("WWW-Authenticate", "Bearer");
    con.set_body("{\"error\":\"unauthorized\"}");
    return;
  }
  metrics::server_gauges now;
  now.open_sessions = state_.open_sessions;
  now.detached_sessions = state_.detached_sessions;
  now.requests_in_flight = state_.requests_in_flight;
  now.transfers_in_flight = state_.transfers.in_flight();
  // has_service: a scrape must not open an inotify instance nobody asked for.
  if (asio::has_service<artifacts::inotify_hub>(state_.io))
    now.inotify_watches = asio::use_service<artifacts::inotify_hub>(state_.io).watch_count();
  now.uptime_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - state_.started).count();
  now.shutting_down = state_.shutting_down;
  con.set_status(websocketpp::http::status_code::ok);
  con.append_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  con.set_body(metrics::render_metrics_page(now));
}

std::string listener::health_json() const {
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - state_.started).count();
  return protocol::json_builder()
      .add("status", state_.shutting_down ? "shutting_down" : "ok")
      .add("version", AGENTRT_VERSION)
      .add("uptime_s", uptime)
      .add("open_sessions", state_.open_sessions)
      .add("requests_in_flight", state_.requests_in_flight)
      .add("detached_sessions", state_.detached_sessions)
      .add("containment", state_.reaper.containment_name())
      .str();
}

void listener::on_open(websocketpp::connection_hdl hdl) {
  auto con = server_.get_con_from_hdl(hdl);
  metrics::get().connections_accepted.add();
  const std::optional<durable_opt_in> opt_in = parse_opt_in(*con);
  if (!opt_in) {
    auto s = std::make_shared<session>(state_, con);
    sessions_.emplace(hdl, s);
    s->on_open();
    return;
  }
  if (opt_in->session == "new") {
    auto made = state_.durable_sessions.make_credentials();
    if (!made.ok()) {
      const std::string why = made.error().code.message();
      log::error({}, "cannot make durable session credentials: " + why);
      refuse_resume(con, "cannot start a durable session: " + why, "internal_error",
                    websocketpp::close::status::internal_endpoint_error);
      return;
    }
    session_credentials credentials = std::move(made).value();
    auto s = std::make_shared<session>(state_, con);
    s->make_durable(credentials);
    state_.durable_sessions.add(std::move(credentials), s);
    sessions_.emplace(hdl, s);
    s->on_open();
    return;
  }
  const std::optional<std::uint64_t> last_seq = parse_seq(opt_in->last_seq);
  auto [verdict, s] = state_.durable_sessions.find(opt_in->session, opt_in->resume_token);
  if (verdict == resume_verdict::expired) {
    log::warn({}, "refused a resume from " + con->get_remote_endpoint() + ": session " +
                      protocol::quote_prefix(opt_in->session, 64) + " expired");
    refuse_resume(con, "resume refused: session expired", "session_expired",
                  websocketpp::close::status::policy_violation);
    return;
  }
  if (verdict != resume_verdict::found || !s || !last_seq) {
    log::warn({}, "refused a resume from " + con->get_remote_endpoint() +
                      ": unknown session, wrong token or bad Agentrt-Last-Seq");
    refuse_resume(con, "resume refused: unknown session or wrong token", "resume_refused",
                  websocketpp::close::status::policy_violation);
    return;
  }
  // The connection it is attached to, if any, is superseded: its frames and its close are no
  // longer this session's.
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second == s) {
      sessions_.erase(it);
      break;
    }
  }
  closing_.erase(s.get());
  sessions_.emplace(hdl, s);
  s->resume(con, *last_seq);
}

void listener::refuse_resume(const connection_ptr& con, const std::string& text,
                             const std::string& code, websocketpp::close::status::value close) {
  const std::string frame = protocol::encode(protocol::error_message{
      text, protocol::json_text{protocol::json_builder().add("code", code).str()}});
  std::error_code ec = con->send(frame, websocketpp::frame::opcode::text);
  if (!ec)
    con->close(close, text.substr(0, 120), ec);
  if (ec)
    log::debug({}, "refusing a resume: " + ec.message());
}

void listener::on_close(websocketpp::connection_hdl hdl) {
  auto it = sessions_.find(hdl);
  if (it == sessions_.end())
    return; // a failed handshake: there never was a session
  auto s = it->second;
  sessions_.erase(it);
  closing_.emplace(s.get(), s);
  s->on_close([this, key = s.get()] {
    // Posted: the session calls this from inside its own handlers.
    asio::post(state_.io, [this, key] {
      closing_.erase(key);
      maybe_finish_shutdown();
    });
  });
  maybe_finish_shutdown();
}

void listener::on_message(websocketpp::connection_hdl hdl, ws_server::message_ptr msg) {
  auto it = sessions_.find(hdl);
  if (it != sessions_.end())
    it->second->on_message(std::move(msg));
}

bool listener::on_ping(websocketpp::connection_hdl hdl) {
  auto it = sessions_.find(hdl);
  return it == sessions_.end() || it->second->on_ping();
}

void listener::shutdown(std::function<void()> on_done) {
  if (state_.shutting_down)
    return;
  state_.shutting_down = true;
  on_shutdown_done_ = std::move(on_done);
  log::info({}, "shutting down: " + std::to_string(sessions_.size()) + " session(s), " +
                    std::to_string(state_.requests_in_flight) + " request(s) in flight" +
                    (closing_.empty() ? std::string()
                                      : ", " + std::to_string(closing_.size()) +
                                            " closed session(s) still cleaning up"));
  std::error_code ec;
  server_.stop_listening(ec);
  accept_backoff_timer_.cancel();
  files_router_.shutdown();
  files_.shutdown();
  // Copies: a session may close synchronously and move from one map to the other.
  auto sessions = sessions_;
  for (auto& [hdl, s] : sessions)
    s->shutdown();
  auto closing = closing_;
  for (auto& [key, s] : closing)
    s->shutdown();
  shutdown_deadline_.expires_after(std::chrono::seconds(4));
  shutdown_deadline_.async_wait([this](const std::error_code& e) {
    if (e || !on_shutdown_done_)
      return;
    log::warn({}, "shutdown deadline reached with " + std::to_string(sessions_.size()) +
                      " connection(s) still closing and " + std::to_string(closing_.size()) +
                      " closed session(s) still cleaning up");
    auto done = std::move(on_shutdown_done_);
    on_shutdown_done_ = nullptr;
    done();
  });
  maybe_finish_shutdown();
}

void listener::maybe_finish_shutdown() {
  if (!state_.shutting_down || !sessions_.empty() || !closing_.empty() || !on_shutdown_done_) {
    return;
  }
  shutdown_deadline_.cancel();
  auto done = std::move(on_shutdown_done_);
  on_shutdown_done_ = nullptr;
  done();
}

} // namespace agentrt::runtime::server

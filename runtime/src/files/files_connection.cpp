// Request routing of the files API (docs/protocol.md, "Files API").
#include "files/files_connection.hpp"

#include "files/http_socket.hpp"
#include "log/logger.hpp"
#include "util/secure_token.hpp"

namespace agentrt::runtime::files {
namespace {

bool authorized(const http_request& req, const std::optional<std::string>& token) {
  if (!token)
    return true;
  const std::string auth = req.header("authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (auth.size() > bearer.size() && auth.compare(0, bearer.size(), bearer) == 0 &&
      util::constant_time_equal(std::string_view(auth).substr(bearer.size()), *token)) {
    return true;
  }
  const auto q = req.param("token");
  return q && util::constant_time_equal(*q, *token);
}

files_error method_not_allowed(const http_request& req, const char* allowed) {
  return make_error(files_errc::method_not_allowed,
                    req.method + " is not allowed on " + req.path + " (allowed: " + allowed + ")");
}

void route(request_context& ctx) {
  const http_request& req = ctx.req;
  const std::string& m = req.method;
  const bool tar = req.param("format") == std::optional<std::string>("tar");
  if (req.param("format") && !tar) {
    ctx.sock.send_error(bad_request("format must be \"tar\""));
    return;
  }
  if (req.path == "/files" || req.path == "/files/") {
    if (m == "GET" || m == "HEAD")
      return tar ? handle_tar_download(ctx) : handle_read(ctx);
    if (m == "PUT")
      return tar ? handle_tar_upload(ctx) : handle_write(ctx);
    if (m == "DELETE")
      return handle_remove(ctx);
    ctx.sock.send_error(method_not_allowed(req, "GET, HEAD, PUT, DELETE"));
    return;
  }
  if (req.path == "/files/stat") {
    if (m == "GET" || m == "HEAD")
      return handle_stat(ctx);
    return void(ctx.sock.send_error(method_not_allowed(req, "GET")));
  }
  if (req.path == "/files/list") {
    if (m == "GET")
      return handle_list(ctx);
    return void(ctx.sock.send_error(method_not_allowed(req, "GET")));
  }
  if (req.path == "/files/mkdir") {
    if (m == "POST" || m == "PUT")
      return handle_mkdir(ctx);
    return void(ctx.sock.send_error(method_not_allowed(req, "POST")));
  }
  if (req.path == "/files/move") {
    if (m == "POST")
      return handle_move(ctx);
    return void(ctx.sock.send_error(method_not_allowed(req, "POST")));
  }
  ctx.sock.send_error(make_error(files_errc::unknown_endpoint,
                                 "no such files endpoint: " + req.path +
                                     " (see /files, /files/stat, /files/list, /files/mkdir, "
                                     "/files/move)"));
}

} // namespace

void serve_files_connection(util::unique_fd fd, const files_config& config,
                            const files_root& root) {
  http_socket sock(std::move(fd), config.idle_timeout_s);
  const protocol::result<http_request> head = sock.read_head();
  if (!head.ok()) {
    if (head.error().code != std::errc::connection_aborted) // else the peer is gone
      sock.send_error(head.error());
    sock.lingering_close();
    return;
  }
  const http_request* req = &head.value();
  if (!authorized(*req, config.token)) {
    log::warn({}, "refused a files API request " + req->method + " " + req->path +
                      ": missing or wrong token");
    sock.send_error(make_error(files_errc::unauthorized, "missing or wrong token"));
    sock.lingering_close();
    return;
  }
  log::debug({}, "files API: " + req->method + " " + req->path);
  request_context ctx{sock, *req, root, config.limits};
  route(ctx);
  sock.lingering_close();
}

} // namespace agentrt::runtime::files

// files_client: each call is one HTTP exchange with the runtime's /files endpoints.
#include "agentrt/client/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include <rapidjson/document.h>

#include "files_http.hpp"
#include "tar_stream.hpp"

namespace agentrt::client {
namespace {

using detail::http_exchange;
using detail::query_encode;

files_result failure(errc code, std::string message, int status = 0) {
  files_result r;
  r.error.code = make_error_code(code);
  r.error.message = std::move(message);
  r.status = status;
  return r;
}

// A non-2xx answer: the runtime's JSON error body.
files_result answer_error(http_exchange& x) {
  const std::string body = x.read_best_effort(1 << 20);
  files_result r = failure(errc::runtime_error, "HTTP " + std::to_string(x.status()), x.status());
  rapidjson::Document d;
  d.Parse(body.c_str());
  if (!d.HasParseError() && d.IsObject()) {
    if (d.HasMember("message") && d["message"].IsString())
      r.error.message = d["message"].GetString();
    if (d.HasMember("error") && d["error"].IsString())
      r.code = d["error"].GetString();
    r.error.metadata_json = body;
    while (!r.error.metadata_json.empty() && r.error.metadata_json.back() == '\n')
      r.error.metadata_json.pop_back();
  } else if (x.status() == 404) {
    r.code = "not_found";
    r.error.message = "the runtime has no files API (404): is it an agentrt with /files?";
  }
  return r;
}

// What the call was doing, then what the exchange says went wrong. Whatever the exchange's code
// (closed, not HTTP, an errno), the call fails with connection_failed, as files_result promises
// for every transport failure.
files_result transport_error(const protocol::error& e, const std::string& what) {
  return failure(errc::connection_failed, what + ": " + e.message());
}

file_info info_from(const rapidjson::Value& v) {
  file_info f;
  if (v.HasMember("path") && v["path"].IsString())
    f.path = v["path"].GetString();
  if (v.HasMember("type") && v["type"].IsString())
    f.type = v["type"].GetString();
  if (v.HasMember("size") && v["size"].IsNumber())
    f.size = static_cast<std::uint64_t>(v["size"].GetDouble());
  if (v.HasMember("mode") && v["mode"].IsString())
    f.mode = static_cast<unsigned>(std::strtoul(v["mode"].GetString(), nullptr, 8));
  if (v.HasMember("mtime") && v["mtime"].IsNumber())
    f.mtime = v["mtime"].GetDouble();
  if (v.HasMember("target") && v["target"].IsString())
    f.target = v["target"].GetString();
  return f;
}

std::string mode_text(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 0777);
  return buf;
}

} // namespace

files_client::files_client(files_options options) : options_(std::move(options)) {}

// The failure for an unusable files URL.
static files_result url_failure(const protocol::result<detail::base_url>& url) {
  return failure(errc::invalid_options, url.error().message());
}

// Sends a request without a body and reads the head; a non-2xx answer becomes the result.
static files_result simple_call(http_exchange& x, const std::string& method,
                                const std::string& target, std::string* body) {
  if (auto started = x.start(method, target, std::nullopt, false); !started.ok())
    return transport_error(started.error(), method + " " + target.substr(0, target.find('?')));
  if (auto head = x.read_head(); !head.ok())
    return transport_error(head.error(), "no answer");
  if (x.status() / 100 != 2)
    return answer_error(x);
  files_result r;
  r.status = x.status();
  if (body) {
    auto all = x.read_all();
    if (!all.ok())
      return transport_error(all.error(), "the answer was cut");
    *body = std::move(all).value();
  }
  return r;
}

files_result files_client::read(const std::string& remote,
                                const std::function<bool(const char*, std::size_t)>& sink,
                                std::uint64_t offset) {
  const auto url = detail::parse_base_url(options_.url);
  if (!url.ok())
    return url_failure(url);
  http_exchange x(options_, url.value());
  const std::string range =
      offset > 0 ? "Range: bytes=" + std::to_string(offset) + "-\r\n" : std::string();
  if (auto started =
          x.start("GET", "/files?path=" + query_encode(remote), std::nullopt, false, range);
      !started.ok())
    return transport_error(started.error(), "read " + remote);
  if (auto head = x.read_head(); !head.ok())
    return transport_error(head.error(), "read " + remote);
  if (x.status() != 200 && x.status() != 206)
    return answer_error(x);
  if (offset > 0 && x.status() != 206)
    return failure(errc::protocol_violation, "the runtime ignored the Range request", 200);
  std::optional<std::uint64_t> total;
  if (const std::string cl = x.header("content-length"); !cl.empty())
    total = offset + std::strtoull(cl.c_str(), nullptr, 10);
  std::vector<char> buf(256 * 1024);
  std::uint64_t done = offset;
  for (;;) {
    const auto n = x.read_body(buf.data(), buf.size());
    if (!n.ok())
      return transport_error(n.error(),
                             "read " + remote + " cut after " + std::to_string(done) + " bytes");
    if (n.value() == 0)
      break;
    if (!sink(buf.data(), n.value()))
      return failure(errc::cancelled, "read " + remote + ": stopped by the sink");
    done += n.value();
    if (options_.progress)
      options_.progress(done, total);
  }
  files_result r;
  r.status = x.status();
  return r;
}

files_result files_client::read_to_file(const std::string& remote, const std::string& local,
                                        bool resume) {
  const std::string part = local + ".part";
  struct stat st {};
  std::uint64_t offset = 0;
  if (resume && ::stat(part.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    offset = static_cast<std::uint64_t>(st.st_size);
  const int fd = ::open(part.c_str(),
                        O_WRONLY | O_CREAT | O_CLOEXEC | (offset > 0 ? O_APPEND : O_TRUNC), 0644);
  if (fd < 0)
    return failure(errc::invalid_options, "cannot write " + part + ": " + std::strerror(errno));
  int write_errno = 0;
  files_result r = read(
      remote,
      [&](const char* d, std::size_t n) {
        while (n > 0) {
          const ssize_t w = ::write(fd, d, n);
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0) {
            write_errno = errno;
            return false;
          }
          d += w;
          n -= static_cast<std::size_t>(w);
        }
        return true;
      },
      offset);
  // A range past the end: the part file is already whole (or the file shrank).
  if (!r.ok() && r.status == 416 && offset > 0) {
    ::close(fd);
    ::unlink(part.c_str());
    return read_to_file(remote, local, false);
  }
  const int close_rc = ::close(fd);
  if (write_errno != 0)
    return failure(errc::invalid_options,
                   "cannot write " + part + ": " + std::strerror(write_errno));
  if (!r.ok())
    return r; // the part file stays for a resume
  if (close_rc != 0 || ::rename(part.c_str(), local.c_str()) != 0)
    return failure(errc::invalid_options, "cannot write " + local + ": " + std::strerror(errno));
  return r;
}

files_result files_client::write(const std::string& remote,
                                 const std::function<std::size_t(char*, std::size_t)>& source,
                                 std::optional<std::uint64_t> length,
                                 std::optional<unsigned> mode) {
  const auto url = detail::parse_base_url(options_.url);
  if (!url.ok())
    return url_failure(url);
  http_exchange x(options_, url.value());
  std::string target = "/files?path=" + query_encode(remote);
  if (mode)
    target += "&mode=" + mode_text(*mode);
  if (auto started = x.start("PUT", target, length, !length); !started.ok())
    return transport_error(started.error(), "write " + remote);
  std::vector<char> buf(256 * 1024);
  std::uint64_t done = 0;
  protocol::result<void> sent;
  for (;;) {
    const std::size_t n = source(buf.data(), buf.size());
    if (n == 0)
      break;
    sent = x.send(std::string_view(buf.data(), n));
    if (!sent.ok())
      break; // the runtime may have answered early (disk full, refused): read it
    done += n;
    if (options_.progress)
      options_.progress(done, length);
  }
  if (sent.ok())
    sent = x.finish_body();
  // No answer is the story even when the body did not get through either.
  if (auto head = x.read_head(); !head.ok())
    return transport_error(head.error(), "write " + remote);
  if (x.status() / 100 != 2)
    return answer_error(x);
  if (!sent.ok())
    return transport_error(sent.error(), "write " + remote);
  files_result r;
  r.status = x.status();
  return r;
}

files_result files_client::write_from_file(const std::string& local, const std::string& remote,
                                           std::optional<unsigned> mode) {
  const int fd = ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return failure(errc::invalid_options, "cannot read " + local + ": " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return failure(errc::invalid_options, local + " is not a regular file");
  }
  bool read_failed = false;
  files_result r = write(
      remote,
      [&](char* buf, std::size_t n) -> std::size_t {
        for (;;) {
          const ssize_t got = ::read(fd, buf, n);
          if (got < 0 && errno == EINTR)
            continue;
          if (got < 0)
            read_failed = true;
          return got > 0 ? static_cast<std::size_t>(got) : 0;
        }
      },
      static_cast<std::uint64_t>(st.st_size),
      mode ? mode : std::optional<unsigned>(st.st_mode & 0777));
  ::close(fd);
  if (read_failed && r.ok())
    return failure(errc::invalid_options, "cannot read " + local);
  return r;
}

files_result files_client::stat(const std::string& remote, file_info& out) {
  const auto url = detail::parse_base_url(options_.url);
  if (!url.ok())
    return url_failure(url);
  http_exchange x(options_, url.value());
  std::string body;
  files_result r = simple_call(x, "GET", "/files/stat?path=" + query_encode(remote), &body);
  if (!r.ok())
    return r;
  rapidjson::Document d;
  d.Parse(body.c_str());
  if (d.HasParseError() || !d.IsObject())
    return failure(errc::protocol_violation, "stat: the answer is not a JSON object");
  out = info_from(d);
  return r;
}

files_result files_client::list(const std::string& remote, std::vector<file_info>& out, int depth) {
  const auto url = detail::parse_base_url(options_.url);
  if (!url.ok())
    return url_failure(url);
  http_exchange x(options_, url.value());
  std::string body;
  files_result r = simple_call(
      x, "GET", "/files/list?path=" + query_encode(remote) + "&depth=" + std::to_string(depth),
      &body);
  if (!r.ok())
    return r;
  rapidjson::Document d;
  d.Parse(body.c_str());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("entries") || !d["entries"].IsArray())
    return failure(errc::protocol_violation, "list: the answer has no entries array");
  out.clear();
  for (const auto& e : d["entries"].GetArray()) {
    if (e.IsObject())
      out.push_back(info_from(e));
  }
  return r;
}

files_result files_client::mkdir(const std::string& remote, std::optional<unsigned> mode) {
  const auto url = detail::parse_base_url(options_.url);
  if (!url.ok())
    return url_failure(url);
  http_exchange x(options_, url.value());
  std::string target = "/files/mkdir?path=" + query_encode(remote);
  if (mode)
    target += "&mode=" + mode_text(*mode);
  return simple_call(x, "POST", target, nullptr);
}

files_result files_client::move(const std::string& from, const std::string& to, bool overwrite) {
  const auto url = detail::parse_base_url(options_.url);
  if (!url.ok())
    return url_failure(url);
  http_exchange x(options_, url.value());
  return simple_call(x, "POST",
                     "/files/move?from=" + query_encode(from) + "&to=" + query_encode(to) +
                         (overwrite ? "&overwrite=1" : ""),
                     nullptr);
}

files_result files_client::remove(const std::string& remote, bool recursive) {
  const auto url = detail::parse_base_url(options_.url);
  if (!url.ok())
    return url_failure(url);
  http_exchange x(options_, url.value());
  return simple_call(x, "DELETE",
                     "/files?path=" + query_encode(remote) + (recursive ? "&recursive=1" : ""),
                     nullptr);
}

files_result files_client::upload_directory(const std::string& local_dir,
                                            const std::string& remote_dir) {
  const auto url = detail::parse_base_url(options_.url);
  if (!url.ok())
    return url_failure(url);
  struct stat st {};
  if (::stat(local_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return failure(errc::invalid_options, local_dir + " is not a directory");
  http_exchange x(options_, url.value());
  if (auto started = x.start("PUT", "/files?path=" + query_encode(remote_dir) + "&format=tar",
                             std::nullopt, true);
      !started.ok())
    return transport_error(started.error(), "upload " + local_dir);
  std::uint64_t done = 0;
  // A failed send stops write_tar; the connection's own error is kept, so that a dropped
  // connection reads as one (connection_failed) and not as a local file write_tar could not
  // read (invalid_options, its text).
  std::optional<protocol::error> link_error;
  const auto written = detail::write_tar(local_dir, [&](std::string_view data) {
    if (auto sent = x.send(data); !sent.ok()) {
      link_error = sent.error();
      return false;
    }
    done += data.size();
    if (options_.progress)
      options_.progress(done, std::nullopt);
    return true;
  });
  if (written.ok()) {
    if (auto finished = x.finish_body(); !finished.ok())
      link_error = finished.error();
  }
  const bool local_failure = !written.ok() && !link_error;
  // As for write(): no answer is the story even when the body did not get through either.
  if (auto head = x.read_head(); !head.ok()) {
    if (local_failure)
      return failure(errc::invalid_options, written.error().message());
    return transport_error(head.error(), "upload " + local_dir);
  }
  if (x.status() / 100 != 2)
    return answer_error(x);
  if (local_failure)
    return failure(errc::invalid_options, written.error().message());
  if (link_error)
    return transport_error(*link_error, "upload " + local_dir);
  files_result r;
  r.status = x.status();
  return r;
}

files_result files_client::download_directory(const std::string& remote_dir,
                                              const std::string& local_dir) {
  const auto url = detail::parse_base_url(options_.url);
  if (!url.ok())
    return url_failure(url);
  http_exchange x(options_, url.value());
  if (auto started = x.start("GET", "/files?path=" + query_encode(remote_dir) + "&format=tar",
                             std::nullopt, false);
      !started.ok())
    return transport_error(started.error(), "download " + remote_dir);
  if (auto head = x.read_head(); !head.ok())
    return transport_error(head.error(), "download " + remote_dir);
  if (x.status() != 200)
    return answer_error(x);
  detail::tar_extractor extractor(local_dir);
  std::vector<char> buf(256 * 1024);
  std::uint64_t done = 0;
  for (;;) {
    const auto n = x.read_body(buf.data(), buf.size());
    if (!n.ok())
      return transport_error(n.error(), "download " + remote_dir + " cut after " +
                                            std::to_string(done) + " bytes");
    if (n.value() == 0)
      break;
    if (auto fed = extractor.feed(buf.data(), n.value()); !fed.ok())
      return failure(errc::protocol_violation,
                     "download " + remote_dir + ": " + fed.error().message());
    done += n.value();
    if (options_.progress)
      options_.progress(done, std::nullopt);
  }
  if (auto finished = extractor.finish(); !finished.ok())
    return failure(errc::protocol_violation,
                   "download " + remote_dir + ": " + finished.error().message());
  files_result r;
  r.status = x.status();
  return r;
}

} // namespace agentrt::client

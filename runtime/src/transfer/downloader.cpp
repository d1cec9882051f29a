// The download job: name check, then attempts with retries on the transfer engine (http,
// https) or one local copy on the pool (file://), into a ".part" file renamed when complete.
#include "transfer/downloader.hpp"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/post.hpp>
#include <curl/curl.h>

#include "agentrt/protocol/errc.hpp"
#include "transfer/part_file.hpp"
#include "transfer/retry_policy.hpp"
#include "util/percent_decode.hpp"
#include "util/safe_open.hpp"
#include "util/url_text.hpp"

namespace agentrt::runtime::transfer {

namespace {

// file:// copies move this much per read; the cancel flag is checked between reads.
constexpr std::size_t copy_chunk = 256 * 1024;

// For messages: a decoded name may carry NULs and control bytes.
std::string printable(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '\0') {
      out += "\\0";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    } else if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool supported_scheme(const std::string& url) {
  const auto colon = url.find("://");
  if (colon == std::string::npos)
    return false;
  const std::string scheme = lower(url.substr(0, colon));
  return scheme == "http" || scheme == "https" || scheme == "file";
}

download_result fail(download_result r, transfer_failure kind, std::string error) {
  r.failure = kind;
  r.error = std::move(error);
  r.path.clear();
  return r;
}

download_result fail_local(download_result r, const std::string& prefix, const local_failure& f) {
  r.io_error = f.ec;
  return fail(std::move(r), transfer_failure::local_io, prefix + " failed: " + f.text());
}

std::string too_large_text(std::uint64_t limit, std::int64_t announced) {
  std::string text = announced >= 0 ? "the server announced " + std::to_string(announced) +
                                          " bytes, more than the limit of "
                                    : "the body is larger than the limit of ";
  return text + std::to_string(limit) + " bytes (--download-max-bytes)";
}

// One http(s) attempt: the body goes to a fresh part file, committed in finish() when the
// attempt succeeded and removed otherwise, both on the engine thread.
class download_attempt final : public curl_attempt {
public:
  download_attempt(const std::string& url, const std::string& working_dir, const std::string& name,
                   std::uint64_t max_bytes)
      : url_(url), working_dir_(working_dir), name_(name), max_bytes_(max_bytes) {}

  bool prepare(CURL* h) override {
    local_failure f;
    part_ = part_file::create(working_dir_, name_, f);
    if (!part_) {
      failure = std::move(f);
      return false;
    }
    curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
    // Error bodies never reach the file, and the transfer stops at the status line.
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &download_attempt::on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, static_cast<void*>(this));
    // Refused from the Content-Length before the body starts, when the server sends one.
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &download_attempt::on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, static_cast<void*>(this));
    if (max_bytes_ > 0) {
      curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                       static_cast<curl_off_t>(std::min<std::uint64_t>(max_bytes_, INT64_MAX)));
    }
    started_ = true;
    return true;
  }

  void finish(CURL*, const attempt_result& a) override {
    if (a.curl_code == CURLE_FILESIZE_EXCEEDED) {
      too_large = true;
      announced_length = content_length_;
    }
    const bool status_ok = a.http_status >= 200 && a.http_status <= 299;
    if (a.transport_ok() && status_ok && write_errno == 0 && !too_large) {
      failure = part_->commit();
      committed = !failure;
    } else {
      part_->discard();
    }
  }

  // Read on the io_context once the attempt is back. started: prepare() succeeded, so the
  // attempt counts (and the part file existed).
  bool started() const noexcept { return started_; }
  const std::string& final_path() const noexcept { return part_->final_path(); }
  std::optional<local_failure> failure; // creating the part file, or committing it
  int write_errno = 0;
  bool too_large = false;
  std::int64_t announced_length = -1; // the Content-Length that was over the limit
  bool committed = false;
  std::uint64_t bytes = 0;

private:
  // Stops the transfer by returning short, which curl reports as CURLE_WRITE_ERROR; the
  // reason is kept for the user.
  static size_t on_write(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<download_attempt*>(user);
    const size_t total = size * count;
    if (self->max_bytes_ > 0 && self->bytes + total > self->max_bytes_) {
      self->too_large = true;
      return 0;
    }
    if (const int err = self->part_->write(data, total); err != 0) {
      self->write_errno = err;
      return 0;
    }
    self->bytes += total;
    return total;
  }

  // Keeps the last Content-Length seen, for the message when curl refuses it (curl does not
  // report the size it refused).
  static size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<download_attempt*>(user);
    const size_t total = size * count;
    constexpr std::string_view name = "content-length:";
    if (total > name.size() && lower(std::string(data, name.size())) == name) {
      const std::string value(data + name.size(), total - name.size());
      char* end = nullptr;
      const long long n = std::strtoll(value.c_str(), &end, 10);
      if (end != value.c_str() && n >= 0)
        self->content_length_ = n;
    }
    return total;
  }

  const std::string url_;
  const std::string working_dir_;
  const std::string name_;
  const std::uint64_t max_bytes_;
  std::optional<part_file> part_;
  std::int64_t content_length_ = -1;
  bool started_ = false;
};

// An http(s) download across its attempts, on the io_context.
class download_op : public std::enable_shared_from_this<download_op> {
public:
  download_op(asio::io_context& io, transfer_engine& engine, std::string url,
              std::string working_dir, std::string name, transfer_options options,
              util::cancel_token cancel, downloader::done_handler on_done)
      : io_(io), engine_(engine), url_(std::move(url)), working_dir_(std::move(working_dir)),
        name_(std::move(name)), options_(options), cancel_(std::move(cancel)),
        on_done_(std::move(on_done)), prefix_("download of " + util::redact_url_userinfo(url_)) {}

  void attempt(std::chrono::milliseconds delay) {
    engine_.run(
        io_,
        std::make_unique<download_attempt>(url_, working_dir_, name_, options_.download_max_bytes),
        options_, cancel_, delay,
        [self = shared_from_this()](std::unique_ptr<download_attempt> a, attempt_result r) {
          self->on_attempt(*a, r);
        });
  }

private:
  void on_attempt(download_attempt& a, const attempt_result& ar) {
    if (!a.started()) {
      if (ar.cancelled)
        return done(fail(std::move(r_), transfer_failure::cancelled, prefix_ + " cancelled"));
      if (a.failure)
        return done(fail_local(std::move(r_), prefix_, *a.failure));
      return done(fail(std::move(r_), transfer_failure::transport,
                       prefix_ + " failed: " + describe_transport_error(ar)));
    }
    ++r_.attempts;
    r_.curl_code = static_cast<int>(ar.curl_code);
    r_.curl_error = util::hide_url_userinfo(ar.curl_error, url_);
    r_.http_status = ar.http_status;
    r_.bytes = a.bytes;

    if (a.committed) {
      r_.curl_code = 0;
      r_.curl_error.clear();
      r_.path = a.final_path();
      return done(std::move(r_));
    }
    if (ar.cancelled)
      return done(fail(std::move(r_), transfer_failure::cancelled, prefix_ + " cancelled"));
    if (a.failure)
      return done(fail_local(std::move(r_), prefix_, *a.failure));
    if (a.write_errno != 0) {
      return done(fail_local(
          std::move(r_), prefix_,
          {std::error_code(a.write_errno, std::generic_category()), "writing " + a.final_path()}));
    }
    if (a.too_large) {
      return done(fail(
          std::move(r_), transfer_failure::too_large,
          prefix_ + " failed: " + too_large_text(options_.download_max_bytes, a.announced_length)));
    }
    if (const auto delay = retry_after(options_, ar, r_.attempts))
      return attempt(*delay);
    done(failed_for_good(std::move(r_), ar, prefix_));
  }

  void done(download_result r) {
    if (auto on_done = std::exchange(on_done_, nullptr))
      on_done(std::move(r));
  }

  asio::io_context& io_;
  transfer_engine& engine_;
  const std::string url_;
  const std::string working_dir_;
  const std::string name_;
  const transfer_options options_;
  const util::cancel_token cancel_;
  downloader::done_handler on_done_;
  const std::string prefix_;
  download_result r_;
};

// The local path of a file:// URL, decoded by curl's own URL parser (so it is the file curl
// would have opened): host empty or localhost, query and fragment not part of it.
protocol::result<std::string> file_url_path(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), &curl_url_cleanup);
  if (!u)
    return {std::make_error_code(std::errc::not_enough_memory), "out of memory"};
  if (const CURLUcode uc = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0); uc != CURLUE_OK) {
    return {protocol::errc::invalid_value,
            std::string("the URL does not parse (") + curl_url_strerror(uc) + ")"};
  }
  char* path = nullptr;
  if (const CURLUcode uc = curl_url_get(u.get(), CURLUPART_PATH, &path, CURLU_URLDECODE);
      uc != CURLUE_OK) {
    return {protocol::errc::invalid_value,
            std::string("the URL's path does not decode (") + curl_url_strerror(uc) + ")"};
  }
  std::string out(path);
  curl_free(path);
  return out;
}

// A file:// download, blocking (on the local pool): the source must be a regular file, opened
// without blocking, copied in chunks into the part file.
download_result copy_file_url(const std::string& url, const std::string& working_dir,
                              const std::string& name, const transfer_options& options,
                              const util::cancel_token& cancel) {
  download_result r;
  const std::string prefix = "download of " + util::redact_url_userinfo(url);
  const auto file_path = file_url_path(url);
  if (!file_path.ok()) {
    return fail(std::move(r), transfer_failure::refused,
                prefix + " refused: " + file_path.error().text);
  }
  const std::string& path = file_path.value();
  if (cancel.cancelled())
    return fail(std::move(r), transfer_failure::cancelled, prefix + " cancelled");
  r.attempts = 1;
  util::opened_file src = util::open_regular_file(path);
  if (src.refused) {
    return fail(std::move(r), transfer_failure::refused,
                prefix + " refused: " + path + " " + src.reason);
  }
  if (!src.ok()) {
    // In curl's words, which is what file:// URLs reported before the runtime read them itself.
    attempt_result a;
    a.curl_code = CURLE_FILE_COULDNT_READ_FILE;
    a.curl_error = "Couldn't open file " + path + ": " + src.reason;
    r.curl_code = static_cast<int>(a.curl_code);
    r.curl_error = a.curl_error;
    return fail(std::move(r), transfer_failure::transport,
                prefix + " failed: " + describe_transport_error(a));
  }
  const auto size = static_cast<std::uint64_t>(src.st.st_size);
  if (options.download_max_bytes > 0 && size > options.download_max_bytes) {
    return fail(std::move(r), transfer_failure::too_large,
                prefix + " failed: the file has " + std::to_string(size) +
                    " bytes, more than the limit of " + std::to_string(options.download_max_bytes) +
                    " bytes (--download-max-bytes)");
  }
  local_failure f;
  auto part = part_file::create(working_dir, name, f);
  if (!part)
    return fail_local(std::move(r), prefix, f);
  std::vector<char> buffer(copy_chunk);
  for (;;) {
    if (cancel.cancelled())
      return fail(std::move(r), transfer_failure::cancelled, prefix + " cancelled");
    const ssize_t n = ::read(src.fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      return fail_local(std::move(r), prefix,
                        {std::error_code(errno, std::generic_category()), "reading " + path});
    }
    if (n == 0)
      break;
    const auto got = static_cast<std::uint64_t>(n);
    if (options.download_max_bytes > 0 && r.bytes + got > options.download_max_bytes) {
      return fail(std::move(r), transfer_failure::too_large,
                  prefix + " failed: " + too_large_text(options.download_max_bytes, -1));
    }
    if (const int err = part->write(buffer.data(), static_cast<std::size_t>(n)); err != 0) {
      return fail_local(
          std::move(r), prefix,
          {std::error_code(err, std::generic_category()), "writing " + part->final_path()});
    }
    r.bytes += got;
  }
  if (auto failure = part->commit())
    return fail_local(std::move(r), prefix, *failure);
  r.path = part->final_path();
  return r;
}

} // namespace

protocol::result<std::string> downloader::file_name_for(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return {protocol::errc::invalid_value, "not an absolute URL"};
  }
  const size_t authority = scheme_end + 3;
  const size_t path_begin = std::min(url.find_first_of("/?#", authority), url.size());
  const size_t path_end = std::min(url.find_first_of("?#", path_begin), url.size());
  const std::string path = url.substr(path_begin, path_end - path_begin);
  const auto slash = path.rfind('/');
  const std::string segment = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::string name = util::percent_decode(segment);
  if (name.empty()) {
    return {protocol::errc::invalid_value,
            "the URL has no file name (its last path segment is empty)"};
  }
  if (name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    return {protocol::errc::invalid_value, "the URL's last path segment decodes to " +
                                               printable(name) +
                                               ", which is not a plain file name"};
  }
  // Room for the hidden ".<name>.part" sibling, which must fit NAME_MAX too.
  if (name.size() + 6 > NAME_MAX) {
    return {protocol::errc::invalid_value,
            "the file name from the URL is longer than " + std::to_string(NAME_MAX - 6) + " bytes"};
  }
  return name;
}

void downloader::download(std::string url, std::string working_dir, transfer_options options,
                          util::cancel_token cancel, done_handler on_done) {
  const std::string prefix = "download of " + util::redact_url_userinfo(url);
  protocol::result<std::string> name =
      supported_scheme(url)
          ? file_name_for(url)
          : protocol::result<std::string>(protocol::errc::not_supported,
                                          "only http, https and file URLs are supported");
  if (!name.ok() || cancel.cancelled()) {
    download_result r =
        name.ok() ? fail({}, transfer_failure::cancelled, prefix + " cancelled")
                  : fail({}, transfer_failure::refused, prefix + " refused: " + name.error().text);
    asio::post(
        io_, [on_done = std::move(on_done), r = std::move(r)]() mutable { on_done(std::move(r)); });
    return;
  }
  if (lower(url.substr(0, 5)) == "file:") {
    local_pool_.run(
        io_,
        [url = std::move(url), working_dir = std::move(working_dir), name = std::move(name).value(),
         options, cancel] { return copy_file_url(url, working_dir, name, options, cancel); },
        std::move(on_done));
    return;
  }
  std::make_shared<download_op>(io_, engine_, std::move(url), std::move(working_dir),
                                std::move(name).value(), options, std::move(cancel),
                                std::move(on_done))
      ->attempt(std::chrono::milliseconds(0));
}

} // namespace agentrt::runtime::transfer

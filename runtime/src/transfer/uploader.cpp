// The upload job: attempts with retries on the transfer engine, each re-opening the file safely
// and streaming it as the body of a PUT.
#include "transfer/uploader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <memory>
#include <optional>
#include <utility>

#include <asio/post.hpp>
#include <curl/curl.h>

#include "transfer/curl_handle.hpp"
#include "transfer/retry_policy.hpp"
#include "util/safe_open.hpp"
#include "util/unique_fd.hpp"
#include "util/url_text.hpp"

namespace agentrt::runtime::transfer {

namespace {

using util::unique_fd;

constexpr size_t response_excerpt_max = 1024;
// curl's default is 64 KiB; larger buffers mean fewer read() calls on multi-GiB artifacts.
constexpr long upload_buffer_size = 256 * 1024;

// The body's source. The read callback aborts (CURL_READFUNC_ABORT) on a read error or when
// the file turns out shorter than the Content-Length already promised; the reason is kept here.
struct file_source {
  int fd = -1;
  std::uint64_t size = 0;
  std::uint64_t offset = 0;
  int read_errno = 0;
  bool shrank = false;
};

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* src = static_cast<file_source*>(user);
  const std::uint64_t left = src->size - src->offset;
  if (left == 0)
    return 0;
  const size_t want = static_cast<size_t>(std::min<std::uint64_t>(size * count, left));
  for (;;) {
    const ssize_t n = ::read(src->fd, buffer, want);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      src->read_errno = errno;
      return CURL_READFUNC_ABORT;
    }
    if (n == 0) {
      src->shrank = true;
      return CURL_READFUNC_ABORT;
    }
    src->offset += static_cast<std::uint64_t>(n);
    return static_cast<size_t>(n);
  }
}

// curl rewinds the body when it has to send it again within one attempt (a 307 redirect).
int on_seek(void* user, curl_off_t offset, int origin) {
  auto* src = static_cast<file_source*>(user);
  if (origin != SEEK_SET || offset < 0)
    return CURL_SEEKFUNC_CANTSEEK;
  if (::lseek(src->fd, static_cast<off_t>(offset), SEEK_SET) < 0)
    return CURL_SEEKFUNC_FAIL;
  src->offset = static_cast<std::uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t on_response_body(char* data, size_t size, size_t count, void* user) {
  auto* excerpt = static_cast<std::string*>(user);
  const size_t total = size * count;
  const size_t room = response_excerpt_max - std::min(response_excerpt_max, excerpt->size());
  excerpt->append(data, std::min(room, total));
  return total;
}

bool http_url(const std::string& url) {
  const auto colon = url.find("://");
  if (colon == std::string::npos)
    return false;
  std::string scheme = url.substr(0, colon);
  for (char& c : scheme)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return scheme == "http" || scheme == "https";
}

upload_result fail(upload_result r, transfer_failure kind, std::string error) {
  r.failure = kind;
  r.error = std::move(error);
  return r;
}

std::string join_path(const std::string& dir, const std::string& relative) {
  if (relative.empty())
    return dir;
  return dir.empty() || dir.back() == '/' ? dir + relative : dir + "/" + relative;
}

// One PUT attempt. prepare() opens the file (never following a symlink below the base
// directory, never blocking) and finish() closes it, both on the engine thread.
class upload_attempt final : public curl_attempt {
public:
  upload_attempt(const upload_source& source, const std::string& url,
                 const std::string& content_type)
      : source_(source), url_(url), content_type_(content_type) {}

  bool prepare(CURL* h) override {
    if (!open_file())
      return false;
    src_.fd = fd_.get();
    src_.size = size;
    const std::string content_type_line = "Content-Type: " + content_type_;
    // "Expect:" with no value removes the header: curl would otherwise wait up to a second for
    // "100 Continue" before sending a large body.
    if ((!content_type_.empty() && !headers_.append(content_type_line.c_str())) ||
        !headers_.append("Expect:")) {
      return false; // out of memory: reported as a libcurl failure
    }
    curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, upload_buffer_size);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, &on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, static_cast<void*>(&src_));
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, &on_seek);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, static_cast<void*>(&src_));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_response_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, static_cast<void*>(&response_excerpt));
    started_ = true;
    return true;
  }

  void finish(CURL*, const attempt_result&) override {
    read_errno = src_.read_errno;
    shrank = src_.shrank;
    fd_.reset();
  }

  // Read on the io_context once the attempt is back. started: prepare() succeeded, so the
  // attempt counts.
  bool started() const noexcept { return started_; }
  // Set when prepare() failed: the file was refused (refusal says why), or could not be opened.
  std::optional<std::string> refusal;
  std::error_code open_error;
  std::string open_what; // "opening F", "reading F"
  std::uint64_t size = 0;
  int read_errno = 0;
  bool shrank = false;
  std::string response_excerpt;

private:
  bool open_file() {
    const int base_flags =
        O_RDONLY | O_DIRECTORY | O_CLOEXEC | (source_.base_may_be_symlink ? 0 : O_NOFOLLOW);
    unique_fd dir(::open(source_.base_dir.c_str(), base_flags));
    if (!dir) {
      const int err = errno;
      struct stat st {};
      if (!source_.base_may_be_symlink && ::lstat(source_.base_dir.c_str(), &st) == 0 &&
          S_ISLNK(st.st_mode)) {
        refusal = source_.base_dir + " is a symbolic link";
      } else {
        open_error = std::error_code(err, std::generic_category());
        open_what = "opening " + source_.base_dir;
      }
      return false;
    }
    util::opened_file file = util::open_regular_beneath(dir.get(), source_.relative_path);
    if (file.refused) {
      refusal = join_path(source_.base_dir, file.where) + " " + file.reason;
      return false;
    }
    if (!file.ok()) {
      open_error = file.ec;
      open_what = "opening " + join_path(source_.base_dir, file.where);
      return false;
    }
    size = static_cast<std::uint64_t>(file.st.st_size);
    fd_ = std::move(file.fd);
    return true;
  }

  const upload_source source_;
  const std::string url_;
  const std::string content_type_;
  unique_fd fd_;
  file_source src_;
  slist_handle headers_;
  bool started_ = false;
};

// An upload across its attempts, on the io_context.
class upload_op : public std::enable_shared_from_this<upload_op> {
public:
  upload_op(asio::io_context& io, transfer_engine& engine, upload_source source, std::string url,
            std::string content_type, transfer_options options, util::cancel_token cancel,
            uploader::done_handler on_done, std::string prefix)
      : io_(io), engine_(engine), source_(std::move(source)), url_(std::move(url)),
        content_type_(std::move(content_type)), options_(options), cancel_(std::move(cancel)),
        on_done_(std::move(on_done)), prefix_(std::move(prefix)) {}

  void attempt(std::chrono::milliseconds delay) {
    engine_.run(io_, std::make_unique<upload_attempt>(source_, url_, content_type_), options_,
                cancel_, delay,
                [self = shared_from_this()](std::unique_ptr<upload_attempt> a, attempt_result r) {
                  self->on_attempt(*a, r);
                });
  }

private:
  void on_attempt(upload_attempt& a, const attempt_result& ar) {
    const std::string file = source_.path();
    if (!a.started() && ar.cancelled)
      return done(fail(std::move(r_), transfer_failure::cancelled, prefix_ + " cancelled"));
    if (a.refusal)
      return done(
          fail(std::move(r_), transfer_failure::refused, prefix_ + " refused: " + *a.refusal));
    if (a.open_error) {
      r_.io_error = a.open_error;
      return done(fail(std::move(r_), transfer_failure::local_io,
                       prefix_ + " failed: " + a.open_what + ": " + a.open_error.message()));
    }
    if (!a.started()) {
      return done(fail(std::move(r_), transfer_failure::transport,
                       prefix_ + " failed: could not initialise libcurl"));
    }
    ++r_.attempts;
    r_.curl_code = static_cast<int>(ar.curl_code);
    r_.curl_error = util::hide_url_userinfo(ar.curl_error, url_);
    r_.http_status = ar.http_status;
    r_.bytes = a.size;
    r_.response_excerpt = std::move(a.response_excerpt);

    if (ar.cancelled)
      return done(fail(std::move(r_), transfer_failure::cancelled, prefix_ + " cancelled"));
    if (a.read_errno != 0) {
      r_.io_error = std::error_code(a.read_errno, std::generic_category());
      return done(fail(std::move(r_), transfer_failure::local_io,
                       prefix_ + " failed: reading " + file + ": " + r_.io_error.message()));
    }
    if (a.shrank) {
      r_.io_error = std::make_error_code(std::errc::io_error);
      return done(fail(std::move(r_), transfer_failure::local_io,
                       prefix_ + " failed: reading " + file +
                           ": the file shrank while it was being uploaded"));
    }
    if (ar.transport_ok() && ar.http_status >= 200 && ar.http_status <= 299) {
      r_.curl_error.clear();
      return done(std::move(r_));
    }
    if (const auto delay = retry_after(options_, ar, r_.attempts))
      return attempt(*delay);
    done(failed_for_good(std::move(r_), ar, prefix_));
  }

  void done(upload_result r) {
    if (auto on_done = std::exchange(on_done_, nullptr))
      on_done(std::move(r));
  }

  asio::io_context& io_;
  transfer_engine& engine_;
  const upload_source source_;
  const std::string url_;
  const std::string content_type_;
  const transfer_options options_;
  const util::cancel_token cancel_;
  uploader::done_handler on_done_;
  const std::string prefix_;
  upload_result r_;
};

} // namespace

std::string upload_source::path() const {
  return join_path(base_dir, relative_path);
}

upload_source upload_source::file(const std::string& path) {
  upload_source s;
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) {
    s.base_dir = ".";
    s.relative_path = path;
  } else {
    s.base_dir = slash == 0 ? "/" : path.substr(0, slash);
    s.relative_path = path.substr(slash + 1);
  }
  return s;
}

void uploader::upload(upload_source source, std::string presigned_url, std::string content_type,
                      transfer_options options, util::cancel_token cancel, done_handler on_done) {
  std::string prefix =
      "upload of " + source.path() + " to " + util::redact_url_userinfo(presigned_url);
  std::optional<upload_result> refused;
  if (!http_url(presigned_url)) {
    refused = fail({}, transfer_failure::refused,
                   prefix + " refused: only http and https URLs are supported");
  } else if (content_type.find_first_of("\r\n") != std::string::npos) {
    refused = fail({}, transfer_failure::refused,
                   prefix + " refused: the content type contains a line break");
  }
  if (refused) {
    asio::post(io_, [on_done = std::move(on_done), r = std::move(*refused)]() mutable {
      on_done(std::move(r));
    });
    return;
  }
  std::make_shared<upload_op>(io_, engine_, std::move(source), std::move(presigned_url),
                              std::move(content_type), options, std::move(cancel),
                              std::move(on_done), std::move(prefix))
      ->attempt(std::chrono::milliseconds(0));
}

} // namespace agentrt::runtime::transfer

// The upload job: attempts with retries, each re-opening the file and streaming it as the body
// of a PUT.
#include "transfer/uploader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <utility>

#include <curl/curl.h>

#include "util/unique_fd.hpp"
#include "transfer/curl_handle.hpp"
#include "transfer/curl_session.hpp"

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

upload_result fail_io(upload_result r, int err, const std::string& what) {
  r.io_error = std::error_code(err, std::generic_category());
  return fail(std::move(r), transfer_failure::local_io, what + ": " + r.io_error.message());
}

} // namespace

void uploader::upload(std::string file_path, std::string presigned_url, std::string content_type,
                      transfer_options options, cancel_token cancel, done_handler on_done) {
  pool_.run(
      io_,
      [file_path = std::move(file_path), url = std::move(presigned_url),
       content_type = std::move(content_type), options,
       cancel] { return upload_blocking(file_path, url, content_type, options, cancel); },
      std::move(on_done));
}

upload_result uploader::upload_blocking(const std::string& file_path,
                                        const std::string& presigned_url,
                                        const std::string& content_type,
                                        const transfer_options& options,
                                        const cancel_token& cancel) {
  upload_result r;
  const std::string prefix = "upload of " + file_path + " to " + presigned_url;
  if (!http_url(presigned_url)) {
    return fail(std::move(r), transfer_failure::refused,
                prefix + " refused: only http and https URLs are supported");
  }
  if (content_type.find_first_of("\r\n") != std::string::npos) {
    return fail(std::move(r), transfer_failure::refused,
                prefix + " refused: the content type contains a line break");
  }
  slist_handle headers;
  const std::string content_type_line = "Content-Type: " + content_type;
  // "Expect:" with no value removes the header: curl would otherwise wait up to a second for
  // "100 Continue" before sending a large body.
  if ((!content_type.empty() && !headers.append(content_type_line.c_str())) ||
      !headers.append("Expect:")) {
    return fail(std::move(r), transfer_failure::transport,
                prefix + " failed: could not initialise libcurl");
  }

  for (int attempt = 0;; ++attempt) {
    if (cancel.cancelled() ||
        (attempt > 0 && cancel.wait_for(backoff_delay(options, attempt - 1)))) {
      return fail(std::move(r), transfer_failure::cancelled, prefix + " cancelled");
    }
    // Re-opened for every attempt: the artifact may have been rewritten since the last one.
    unique_fd fd(::open(file_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      const int err = errno;
      return fail_io(std::move(r), err, prefix + " failed: opening " + file_path);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
      const int err = errno;
      return fail_io(std::move(r), err, prefix + " failed: reading " + file_path);
    }
    if (!S_ISREG(st.st_mode)) {
      return fail(std::move(r), transfer_failure::refused,
                  prefix + " refused: " + file_path + " is not a regular file");
    }
    file_source src;
    src.fd = fd.get();
    src.size = static_cast<std::uint64_t>(st.st_size);
    r.response_excerpt.clear();

    attempt_result a;
    {
      curl_session session(options, cancel, "http,https");
      if (!session.valid()) {
        return fail(std::move(r), transfer_failure::transport,
                    prefix + " failed: could not initialise libcurl");
      }
      CURL* h = session.easy();
      curl_easy_setopt(h, CURLOPT_URL, presigned_url.c_str());
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(src.size));
      curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, upload_buffer_size);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, &on_read);
      curl_easy_setopt(h, CURLOPT_READDATA, &src);
      curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, &on_seek);
      curl_easy_setopt(h, CURLOPT_SEEKDATA, &src);
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
      curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_response_body);
      curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.response_excerpt);
      a = session.perform();
    }
    ++r.attempts;
    r.curl_code = static_cast<int>(a.curl_code);
    r.curl_error = a.curl_error;
    r.http_status = a.http_status;
    r.bytes = src.size;

    if (a.cancelled)
      return fail(std::move(r), transfer_failure::cancelled, prefix + " cancelled");
    if (src.read_errno != 0) {
      return fail_io(std::move(r), src.read_errno, prefix + " failed: reading " + file_path);
    }
    if (src.shrank) {
      r.io_error = std::make_error_code(std::errc::io_error);
      return fail(std::move(r), transfer_failure::local_io,
                  prefix + " failed: reading " + file_path +
                      ": the file shrank while it was being uploaded");
    }
    if (a.transport_ok() && a.http_status >= 200 && a.http_status <= 299) {
      r.curl_error.clear();
      return r;
    }
    if (attempt < options.max_retries && should_retry(a))
      continue;

    if (a.transport_ok()) {
      return fail(std::move(r), transfer_failure::http_status,
                  prefix + " failed: HTTP " + std::to_string(a.http_status) +
                      attempts_suffix(r.attempts));
    }
    return fail(std::move(r), transfer_failure::transport,
                prefix + " failed: " + describe_transport_error(a) + attempts_suffix(r.attempts));
  }
}

} // namespace agentrt::runtime::transfer

// The download job: name check, directory creation, attempts with retries into a ".part" file,
// and the final rename.
#include "transfer/downloader.hpp"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <utility>

#include <curl/curl.h>

#include "util/unique_fd.hpp"
#include "transfer/curl_session.hpp"

namespace agentrt::runtime::transfer {

namespace {

namespace fs = std::filesystem;
using util::unique_fd;

// The body's destination. The write callback stops the transfer by returning short, which curl
// reports as CURLE_WRITE_ERROR; the errno kept here is what the user needs to see.
struct file_sink {
  int fd = -1;
  std::uint64_t bytes = 0;
  int write_errno = 0;
};

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<file_sink*>(user);
  const size_t total = size * count;
  size_t done = 0;
  while (done < total) {
    const ssize_t n = ::write(sink->fd, data + done, total - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      // write() returning 0 for a regular file only happens when no space is left.
      sink->write_errno = n < 0 ? errno : ENOSPC;
      return 0;
    }
    done += static_cast<size_t>(n);
  }
  sink->bytes += total;
  return total;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Invalid escapes ("100%", "%zz") stay literal, as curl sends them unchanged.
std::string percent_decode(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

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

std::string errno_text(int err) {
  return std::generic_category().message(err);
}

download_result fail(download_result r, transfer_failure kind, std::string error) {
  r.failure = kind;
  r.error = std::move(error);
  r.path.clear();
  return r;
}

download_result fail_io(download_result r, int err, const std::string& what) {
  r.io_error = std::error_code(err, std::generic_category());
  return fail(std::move(r), transfer_failure::local_io, what + ": " + errno_text(err));
}

} // namespace

std::optional<std::string> downloader::file_name_for(const std::string& url, std::string& why) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    why = "not an absolute URL";
    return std::nullopt;
  }
  const size_t authority = scheme_end + 3;
  const size_t path_begin = std::min(url.find_first_of("/?#", authority), url.size());
  const size_t path_end = std::min(url.find_first_of("?#", path_begin), url.size());
  const std::string path = url.substr(path_begin, path_end - path_begin);
  const auto slash = path.rfind('/');
  const std::string segment = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::string name = percent_decode(segment);
  if (name.empty()) {
    why = "the URL has no file name (its last path segment is empty)";
    return std::nullopt;
  }
  if (name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    why = "the URL's last path segment decodes to " + printable(name) +
          ", which is not a plain file name";
    return std::nullopt;
  }
  // Room for the hidden ".<name>.part" sibling, which must fit NAME_MAX too.
  if (name.size() + 6 > NAME_MAX) {
    why = "the file name from the URL is longer than " + std::to_string(NAME_MAX - 6) + " bytes";
    return std::nullopt;
  }
  return name;
}

void downloader::download(std::string url, std::string working_dir, transfer_options options,
                          cancel_token cancel, done_handler on_done) {
  pool_.run(
      io_,
      [url = std::move(url), working_dir = std::move(working_dir), options, cancel] {
        return download_blocking(url, working_dir, options, cancel);
      },
      std::move(on_done));
}

download_result downloader::download_blocking(const std::string& url,
                                              const std::string& working_dir,
                                              const transfer_options& options,
                                              const cancel_token& cancel) {
  download_result r;
  const std::string prefix = "download of " + url;
  if (!supported_scheme(url)) {
    return fail(std::move(r), transfer_failure::refused,
                prefix + " refused: only http, https and file URLs are supported");
  }
  std::string why;
  const auto name = file_name_for(url, why);
  if (!name)
    return fail(std::move(r), transfer_failure::refused, prefix + " refused: " + why);
  if (cancel.cancelled())
    return fail(std::move(r), transfer_failure::cancelled, prefix + " cancelled");

  std::error_code ec;
  fs::create_directories(working_dir, ec);
  if (ec) {
    r.io_error = ec;
    return fail(std::move(r), transfer_failure::local_io,
                prefix + " failed: creating " + working_dir + ": " + ec.message());
  }
  const fs::path dir(working_dir);
  const std::string final_path = (dir / *name).string();
  const std::string part_path = (dir / ("." + *name + ".part")).string();

  for (int attempt = 0;; ++attempt) {
    if (attempt > 0 && cancel.wait_for(backoff_delay(options, attempt - 1))) {
      return fail(std::move(r), transfer_failure::cancelled, prefix + " cancelled");
    }
    // A stale .part (an earlier crash) or a planted symlink is replaced, never followed.
    if (::unlink(part_path.c_str()) != 0 && errno != ENOENT) {
      const int err = errno;
      return fail_io(std::move(r), err, prefix + " failed: removing " + part_path);
    }
    unique_fd part(
        ::open(part_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!part) {
      const int err = errno;
      return fail_io(std::move(r), err, prefix + " failed: creating " + part_path);
    }
    file_sink sink;
    sink.fd = part.get();

    attempt_result a;
    {
      curl_session session(options, cancel, "http,https,file");
      if (!session.valid()) {
        part.reset();
        ::unlink(part_path.c_str());
        return fail(std::move(r), transfer_failure::transport,
                    prefix + " failed: could not initialise libcurl");
      }
      CURL* h = session.easy();
      curl_easy_setopt(h, CURLOPT_URL, url.c_str());
      // Error bodies never reach the file, and the transfer stops at the status line.
      curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
      curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_write);
      curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
      a = session.perform();
    }
    ++r.attempts;
    r.curl_code = static_cast<int>(a.curl_code);
    r.curl_error = a.curl_error;
    r.http_status = a.http_status;
    r.bytes = sink.bytes;

    const bool status_ok = a.http_status == 0 || (a.http_status >= 200 && a.http_status <= 299);
    if (a.transport_ok() && status_ok && sink.write_errno == 0) {
      // close() can report a deferred write error (NFS, quota); the data is not safe before.
      if (::close(part.release()) != 0) {
        const int err = errno;
        ::unlink(part_path.c_str());
        return fail_io(std::move(r), err, prefix + " failed: writing " + final_path);
      }
      if (::rename(part_path.c_str(), final_path.c_str()) != 0) {
        const int err = errno;
        ::unlink(part_path.c_str());
        return fail_io(std::move(r), err,
                       prefix + " failed: renaming " + part_path + " to " + final_path);
      }
      r.curl_code = 0;
      r.curl_error.clear();
      r.path = final_path;
      return r;
    }
    part.reset();
    ::unlink(part_path.c_str());

    if (a.cancelled)
      return fail(std::move(r), transfer_failure::cancelled, prefix + " cancelled");
    if (sink.write_errno != 0) {
      return fail_io(std::move(r), sink.write_errno, prefix + " failed: writing " + final_path);
    }
    if (attempt < options.max_retries && should_retry(a))
      continue;

    if (a.transport_ok() || a.curl_code == CURLE_HTTP_RETURNED_ERROR) {
      return fail(std::move(r), transfer_failure::http_status,
                  prefix + " failed: HTTP " + std::to_string(a.http_status) +
                      attempts_suffix(r.attempts));
    }
    return fail(std::move(r), transfer_failure::transport,
                prefix + " failed: " + describe_transport_error(a) + attempts_suffix(r.attempts));
  }
}

} // namespace agentrt::runtime::transfer

// Sequential download + safe extraction of a request's Downloadables.
#include "execution/downloadables_runner.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "agentrt/protocol/json_builder.hpp"
#include "metrics/runtime_metrics.hpp"
#include "util/url_text.hpp"

namespace agentrt::runtime::execution {

downloadables_runner::downloadables_runner(asio::io_context& io, transfer::transfer_engine& engine,
                                           transfer::thread_pool& pool)
    : io_(io), pool_(pool), downloader_(io, engine, pool) {}

std::shared_ptr<downloadables_runner> downloadables_runner::start(
    asio::io_context& io, transfer::transfer_engine& engine, transfer::thread_pool& pool,
    std::vector<protocol::downloadable> downloadables, transfer::transfer_options options,
    archive::extract_limits limits, log_handler on_log, done_handler on_done) {
  std::shared_ptr<downloadables_runner> self(new downloadables_runner(io, engine, pool));
  self->items_ = std::move(downloadables);
  self->options_ = options;
  self->limits_ = limits;
  self->on_log_ = std::move(on_log);
  self->on_done_ = std::move(on_done);
  self->next();
  return self;
}

void downloadables_runner::cancel() {
  on_done_ = nullptr;
  cancel_.cancel();
}

void downloadables_runner::next() {
  if (!on_done_)
    return; // cancelled
  if (next_ >= items_.size()) {
    auto done = std::move(on_done_);
    on_done_ = nullptr;
    done(std::nullopt);
    return;
  }
  const auto& d = items_[next_];
  downloader_.download(d.download_url, d.working_dir, options_, cancel_,
                       [self = shared_from_this()](transfer::download_result r) {
                         self->on_downloaded(std::move(r));
                       });
}

void downloadables_runner::on_downloaded(transfer::download_result r) {
  if (!on_done_)
    return;
  const auto& d = items_[next_];
  metrics::count_transfer(metrics::transfer_kind::download,
                          r.ok() ? metrics::transfer_outcome::success
                                 : metrics::transfer_outcome::failure,
                          r.ok() ? r.bytes : 0);
  if (!r.ok()) {
    protocol::json_builder meta;
    meta.add("code", "download_failed")
        .add("url", util::redact_url_userinfo(d.download_url))
        .add("working_dir", d.working_dir);
    if (r.http_status)
      meta.add("http_status", r.http_status);
    if (r.curl_code)
      meta.add("curl_code", r.curl_code).add("curl_error", r.curl_error);
    if (r.io_error)
      meta.add("io_error", r.io_error.message());
    meta.add("attempts", r.attempts);
    // "Download failed" is the text runtimeuse's clients (and the published e2e suite) match on.
    fail({"Download failed: " + r.error, meta.str()});
    return;
  }
  if (on_log_) {
    on_log_("downloaded " + util::redact_url_userinfo(d.download_url) + " (" +
            std::to_string(r.bytes) + " bytes)");
  }
  current_file_ = r.path;
  if (d.extract.has_value() && !*d.extract) {
    ++next_;
    next();
    return;
  }
  // Sniffing reads the file, so it runs on the local pool together with the extraction.
  pool_.run(
      io_,
      [path = r.path, dir = d.working_dir, limits = limits_,
       cancel = cancel_]() -> std::optional<archive::extract_result> {
        const auto slash = path.rfind('/');
        const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
        if (archive::format_from_name(name) == archive::archive_format::none &&
            !archive::looks_like_archive(path)) {
          return std::nullopt; // a plain file: keep it as downloaded
        }
        auto out = archive::extract_archive(path, dir, limits, cancel);
        // The archive is removed whatever the outcome: on success it is redundant, and a
        // refused one must not be left for a later command to trip over.
        ::unlink(path.c_str());
        return out;
      },
      [self = shared_from_this()](std::optional<archive::extract_result> out) {
        self->on_extracted(std::move(out));
      });
}

void downloadables_runner::on_extracted(std::optional<archive::extract_result> r) {
  if (!on_done_)
    return;
  const auto& d = items_[next_];
  if (r && !r->ok()) {
    protocol::json_builder meta;
    const std::string url = util::redact_url_userinfo(d.download_url);
    meta.add("code", "extract_failed")
        .add("url", url)
        .add("working_dir", d.working_dir)
        .add("file", current_file_)
        .add("reason", r->ec.message());
    fail({"extracting " + current_file_ + " from " + url + " failed: " + r->error, meta.str()});
    return;
  }
  if (r && on_log_) {
    on_log_("extracted " + std::string(archive::to_string(r->format)) + " archive into " +
            d.working_dir + " (" + std::to_string(r->entries) + " entries, " +
            std::to_string(r->bytes) + " bytes)");
  }
  ++next_;
  next();
}

void downloadables_runner::fail(downloadables_failure f) {
  auto done = std::move(on_done_);
  on_done_ = nullptr;
  if (done)
    done(std::move(f));
}

} // namespace agentrt::runtime::execution

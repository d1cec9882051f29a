// Artifact announce / verify / upload / drain for one session.
//
// Every handler this manager hands out (to the watcher, the uploader, its timer) holds it
// weakly: the session owns it, and a strong capture stored in something the manager owns
// (a settle waiter in the watcher) or kept for a detached upload made a cycle that outlived
// the session whenever the io_context stopped first.
#include "artifacts/artifact_manager.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <utility>

#include <asio/post.hpp>

#include "metrics/runtime_metrics.hpp"
#include "util/weak_bind.hpp"

namespace agentrt::runtime::artifacts {

namespace {

// The spelling the watcher reports paths under: absolute, lexically normal, no trailing '/'.
std::string registered_spelling(const std::string& dir) {
  std::filesystem::path path(dir);
  if (path.is_relative()) {
    std::error_code ec;
    path = std::filesystem::current_path(ec) / path;
  }
  std::string normal = path.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/')
    normal.pop_back();
  return normal;
}

} // namespace

artifact_manager::artifact_manager(asio::io_context& io, transfer::transfer_engine& engine,
                                   transfer::transfer_options upload_options, send_handler send,
                                   log_handler log)
    : io_(io), uploader_(io, engine), upload_options_(upload_options), send_(std::move(send)),
      log_(std::move(log)), drain_timer_(io) {}

artifact_manager::~artifact_manager() {
  cancel_.cancel();
}

protocol::result<void>
artifact_manager::add_directories(const std::vector<std::string>& dirs,
                                  const std::optional<std::string>& ignore_content,
                                  bool announce_existing) {
  if (!watcher_) {
    std::weak_ptr<artifact_manager> weak = shared_from_this();
    watcher_ = std::make_unique<artifacts::artifact_watcher>(
        io_, util::weak_bind(weak, &artifact_manager::on_file),
        [weak](std::string_view what, const std::string& path, std::error_code ec) {
          if (auto self = weak.lock()) {
            self->log_(log::level::warn,
                       "artifacts: " + std::string(what) + " " + path + ": " + ec.message());
          }
        });
  }
  for (const auto& dir : dirs) {
    if (const std::error_code ec =
            watcher_->add_directory(dir, ignore_content, announce_existing)) {
      return {ec, "cannot watch artifacts directory \"" + dir + "\": " + ec.message()};
    }
    // First registration wins: a directory that was real then stays one that must not be a
    // symlink, even if the command swapped one in before a later request registered it again.
    const std::string root = registered_spelling(dir);
    struct stat st {};
    roots_.emplace(root, ::lstat(root.c_str(), &st) == 0 && S_ISLNK(st.st_mode));
  }
  return {};
}

std::optional<transfer::upload_source> artifact_manager::source_for(const std::string& path) const {
  std::optional<transfer::upload_source> best;
  for (const auto& [root, was_symlink] : roots_) {
    const std::size_t prefix = root == "/" ? 1 : root.size() + 1;
    if (path.size() <= prefix || path.compare(0, root.size(), root) != 0 ||
        path[prefix - 1] != '/') {
      continue;
    }
    // The deepest registered directory: fewest components left to walk.
    if (best && best->base_dir.size() >= root.size())
      continue;
    best = transfer::upload_source{root, path.substr(prefix), was_symlink};
  }
  return best;
}

void artifact_manager::on_file(std::string path) {
  if (detached_)
    return;
  ++announced_[path];
  ++awaiting_;
  const auto slash = path.rfind('/');
  protocol::artifact_upload_request_message m;
  m.filename = slash == std::string::npos ? path : path.substr(slash + 1);
  m.filepath = std::move(path);
  log_(log::level::info, "announcing artifact " + m.filepath);
  send_(std::move(m));
}

bool artifact_manager::take_announcement(const std::string& path) {
  auto it = announced_.find(path);
  if (it == announced_.end() || it->second == 0) {
    refuse(path, "this session did not announce it",
           "refused: this session did not announce that file");
    return false;
  }
  if (--it->second == 0)
    announced_.erase(it);
  --awaiting_;
  return true;
}

void artifact_manager::on_upload_declined(const protocol::artifact_upload_declined_message& m) {
  if (!take_announcement(m.filepath))
    return;
  log_(log::level::warn, "the client declined the upload of " + m.filepath +
                             (m.reason && !m.reason->empty() ? ": " + *m.reason : std::string()));
  check_drained();
}

void artifact_manager::on_upload_response(const protocol::artifact_upload_response_message& m) {
  if (!take_announcement(m.filepath))
    return;
  auto source = source_for(m.filepath);
  if (!source) {
    refuse(m.filepath, "not under a watched directory",
           "refused: the file is not under a watched directory");
    check_drained();
    return;
  }
  ++uploads_in_flight_;
  const std::string path = m.filepath;
  uploader_.upload(std::move(*source), m.presigned_url, m.content_type, upload_options_, cancel_,
                   [weak = weak_from_this(), path](transfer::upload_result r) {
                     if (auto self = weak.lock())
                       self->on_uploaded(path, std::move(r));
                   });
}

void artifact_manager::refuse(const std::string& path, const std::string& why,
                              std::string result_error) {
  log_(log::level::warn, "refused upload of \"" + path + "\": " + why);
  if (upload_results_) {
    protocol::artifact_upload_result_message r;
    r.filepath = path;
    r.ok = false;
    r.error = std::move(result_error);
    send_(std::move(r));
  }
}

void artifact_manager::on_uploaded(const std::string& path, transfer::upload_result r) {
  --uploads_in_flight_;
  metrics::count_transfer(metrics::transfer_kind::upload,
                          r.ok() ? metrics::transfer_outcome::success
                                 : metrics::transfer_outcome::failure,
                          r.ok() ? r.bytes : 0);
  if (r.ok()) {
    log_(log::level::info, "uploaded " + path + " (" + std::to_string(r.bytes) + " bytes, HTTP " +
                               std::to_string(r.http_status) + ")");
  } else {
    log_(log::level::warn, "upload failed: " + r.error);
  }
  if (upload_results_ && !detached_) {
    protocol::artifact_upload_result_message m;
    m.filepath = path;
    m.ok = r.ok();
    if (r.http_status)
      m.http_status = static_cast<int>(r.http_status);
    if (!r.ok())
      m.error = r.error;
    send_(std::move(m));
  }
  check_drained();
}

void artifact_manager::drain(std::chrono::milliseconds settle, std::chrono::milliseconds timeout,
                             std::function<void()> done) {
  drain_done_ = std::move(done);
  auto after_settle = [weak = weak_from_this(), timeout] {
    auto self = weak.lock();
    if (!self || !self->drain_done_)
      return;
    self->drain_timer_.expires_after(timeout);
    self->drain_timer_.async_wait(util::weak_bind(weak, &artifact_manager::on_drain_timeout));
    self->check_drained();
  };
  if (watcher_) {
    watcher_->settle(settle, after_settle);
  } else {
    after_settle();
  }
}

void artifact_manager::on_drain_timeout(const std::error_code& ec) {
  if (ec || !drain_done_)
    return;
  log_(log::level::warn, "end of session: gave up waiting for " + std::to_string(awaiting_) +
                             " upload answer(s) and " + std::to_string(uploads_in_flight_) +
                             " upload(s)");
  finish_drain();
}

void artifact_manager::check_drained() {
  if (drain_done_ && awaiting_ == 0 && uploads_in_flight_ == 0)
    finish_drain();
  if (detached_ && uploads_in_flight_ == 0 && on_idle_) {
    drain_timer_.cancel();
    // Posted: the owner may destroy this manager from on_idle.
    asio::post(io_, std::exchange(on_idle_, nullptr));
  }
}

void artifact_manager::finish_drain() {
  drain_timer_.cancel();
  auto done = std::move(drain_done_);
  drain_done_ = nullptr;
  if (done)
    done();
}

void artifact_manager::detach(std::chrono::milliseconds timeout, std::function<void()> on_idle) {
  if (detached_)
    return;
  detached_ = true;
  drain_done_ = nullptr;
  on_idle_ = std::move(on_idle);
  if (watcher_)
    watcher_->stop();
  if (uploads_in_flight_ == 0) {
    check_drained();
    return;
  }
  drain_timer_.expires_after(timeout);
  drain_timer_.async_wait(util::weak_bind(weak_from_this(), &artifact_manager::on_detach_timeout));
}

void artifact_manager::on_detach_timeout(const std::error_code& ec) {
  if (ec || uploads_in_flight_ == 0)
    return;
  log_(log::level::warn, "connection closed: cancelling " + std::to_string(uploads_in_flight_) +
                             " upload(s) still running");
  cancel_.cancel();
}

void artifact_manager::cancel_uploads() {
  if (uploads_in_flight_ != 0) {
    log_(log::level::warn,
         "shutting down: cancelling " + std::to_string(uploads_in_flight_) + " upload(s)");
  }
  cancel_.cancel();
}

} // namespace agentrt::runtime::artifacts

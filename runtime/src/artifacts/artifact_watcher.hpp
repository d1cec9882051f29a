// Watches a session's artifact directories with inotify and reports every regular, non-empty,
// non-ignored file as soon as it has finished being written (closed after writing, or moved in),
// so the session can ask the client for an upload URL. One watcher per session, driven by the
// session's io_context; no threads, no polling. The inotify descriptor is the io_context's,
// shared by every watcher on it (inotify_hub.hpp): instances are a small per-user budget.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <asio/io_context.hpp>

namespace agentrt::runtime::artifacts {

// What is announced, and the choices made where the kernel leaves room:
// - Announced: IN_CLOSE_WRITE and IN_MOVED_TO of a regular file with size > 0 at that moment
//   (lstat: a symlink is never followed nor announced). A file rewritten later is announced
//   again; so is a file closed after being opened for writing without a change.
// - Files that already exist when add_directory() is called are announced when it is asked
//   to (announce_existing, runtimeuse's behaviour: its watcher's initial scan reports them) and
//   the directory was not registered before; otherwise only what is written after
//   registration is an artifact of the request.
// - A new subdirectory (mkdir, or a directory moved in) is watched as soon as its event is
//   read, then scanned, and the non-empty regular files already in it are announced: they were
//   written before its watch existed, so no event will ever come for them. inotify cannot tell
//   whether such a file is still open, so a file still being written during that scan may be
//   announced early and then again on its close; a scan result whose (inode, size, mtime,
//   ctime) equals what a later event sees is announced only once. A directory renamed inside
//   a watched tree counts as moved in: its files are announced again under their new paths.
// - Subdirectories are watched without following symlinks. A registered directory itself is
//   kept as spelled (made absolute and lexically normalised, "." and ".." folded, no symlink
//   resolution): if it is a symlink to a directory, the target is watched and files are
//   reported under the registered spelling. A directory reachable under two registered
//   spellings is reported under whichever walk reached it last.
// - Ignore rules per registered directory: the ignore_content given to add_directory (pinned);
//   else <dir>/.artifactignore, re-read whenever it is created, closed after writing, moved or
//   deleted; else ignore_rules::defaults(). A path is ignored when it or any of its parent
//   directories is ignored (gitignore cannot re-include below an excluded directory).
//   `.artifactignore` is never announced, at any depth.
// - Ignored directories (node_modules, .venv, ...) are not watched at all, which keeps
//   `npm install` from eating the inotify watch budget. When rules change, the registered
//   directory is walked again and newly un-ignored directories get watches; files already in
//   them are not announced (same rule as at registration). Directories that become ignored
//   keep their watches; their files are filtered out when announced.
// - A directory registered twice (or nested inside another registered one) shares watches;
//   every file is announced at most once per event. With nested registrations a file is
//   announced unless every registered directory containing it ignores it.
// - If the kernel queue overflows (IN_Q_OVERFLOW), or this watcher falls more than
//   inotify_hub::default_max_buffered_bytes of events behind, all registered directories are walked
//   again, .artifactignore files re-read, stale watches dropped, and files changed since the
//   queue was last seen empty (ctime, with one second of slack for the kernel's coarse clock)
//   are announced unless already announced with the same (inode, size, mtime, ctime). The
//   overflow is also reported through on_problem.
// - Another watcher on the same io_context that watches the same directory shares the kernel
//   watch; events queued before this watcher added it are not delivered to it.
// - The parent of each registered directory is watched as well (only for that directory's
//   own name): if the registered directory is deleted or moved away and a directory appears
//   under its name again (`rm -rf out && mkdir out`, or a staging directory renamed to out),
//   the new one is watched, its .artifactignore read, and the files in it announced.
class artifact_watcher {
public:
  // absolute_path: registered spelling + relative path.
  using file_handler = std::function<void(std::string absolute_path)>;
  // A watch that could not be added (inotify_errc::watch_limit: fs.inotify.max_user_watches
  // reached; EACCES), an unreadable .artifactignore, a queue overflow. what names the
  // operation; path what it was about. Purely informational: the watcher carries on with
  // what it has.
  using problem_handler =
      std::function<void(std::string_view what, const std::string& path, std::error_code ec)>;

  // Nothing is opened until the first add_directory(). Handlers run on io's thread, never
  // from inside add_directory()'s own walk except on_problem (after the walk). on_file may call
  // stop(), add_directory() or settle(), and may destroy the watcher. Without on_problem,
  // problems are logged as warnings. io must outlive the watcher.
  artifact_watcher(asio::io_context& io, file_handler on_file, problem_handler on_problem = {});
  ~artifact_watcher(); // stop()
  artifact_watcher(const artifact_watcher&) = delete;
  artifact_watcher& operator=(const artifact_watcher&) = delete;

  // Creates dir if missing (mkdir -p) and watches it recursively for the rest of the session.
  // Registering a directory again replaces its ignore_content (nullopt = back to
  // .artifactignore / defaults) and picks up directories the rules no longer ignore.
  // Errors: dir not creatable or not a directory, no inotify instance (the io_context's first
  // one; inotify_errc::instance_limit names the exhausted limit), the directory itself not
  // watchable -> nothing registered. A subdirectory that could not be watched (watch_limit,
  // EACCES) -> its error is returned, but dir stays registered and everything else watched.
  // After stop(): std::errc::operation_canceled.
  std::error_code add_directory(const std::string& dir, std::optional<std::string> ignore_content,
                                bool announce_existing = false);

  // End-of-session drain: reads every event already queued in the kernel now (announcing what
  // they finish), then calls done once no event has arrived for `quiet`, or at the latest 4 x
  // quiet after this call. Calls made while one is pending share its wait (the longer quiet
  // and deadline win); each done is called once, from the io_context, never from inside this
  // call. Without a registered directory, or after stop(), done is posted at once. stop() and
  // the destructor abandon a pending settle: its done is never called.
  void settle(std::chrono::milliseconds quiet, std::function<void()> done);

  // Drops this watcher's watches (the kernel's, unless another watcher shares them) and
  // cancels timers. Final: nothing is announced or reported afterwards, not even events
  // already read.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace agentrt::runtime::artifacts

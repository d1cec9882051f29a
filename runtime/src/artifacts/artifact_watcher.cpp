// inotify plumbing, ignore-rule bookkeeping and drain for artifact_watcher (see the header for
// which files are announced and why).
#include "artifacts/artifact_watcher.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "agentrt/protocol/result.hpp"
#include "artifacts/ignore_rules.hpp"
#include "artifacts/inotify_hub.hpp"
#include "artifacts/inotify_watch_table.hpp"
#include "log/logger.hpp"
#include "util/unique_fd.hpp"

namespace agentrt::runtime::artifacts {
namespace {

using util::unique_fd;
using steady_clock = std::chrono::steady_clock;

// IN_CREATE is only needed for directories and .artifactignore, but the mask cannot tell
// files from directories. IN_EXCL_UNLINK: a file unlinked while open is no artifact.
// IN_ONLYDIR: the path may have been replaced by a file since its event was queued.
constexpr std::uint32_t watch_mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                     IN_DELETE | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK;
constexpr std::string_view ignore_file_name = ".artifactignore";
constexpr std::size_t max_ignore_file_bytes = 1 << 20;
// File timestamps come from the kernel's coarse clock, which lags CLOCK_REALTIME by up to a
// tick; a generous margin only costs re-checking files that are then found already announced.
constexpr time_t overflow_slack_seconds = 1;
// Bytes of events handled per turn of the io_context (64 KiB hold ~2,000 events).
constexpr std::size_t event_budget = 4 * 64 * 1024;
// settle() reads "everything queued now": a full default queue (16,384 events) is ~10 kernel
// buffers; the bound only matters against a writer that refills it as fast as we read.
constexpr int settle_read_budget = 64;

std::error_code last_error() {
  return {errno, std::system_category()};
}

std::string join(std::string_view dir, std::string_view name) {
  std::string path;
  path.reserve(dir.size() + 1 + name.size());
  path.append(dir);
  if (path.empty() || path.back() != '/')
    path += '/';
  path.append(name);
  return path;
}

std::string_view base_name(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// path relative to root ("" for root itself), or nullopt when path is not inside root.
std::optional<std::string_view> relative_to(std::string_view root, std::string_view path) {
  if (path.size() < root.size() || path.compare(0, root.size(), root) != 0)
    return std::nullopt;
  if (path.size() == root.size())
    return std::string_view{};
  if (root.back() == '/')
    return path.substr(root.size()); // root is "/"
  if (path[root.size()] != '/')
    return std::nullopt;
  return path.substr(root.size() + 1);
}

// Absolute and lexically normal, without resolving symlinks (see the header).
protocol::result<std::string> normalise(const std::string& dir) {
  if (dir.empty())
    return std::make_error_code(std::errc::invalid_argument);
  std::filesystem::path path(dir);
  if (path.is_relative()) {
    std::error_code ec;
    auto cwd = std::filesystem::current_path(ec);
    if (ec)
      return ec;
    path = cwd / path;
  }
  std::string normal = path.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/')
    normal.pop_back();
  return normal;
}

// ignore_rules::ignored() also checks every parent directory: gitignore cannot re-include
// anything below an excluded directory, so node_modules/a/b.js is ignored by "node_modules/".
bool path_ignored(const ignore_rules& rules, std::string_view relative, bool is_directory) {
  return rules.ignored(relative, is_directory);
}

bool before(const timespec& a, const timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

// What a file looked like when it was announced. ctime cannot be set from user space, so
// an equal stamp means the file has not been written to (or replaced) since, at the
// resolution of the kernel's timestamp clock.
struct file_stamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  timespec mtime{};
  timespec ctime{};

  static file_stamp of(const struct stat& st) {
    return {st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
  }
  bool operator==(const file_stamp& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
           mtime.tv_nsec == o.mtime.tv_nsec && ctime.tv_sec == o.ctime.tv_sec &&
           ctime.tv_nsec == o.ctime.tv_nsec;
  }
};

struct dir_closer {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};
using dir_handle = std::unique_ptr<DIR, dir_closer>;

// Reads <dir>/.artifactignore. O_NONBLOCK: a FIFO planted under that name must not hang
// the session's only thread.
protocol::result<std::string> read_ignore_file(const std::string& path) {
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd)
    return last_error();
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return last_error();
  if (!S_ISREG(st.st_mode))
    return std::make_error_code(std::errc::invalid_argument);
  std::string content;
  std::array<char, 8192> chunk;
  for (;;) {
    const ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return last_error();
    if (n == 0)
      break;
    content.append(chunk.data(), static_cast<std::size_t>(n));
    if (content.size() > max_ignore_file_bytes) {
      return std::make_error_code(std::errc::file_too_large);
    }
  }
  return content;
}

} // namespace

struct artifact_watcher::impl {
  enum class scan_mode {
    watch_only,       // registration, rule change: existing files are not artifacts
    announce_all,     // a new directory: its files were written before it had a watch
    announce_changed, // after an overflow: files changed since the queue was last empty
  };

  struct root {
    std::optional<std::string> pinned; // ignore_content given to add_directory
    std::optional<ignore_rules> rules; // always set once registered
    std::optional<std::string> source; // the text rules came from; nullopt: defaults
  };

  enum class drain_result { empty, more, gone };

  struct announcement {
    file_stamp stamp;
    bool from_scan = false; // a directory scan, which may race with the file's own event
  };

  // One callback to make once the current batch of events has been handled; queued so that
  // user code never runs while the tables are mid-update.
  struct notice {
    std::string path;
    std::string what; // empty: a file announcement
    std::error_code ec;
  };

  // Shared so that a callback destroying the watcher does not destroy itself mid-call.
  struct handlers {
    file_handler on_file;
    problem_handler on_problem;
  };

  impl(asio::io_context& io, file_handler on_file, problem_handler on_problem)
      : io_(io),
        handlers_(std::make_shared<handlers>(handlers{std::move(on_file), std::move(on_problem)})),
        hub_(asio::use_service<inotify_hub>(io)), settle_timer_(io) {
    subscription_ = hub_.subscribe([this, alive = std::weak_ptr<char>(alive_)] {
      if (!alive.expired() && !stopped_)
        on_events();
    });
  }

  // inotify_add_watch through the runtime's shared instance; errno-style failures come back
  // as the error's code (limits named, see inotify_errors.hpp).
  protocol::result<int> add_watch(const std::string& path, std::uint32_t mask) {
    return hub_.add_watch(*subscription_, path, mask);
  }
  void remove_watch(int wd) { hub_.remove_watch(*subscription_, wd); }

  static bool vanished(const std::error_code& ec) {
    return ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory ||
           ec == std::errc::too_many_symbolic_link_levels;
  }

  std::error_code add_directory(const std::string& dir, std::optional<std::string> ignore_content,
                                bool announce_existing) {
    if (stopped_)
      return std::make_error_code(std::errc::operation_canceled);
    auto normal = normalise(dir);
    if (!normal.ok())
      return normal.error().code;
    const std::string root_path = std::move(normal).value();
    std::error_code ec;
    std::filesystem::create_directories(root_path, ec);
    if (ec)
      return ec;
    // The root alone decides whether anything was registered; symlinks are followed here.
    const auto root_wd = add_watch(root_path, watch_mask);
    if (!root_wd.ok())
      return root_wd.error().code;
    watches_.set(root_wd.value(), root_path);

    const bool first_registration = roots_.count(root_path) == 0;
    auto& r = roots_[root_path];
    r.pinned = std::move(ignore_content);
    load_rules(root_path, r);
    watch_parent(root_path, nullptr);
    const auto mode =
        announce_existing && first_registration ? scan_mode::announce_all : scan_mode::watch_only;
    const std::error_code first = watch_tree(root_path, mode, nullptr, nullptr);
    deliver();
    return first;
  }

  void settle(std::chrono::milliseconds quiet, std::function<void()> done) {
    if (stopped_ || roots_.empty()) {
      asio::post(io_, std::move(done));
      return;
    }
    if (drain(settle_read_budget) == drain_result::gone)
      return;
    const auto now = steady_clock::now();
    if (settle_waiters_.empty()) {
      settle_quiet_ = quiet;
      settle_deadline_ = now + 4 * quiet;
    } else {
      settle_quiet_ = std::max(settle_quiet_, quiet);
      settle_deadline_ = std::max(settle_deadline_, now + 4 * quiet);
    }
    settle_start_ = now;
    settle_waiters_.push_back(std::move(done));
    arm_settle_timer();
  }

  void stop() {
    if (stopped_)
      return;
    stopped_ = true;
    settle_timer_.cancel();
    // Drops this watcher's watches (the kernel's, unless another session shares them).
    hub_.unsubscribe(subscription_);
    subscription_ = nullptr;
    watches_.clear();
    pending_.clear();
    events_.clear();
    events_offset_ = 0;
    settle_waiters_.clear();
  }

  // Posted by the hub when events arrived for this watcher.
  void on_events() {
    if (handle_events(event_budget) == drain_result::more) {
      // A writer that keeps the queue full must not starve the session's other handlers.
      asio::post(io_, [this, alive = std::weak_ptr<char>(alive_)] {
        if (!alive.expired() && !stopped_)
          on_events();
      });
    }
  }

  // Reads what the kernel has queued now (for every watcher of the runtime) and handles this
  // watcher's events. gone: the watcher was stopped or destroyed by a callback, and must not
  // be touched any more.
  drain_result drain(int max_reads) {
    hub_.pump(max_reads);
    return handle_events(static_cast<std::size_t>(max_reads) * 64 * 1024);
  }

  // Handles up to about budget bytes of events waiting for this watcher.
  drain_result handle_events(std::size_t budget) {
    std::size_t handled = 0;
    for (;;) {
      if (events_offset_ == events_.size()) {
        events_.clear();
        events_offset_ = 0;
        if (!hub_.take_events(*subscription_, events_))
          return drain_result::empty;
        overflow_since_ = hub_.overflow_since(*subscription_);
      }
      if (handled >= budget)
        return drain_result::more;
      last_activity_ = steady_clock::now();
      // One kernel buffer's worth at a time, then the callbacks it produced.
      const std::size_t start = events_offset_;
      const std::size_t stop = std::min(events_.size(), start + 64 * 1024);
      while (events_offset_ + sizeof(inotify_event) <= events_.size() && events_offset_ < stop) {
        inotify_event ev;
        std::memcpy(&ev, events_.data() + events_offset_, sizeof ev);
        const char* name = events_.data() + events_offset_ + sizeof ev;
        handle(ev, std::string_view(name, ::strnlen(name, ev.len)));
        events_offset_ += sizeof ev + ev.len;
      }
      handled += events_offset_ - start;
      if (!deliver())
        return drain_result::gone;
    }
  }

  void handle(const inotify_event& ev, std::string_view name) {
    if (ev.mask & IN_Q_OVERFLOW)
      return on_overflow();
    const std::string* dir = watches_.path_of(ev.wd);
    if (!dir)
      return; // forgotten by take_subtree(); its remaining events are stale
    if (ev.mask & IN_IGNORED)
      return watches_.erase(ev.wd);
    // The directory is no longer where we think; if it moved within the tree, the IN_MOVED_TO
    // handled before this event has already re-watched it under a new wd.
    if (ev.mask & IN_MOVE_SELF)
      return forget_subtree(std::string(*dir));
    if (ev.len == 0)
      return;

    std::string path = join(*dir, name);
    const bool appeared = ev.mask & (IN_CREATE | IN_MOVED_TO);
    const bool gone = ev.mask & (IN_DELETE | IN_MOVED_FROM);

    if (ev.mask & IN_ISDIR) {
      if (appeared && dir_wanted(path)) {
        // A registered directory re-created (seen from its parent) brings its own rules.
        if (auto r = roots_.find(path); r != roots_.end())
          load_rules(path, r->second);
        watch_tree(path, scan_mode::announce_all, nullptr, nullptr);
      } else if (gone) {
        forget_subtree(path);
      }
      return;
    }
    if (name == ignore_file_name) {
      const std::string parent = *dir;
      auto r = roots_.find(parent);
      // Directories the old rules kept unwatched may be wanted now. Saving a file raises
      // several events (create, close, rename); only a real change costs a walk.
      if (r != roots_.end() && !r->second.pinned && load_rules(parent, r->second))
        watch_tree(parent, scan_mode::watch_only, nullptr, nullptr);
      return;
    }
    if (gone) {
      announced_.erase(path);
      return;
    }
    if (ev.mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
      consider(std::move(path), false, nullptr);
  }

  // Lost events may hide anything: new directories, renames, .artifactignore edits, closed
  // files. Walk everything again and drop watches the walk no longer reaches.
  void on_overflow() {
    problem("inotify queue overflow, rescanning", {},
            std::make_error_code(std::errc::no_buffer_space));
    timespec since = overflow_since_;
    since.tv_sec -= overflow_slack_seconds;
    for (auto& [path, r] : roots_) {
      if (!r.pinned)
        load_rules(path, r);
    }
    std::vector<int> reached;
    for (const auto& [path, r] : roots_) {
      watch_parent(path, &reached);
      watch_tree(path, scan_mode::announce_changed, &since, &reached);
    }
    std::sort(reached.begin(), reached.end());
    for (const int wd : hub_.watches_of(*subscription_)) {
      if (std::binary_search(reached.begin(), reached.end(), wd))
        continue;
      remove_watch(wd);
      watches_.erase(wd);
    }
  }

  // The parent of a registered directory is watched too, so that `rm -rf out && mkdir out`,
  // or replacing out by a rename, re-watches out (and announces what the new one holds)
  // instead of going silent. Best effort: a parent we cannot watch only loses that. Its own
  // files and other subdirectories are outside every registration and filtered out.
  void watch_parent(const std::string& root_path, std::vector<int>* reached) {
    if (root_path == "/")
      return;
    const std::string parent = std::filesystem::path(root_path).parent_path().string();
    const auto added = add_watch(parent, watch_mask);
    if (!added.ok())
      return;
    const int wd = added.value();
    if (reached)
      reached->push_back(wd);
    if (!watches_.path_of(wd))
      watches_.set(wd, parent);
  }

  // Watches top and every wanted directory below it. Returns the first failure that is not
  // a directory vanishing under our feet (which is a normal race, not an error).
  std::error_code watch_tree(const std::string& top, scan_mode mode, const timespec* since,
                             std::vector<int>* reached) {
    std::error_code first;
    std::vector<std::string> todo{top};
    while (!todo.empty()) {
      const std::string dir = std::move(todo.back());
      todo.pop_back();
      const bool is_root = roots_.count(dir) != 0;
      const auto added = add_watch(dir, watch_mask | (is_root ? 0 : IN_DONT_FOLLOW));
      if (!added.ok()) {
        const std::error_code& ec = added.error().code;
        if (!vanished(ec)) {
          problem("inotify_add_watch", dir, ec);
          if (!first)
            first = ec;
        }
        continue;
      }
      const int wd = added.value();
      if (reached)
        reached->push_back(wd);
      const std::string* known = watches_.path_of(wd);
      if (!known || *known != dir)
        watches_.set(wd, dir);
      if (mode == scan_mode::announce_all) {
        // Events have covered this directory since a scan that announced its files. A
        // watch_only walk (rule change) may have added the watch while this directory's own
        // IN_CREATE was still queued: it is new, and so is everything in it.
        if (watches_.scanned(wd))
          continue;
        watches_.mark_scanned(wd);
      } else if (mode == scan_mode::announce_changed) {
        watches_.mark_scanned(wd);
      }
      scan(dir, is_root, mode, since, todo);
    }
    return first;
  }

  void scan(const std::string& dir, bool is_root, scan_mode mode, const timespec* since,
            std::vector<std::string>& todo) {
    unique_fd fd(
        ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | (is_root ? 0 : O_NOFOLLOW)));
    if (!fd) {
      if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
        problem("open directory", dir, last_error());
      return;
    }
    dir_handle d(::fdopendir(fd.get()));
    if (!d)
      return problem("open directory", dir, last_error());
    fd.release();
    while (const dirent* e = ::readdir(d.get())) {
      const std::string_view name(e->d_name);
      if (name == "." || name == "..")
        continue;
      unsigned char type = e->d_type;
      if (type == DT_UNKNOWN) { // some file systems do not fill d_type
        struct stat st {};
        if (::fstatat(::dirfd(d.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
          continue;
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
      }
      if (type == DT_DIR) {
        std::string child = join(dir, name);
        if (dir_wanted(child))
          todo.push_back(std::move(child));
      } else if (type == DT_REG && mode != scan_mode::watch_only) {
        consider(join(dir, name), true, since);
      }
    }
  }

  void consider(std::string path, bool from_scan, const timespec* changed_since) {
    if (base_name(path) == ignore_file_name || !file_wanted(path))
      return;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
      return;
    if (changed_since && before(st.st_ctim, *changed_since))
      return;
    const auto stamp = file_stamp::of(st);
    auto it = announced_.find(path);
    if (it != announced_.end() && it->second.stamp == stamp) {
      // A scan repeats what was announced; an event repeats a scan that saw the file after
      // its close. Any other equal stamp is a fresh close and is announced again.
      if (from_scan)
        return;
      if (it->second.from_scan) {
        it->second.from_scan = false;
        return;
      }
    }
    announced_[path] = announcement{stamp, from_scan};
    pending_.push_back(notice{std::move(path), {}, {}});
  }

  // Kept as the union over registrations: registering a directory asks for its files under
  // its own rules, whatever an enclosing registration ignores.
  bool dir_wanted(std::string_view path) const {
    for (const auto& [root_path, r] : roots_) {
      const auto rel = relative_to(root_path, path);
      if (!rel)
        continue;
      if (rel->empty() || !path_ignored(*r.rules, *rel, true))
        return true;
    }
    return false;
  }

  bool file_wanted(std::string_view path) const {
    for (const auto& [root_path, r] : roots_) {
      const auto rel = relative_to(root_path, path);
      if (rel && !rel->empty() && !path_ignored(*r.rules, *rel, false))
        return true;
    }
    return false;
  }

  // (Re)builds r.rules from its source; true when the rules changed (or were first set).
  bool load_rules(const std::string& root_path, root& r) {
    std::optional<std::string> source = r.pinned;
    if (!source) {
      const std::string file = join(root_path, ignore_file_name);
      auto content = read_ignore_file(file);
      if (content.ok())
        source = std::move(content).value();
      else if (content.error().code != std::errc::no_such_file_or_directory)
        problem("read .artifactignore", file, content.error().code);
    }
    if (r.rules && source == r.source)
      return false;
    r.rules.emplace(source ? ignore_rules::parse(*source) : ignore_rules::defaults());
    r.source = std::move(source);
    return true;
  }

  void forget_subtree(const std::string& path) {
    for (const int wd : watches_.take_subtree(path))
      remove_watch(wd);
    announced_.erase(path);
    std::string lo = path + '/';
    std::string hi = path + '0'; // '0' follows '/'
    announced_.erase(announced_.lower_bound(lo), announced_.lower_bound(hi));
  }

  void problem(std::string_view what, std::string path, std::error_code ec) {
    pending_.push_back(notice{std::move(path), std::string(what), ec});
  }

  // Runs the queued callbacks. false: the watcher was stopped or destroyed by one of them.
  bool deliver() {
    if (pending_.empty())
      return true;
    std::vector<notice> batch;
    batch.swap(pending_);
    const std::weak_ptr<char> alive = alive_;
    const std::shared_ptr<handlers> h = handlers_;
    for (auto& n : batch) {
      if (alive.expired() || stopped_)
        return false;
      if (n.what.empty()) {
        if (h->on_file)
          h->on_file(std::move(n.path));
      } else if (h->on_problem) {
        h->on_problem(n.what, n.path, n.ec);
      } else {
        log::warn({}, "artifact watcher: " + n.what + (n.path.empty() ? "" : " " + n.path) + ": " +
                          n.ec.message());
      }
    }
    return !alive.expired() && !stopped_;
  }

  void arm_settle_timer() {
    const auto quiet_until = std::max(last_activity_, settle_start_) + settle_quiet_;
    settle_timer_.expires_at(std::min(quiet_until, settle_deadline_));
    settle_timer_.async_wait(
        [this, alive = std::weak_ptr<char>(alive_)](const std::error_code& ec) {
          if (ec || alive.expired() || stopped_)
            return;
          on_settle_timer();
        });
  }

  void on_settle_timer() {
    // Events the reactor has not handed us yet still count: read them now.
    if (drain(settle_read_budget) == drain_result::gone)
      return;
    const auto now = steady_clock::now();
    const auto quiet_until = std::max(last_activity_, settle_start_) + settle_quiet_;
    if (now < quiet_until && now < settle_deadline_)
      return arm_settle_timer();
    auto waiters = std::move(settle_waiters_);
    settle_waiters_.clear();
    for (auto& done : waiters)
      done(); // may destroy the watcher: only locals from here on
  }

  asio::io_context& io_;
  std::shared_ptr<handlers> handlers_;
  inotify_hub& hub_;
  inotify_hub::subscription* subscription_ = nullptr; // null once stopped
  asio::steady_timer settle_timer_;
  bool stopped_ = false;
  detail::inotify_watch_table watches_;
  std::map<std::string, root, std::less<>> roots_;
  // Last announcement per path, to recognise a scan and an event reporting the same write.
  // Entries go when the file is deleted or moved away.
  std::map<std::string, announcement, std::less<>> announced_;
  std::vector<notice> pending_;
  std::string events_;            // raw inotify_event records taken from the hub
  std::size_t events_offset_ = 0; // the first one not handled yet
  timespec overflow_since_{};     // from the hub: events before it were all delivered
  steady_clock::time_point last_activity_{};
  std::vector<std::function<void()>> settle_waiters_;
  std::chrono::milliseconds settle_quiet_{};
  steady_clock::time_point settle_start_{};
  steady_clock::time_point settle_deadline_{};
  // Handlers queued on io check this: they may run after the watcher is gone.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

artifact_watcher::artifact_watcher(asio::io_context& io, file_handler on_file,
                                   problem_handler on_problem)
    : impl_(std::make_unique<impl>(io, std::move(on_file), std::move(on_problem))) {}

artifact_watcher::~artifact_watcher() {
  impl_->stop();
}

std::error_code artifact_watcher::add_directory(const std::string& dir,
                                                std::optional<std::string> ignore_content,
                                                bool announce_existing) {
  return impl_->add_directory(dir, std::move(ignore_content), announce_existing);
}

void artifact_watcher::settle(std::chrono::milliseconds quiet, std::function<void()> done) {
  impl_->settle(quiet, std::move(done));
}

void artifact_watcher::stop() {
  impl_->stop();
}

} // namespace agentrt::runtime::artifacts

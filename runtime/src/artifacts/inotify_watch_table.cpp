// wd <-> path bookkeeping for artifact_watcher (see inotify_watch_table.hpp).
#include "artifacts/inotify_watch_table.hpp"

namespace agentrt::runtime::artifacts::detail {

void inotify_watch_table::set(int wd, std::string path) {
  if (auto old = by_wd_.find(wd); old != by_wd_.end()) {
    if (old->second.path == path)
      return;
    wd_by_path_.erase(old->second.path);
  }
  if (auto old = wd_by_path_.find(path); old != wd_by_path_.end())
    by_wd_.erase(old->second);
  wd_by_path_[path] = wd;
  by_wd_[wd] = entry{std::move(path), false};
}

void inotify_watch_table::mark_scanned(int wd) {
  if (auto it = by_wd_.find(wd); it != by_wd_.end())
    it->second.scanned = true;
}

bool inotify_watch_table::scanned(int wd) const {
  auto it = by_wd_.find(wd);
  return it != by_wd_.end() && it->second.scanned;
}

const std::string* inotify_watch_table::path_of(int wd) const {
  auto it = by_wd_.find(wd);
  return it == by_wd_.end() ? nullptr : &it->second.path;
}

std::vector<int> inotify_watch_table::take_subtree(std::string_view path) {
  std::vector<int> wds;
  if (auto it = wd_by_path_.find(path); it != wd_by_path_.end()) {
    wds.push_back(it->second);
    by_wd_.erase(it->second);
    wd_by_path_.erase(it);
  }
  // Everything strictly below path sorts in [path + "/", path + "0"): '0' follows '/' in ASCII.
  // ("/" itself is its own prefix.)
  std::string lo(path);
  if (lo.empty() || lo.back() != '/')
    lo += '/';
  std::string hi = lo;
  hi.back() = '0';
  auto first = wd_by_path_.lower_bound(lo);
  auto last = wd_by_path_.lower_bound(hi);
  for (auto it = first; it != last; ++it) {
    wds.push_back(it->second);
    by_wd_.erase(it->second);
  }
  wd_by_path_.erase(first, last);
  return wds;
}

void inotify_watch_table::erase(int wd) {
  auto it = by_wd_.find(wd);
  if (it == by_wd_.end())
    return;
  wd_by_path_.erase(it->second.path);
  by_wd_.erase(it);
}

std::vector<int> inotify_watch_table::all() const {
  std::vector<int> wds;
  wds.reserve(by_wd_.size());
  for (const auto& [wd, e] : by_wd_)
    wds.push_back(wd);
  return wds;
}

void inotify_watch_table::clear() noexcept {
  by_wd_.clear();
  wd_by_path_.clear();
}

} // namespace agentrt::runtime::artifacts::detail

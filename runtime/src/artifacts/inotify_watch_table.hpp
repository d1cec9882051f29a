// Which inotify watch descriptor stands for which directory path, in both directions, and
// whether the files already in that directory have been looked at. Kept
// apart from artifact_watcher because a rename or deletion has to forget a whole subtree at
// once: a watch follows its inode, so after `mv a b` every watch under a/ would otherwise keep
// reporting events under paths that no longer exist.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace agentrt::runtime::artifacts::detail {

class inotify_watch_table {
public:
  // Records that wd watches path. A wd already known under another path (the kernel hands
  // out one wd per inode) is moved to path; a path that had another wd (the directory was
  // replaced) forgets that wd.
  void set(int wd, std::string path);

  // A directory watched without announcing what it held (at registration, after a rule
  // change) is "unscanned" until a scan that announces files has been through it; a queued
  // IN_CREATE for it must then still scan it. New entries start unscanned.
  void mark_scanned(int wd);
  bool scanned(int wd) const;

  // nullptr for a wd that was never added or has been forgotten; events still queued for a
  // forgotten wd are expected and must be dropped by the caller.
  const std::string* path_of(int wd) const;

  // Forgets path and everything below it and returns their wds, for inotify_rm_watch.
  std::vector<int> take_subtree(std::string_view path);

  void erase(int wd);
  std::vector<int> all() const;
  std::size_t size() const noexcept { return by_wd_.size(); }
  void clear() noexcept;

private:
  struct entry {
    std::string path;
    bool scanned = false;
  };
  std::unordered_map<int, entry> by_wd_;
  std::map<std::string, int, std::less<>> wd_by_path_; // ordered: subtrees are ranges
};

} // namespace agentrt::runtime::artifacts::detail

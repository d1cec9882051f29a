// One cgroup v2 directory the runtime made (a request's, or the runtime's parent of them all):
// who is in it, signalling them, killing all of them at once, and removing it. Only the core
// interface files are used (cgroup.procs, cgroup.events, cgroup.kill, cgroup.freeze), so no
// controller has to be enabled and the "no internal processes" rule never applies.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "agentrt/protocol/result.hpp"
#include "process/cgroup_fork.hpp"
#include "util/unique_fd.hpp"

namespace agentrt::runtime::process {

class cgroup_dir {
public:
  // mkdir path (an existing directory is an error) and open it.
  static protocol::result<std::unique_ptr<cgroup_dir>> create(const std::string& path);
  // Opens an existing directory (a leftover to clean up).
  static protocol::result<std::unique_ptr<cgroup_dir>> open_existing(const std::string& path);
  cgroup_dir(const cgroup_dir&) = delete;
  cgroup_dir& operator=(const cgroup_dir&) = delete;
  // Closes the descriptors; the directory stays (remove() is the owner's decision).
  ~cgroup_dir();

  const std::string& path() const noexcept { return path_; }
  // For fork_into_cgroup.
  cgroup_target target() const noexcept { return {dir_.get(), procs_.get()}; }

  // True while a live process is in it or in a cgroup below it ("populated 1" in
  // cgroup.events; zombies do not count). False once the directory is gone.
  bool populated() const;
  // The live processes in it and below it (a process may have made cgroups of its own).
  std::vector<pid_t> members() const;
  // True when a process in it or below lives in a pid namespace the runtime cannot see (its
  // pid reads as 0): the cgroup is then not ours to judge.
  bool has_invisible_members() const;
  // sig to every member; with SIGTERM also SIGCONT, or a stopped process would hold it.
  // Returns how many were signalled.
  std::size_t signal_members(int sig) const;
  // SIGKILL to every process in it and below, new forks included: cgroup.kill (Linux 5.14), or
  // else freeze, SIGKILL each member, thaw.
  void kill() const;
  // Removes the nested cgroups (deepest first) and the directory; true once it is gone. Fails
  // (EBUSY) while populated.
  bool remove() const;

private:
  cgroup_dir(std::string path, util::unique_fd dir, util::unique_fd procs);

  std::string path_;
  util::unique_fd dir_;
  util::unique_fd procs_; // cgroup.procs for writing: the fork fallback's way in
};

} // namespace agentrt::runtime::process

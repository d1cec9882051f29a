// Errors that name the inotify limit that ran out. The kernel reports an exhausted instance
// budget as EMFILE ("Too many open files") and an exhausted watch budget as ENOSPC ("No space
// left on device"): both send an operator looking at the wrong thing. Both budgets are per
// user and shared with every other process of that user.
#pragma once

#include <system_error>

namespace agentrt::runtime::artifacts {

enum class inotify_errc {
  instance_limit = 1, // fs.inotify.max_user_instances reached
  watch_limit,        // fs.inotify.max_user_watches reached
};

const std::error_category& inotify_category() noexcept;
std::error_code make_error_code(inotify_errc e) noexcept;

// The error for a failed inotify_init1 (err = its errno): EMFILE becomes instance_limit unless
// this process is out of descriptors, which is checked by opening one.
std::error_code inotify_init_error(int err);
// The error for a failed inotify_add_watch: ENOSPC becomes watch_limit.
std::error_code inotify_add_watch_error(int err);

} // namespace agentrt::runtime::artifacts

namespace std {
template <> struct is_error_code_enum<agentrt::runtime::artifacts::inotify_errc> : true_type {};
} // namespace std

// Messages that name the exhausted inotify limit and its current value (see inotify_errors.hpp).
#include "artifacts/inotify_errors.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

namespace agentrt::runtime::artifacts {
namespace {

// "128", or "?" when the sysctl cannot be read (another kernel, a restricted /proc).
std::string sysctl_value(const char* path) {
  std::ifstream in(path);
  long value = 0;
  if (!(in >> value))
    return "?";
  return std::to_string(value);
}

class category : public std::error_category {
public:
  const char* name() const noexcept override { return "inotify"; }
  std::string message(int condition) const override {
    switch (static_cast<inotify_errc>(condition)) {
    case inotify_errc::instance_limit:
      return "too many inotify instances: fs.inotify.max_user_instances (" +
             sysctl_value("/proc/sys/fs/inotify/max_user_instances") +
             ") is used up by this user's processes; raise it with sysctl";
    case inotify_errc::watch_limit:
      return "too many inotify watches: fs.inotify.max_user_watches (" +
             sysctl_value("/proc/sys/fs/inotify/max_user_watches") +
             ") is used up by this user's processes; raise it with sysctl";
    }
    return "inotify error " + std::to_string(condition);
  }
  std::error_condition default_error_condition(int condition) const noexcept override {
    // Callers that compare with the generic conditions keep working.
    switch (static_cast<inotify_errc>(condition)) {
    case inotify_errc::instance_limit:
      return std::errc::too_many_files_open;
    case inotify_errc::watch_limit:
      return std::errc::no_space_on_device;
    }
    return {condition, *this};
  }
};

} // namespace

const std::error_category& inotify_category() noexcept {
  static const category c;
  return c;
}

std::error_code make_error_code(inotify_errc e) noexcept {
  return {static_cast<int>(e), inotify_category()};
}

std::error_code inotify_init_error(int err) {
  if (err == EMFILE) {
    // Both limits say EMFILE; a descriptor that can still be opened rules out RLIMIT_NOFILE.
    const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (probe >= 0) {
      ::close(probe);
      return inotify_errc::instance_limit;
    }
  }
  return {err, std::system_category()};
}

std::error_code inotify_add_watch_error(int err) {
  if (err == ENOSPC)
    return inotify_errc::watch_limit;
  return {err, std::system_category()};
}

} // namespace agentrt::runtime::artifacts

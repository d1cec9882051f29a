// Descriptor limit and token hiding at startup (see process_setup.hpp).
#include "config/process_setup.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

namespace agentrt::runtime::config {

descriptor_limit raise_descriptor_limit() {
  descriptor_limit r;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    r.ec = {errno, std::system_category()};
    return r;
  }
  r.before = r.after = lim.rlim_cur;
  rlim_t target = lim.rlim_max;
  if (target == RLIM_INFINITY) {
    long nr_open = 0;
    std::ifstream in("/proc/sys/fs/nr_open");
    target = (in >> nr_open) && nr_open > 0 ? static_cast<rlim_t>(nr_open) : 1048576;
  }
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur >= target)
    return r;
  lim.rlim_cur = target;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    r.ec = {errno, std::system_category()};
    return r;
  }
  r.after = target;
  return r;
}

void hide_token(std::string_view env_name, std::string_view flag_name, const std::string& token,
                int argc, char** argv) {
  const std::string name(env_name);
  if (char* value = std::getenv(name.c_str())) {
    const std::size_t size = std::strlen(value);
    ::unsetenv(name.c_str());
    // unsetenv only drops the pointer from environ; the bytes stay where the kernel put them
    // (or where setenv did), and /proc/<pid>/environ shows that memory.
    std::memset(value, 0, size);
  }
  if (token.empty())
    return;
  // The parsed value is matched rather than the flag re-parsed: "--token T" and "--token=T".
  const std::string flag = std::string(flag_name) + "=";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == token) {
      std::memset(argv[i], 'x', arg.size());
    } else if (arg.size() == flag.size() + token.size() && arg.compare(0, flag.size(), flag) == 0 &&
               arg.substr(flag.size()) == token) {
      std::memset(argv[i] + flag.size(), 'x', token.size());
    }
  }
}

} // namespace agentrt::runtime::config

// /proc probing used by the protocol helpers.
#include "support/protocol_helpers.hpp"

#include <dirent.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace agentrt::test {

std::vector<int> zombie_children(int pid) {
  std::vector<int> out;
  DIR* d = ::opendir("/proc");
  if (!d)
    return out;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long p = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || p <= 0)
      continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string stat = ss.str();
    const auto rp = stat.rfind(')');
    if (rp == std::string::npos || rp + 2 >= stat.size())
      continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(stat.c_str() + rp + 2, "%c %d", &state, &ppid) != 2)
      continue;
    if (state == 'Z' && ppid == pid)
      out.push_back(static_cast<int>(p));
  }
  ::closedir(d);
  return out;
}

} // namespace agentrt::test

// CI log markup around the commands: GitHub Actions workflow commands (::group:: per command,
// ::error:: naming the failed command) and GitLab CI collapsible sections. Off with --json,
// whose stdout is JSON lines only.
#pragma once

#include <string>

#include "options.hpp"

namespace agentrt::cli {

class ci_log {
public:
  explicit ci_log(ci_format format) : format_(format) {}
  void begin_command(const std::string& command);
  void end_command();
  void error(const std::string& text);

private:
  ci_format format_;
  int section_ = 0;
  bool open_ = false;
};

} // namespace agentrt::cli

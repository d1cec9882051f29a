#include "ci_log.hpp"

#include <cstdio>
#include <ctime>

#include "output.hpp"

namespace agentrt::cli {
namespace {

// GitHub's workflow-command escaping of a message (a line break would end the command).
std::string github_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '%')
      out += "%25";
    else if (c == '\r')
      out += "%0D";
    else if (c == '\n')
      out += "%0A";
    else
      out += c;
  }
  return out;
}

std::string one_line(const std::string& s) {
  std::string out;
  for (char c : s)
    out += (c == '\n' || c == '\r') ? ' ' : c;
  return out;
}

} // namespace

void ci_log::begin_command(const std::string& command) {
  open_ = true;
  ++section_;
  if (format_ == ci_format::github)
    print(stdout, "::group::$ " + one_line(command) + "\n");
  else if (format_ == ci_format::gitlab)
    print(stdout, "\033[0Ksection_start:" + std::to_string(std::time(nullptr)) +
                      ":agentrt_command_" + std::to_string(section_) + "\r\033[0K$ " +
                      one_line(command) + "\n");
}

void ci_log::end_command() {
  if (!open_)
    return;
  open_ = false;
  if (format_ == ci_format::github)
    print(stdout, "::endgroup::\n");
  else if (format_ == ci_format::gitlab)
    print(stdout, "\033[0Ksection_end:" + std::to_string(std::time(nullptr)) + ":agentrt_command_" +
                      std::to_string(section_) + "\r\033[0K\n");
}

void ci_log::error(const std::string& text) {
  if (format_ == ci_format::github)
    print(stdout, "::error title=agentrt-client::" + github_escape(text) + "\n");
}

} // namespace agentrt::cli

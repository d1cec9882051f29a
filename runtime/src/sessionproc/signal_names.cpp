// Signal names (see signal_names.hpp).
#include "sessionproc/signal_names.hpp"

#include <signal.h>

#include <string>

namespace agentrt::runtime::sessionproc {
namespace {

struct named_signal {
  const char* name;
  int number;
};

// What a client may send. Others (SIGSEGV, SIGCHLD, ...) make no sense to deliver by hand, and
// real-time signals have no portable names.
constexpr named_signal accepted[] = {
    {"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT},  {"SIGKILL", SIGKILL},
    {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGTERM", SIGTERM},  {"SIGCONT", SIGCONT},
    {"SIGSTOP", SIGSTOP}, {"SIGTSTP", SIGTSTP}, {"SIGWINCH", SIGWINCH}};

// What may end a process, for process_exit_message.signal.
constexpr named_signal reported[] = {
    {"SIGABRT", SIGABRT}, {"SIGALRM", SIGALRM}, {"SIGBUS", SIGBUS},   {"SIGFPE", SIGFPE},
    {"SIGILL", SIGILL},   {"SIGPIPE", SIGPIPE}, {"SIGSEGV", SIGSEGV}, {"SIGSYS", SIGSYS},
    {"SIGTRAP", SIGTRAP}, {"SIGXCPU", SIGXCPU}, {"SIGXFSZ", SIGXFSZ}, {"SIGPROF", SIGPROF}};

} // namespace

std::optional<int> signal_number(std::string_view name) {
  const std::string_view bare = name.substr(0, 3) == "SIG" ? name.substr(3) : name;
  for (const auto& s : accepted) {
    if (std::string_view(s.name).substr(3) == bare && !bare.empty())
      return s.number;
  }
  return std::nullopt;
}

std::string signal_name(int sig) {
  for (const auto& s : accepted) {
    if (s.number == sig)
      return s.name;
  }
  for (const auto& s : reported) {
    if (s.number == sig)
      return s.name;
  }
  return "SIG" + std::to_string(sig);
}

} // namespace agentrt::runtime::sessionproc

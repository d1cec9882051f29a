// The session-process error category (see process_errc.hpp).
#include "sessionproc/process_errc.hpp"

#include <string>

namespace agentrt::runtime::sessionproc {
namespace {

struct entry {
  const char* code;
  const char* text;
};

constexpr entry entries[] = {
    {"", ""},
    {"unknown_process", "no such process in this session"},
    {"spawn_failed", "the command could not be started"},
    {"too_many_processes", "the session holds as many processes as it may"},
    {"exited", "the process has exited"},
    {"stdin_closed", "the process's stdin is not open"},
    {"stdin_overflow", "more stdin was sent than the window allows"},
    {"not_a_terminal", "the process has no terminal"},
    {"bad_signal", "unknown signal name"},
    {"session_ending", "the session is ending"},
};

const entry* find(int value) {
  if (value <= 0 || value >= static_cast<int>(std::size(entries)))
    return nullptr;
  return &entries[value];
}

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "session_process"; }
  std::string message(int value) const override {
    const entry* e = find(value);
    return e ? e->text : "unknown session process error " + std::to_string(value);
  }
};

} // namespace

const std::error_category& process_category() noexcept {
  static const category instance;
  return instance;
}

const char* wire_code(const std::error_code& e) noexcept {
  if (e.category() == process_category()) {
    if (const entry* found = find(e.value()))
      return found->code;
  }
  return "spawn_failed";
}

} // namespace agentrt::runtime::sessionproc

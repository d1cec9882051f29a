// --summary-json FILE: what a CI job wants to keep of a run, written once at the end (also on
// failure): the exit code, the error if any, per-command exit codes and durations, and the
// artifacts delivered and failed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "artifacts.hpp"
#include "output.hpp"

namespace agentrt::cli {

struct command_summary {
  std::string command;
  std::optional<int> exit_code; // none: it did not finish (timeout, cancel, error)
  double duration_s = 0;
};

struct run_summary {
  std::string mode;
  std::vector<command_summary> commands;
  std::vector<artifact_outcome> artifacts;
  std::optional<cli_error> error;
  int exit_code = 0;
};

// {"mode":..,"exit_code":..,"error":null|{"code","message"},"commands":[{"command","exit_code",
//  "duration_s"}],"artifacts":{"delivered":[{"filepath","local"}],"failed":[{"filepath",
//  "reason"}]}}. False (with a line on stderr) when the file cannot be written.
bool write_summary(const std::string& path, const run_summary& s);

} // namespace agentrt::cli

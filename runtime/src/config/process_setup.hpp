// What the runtime changes about its own process at start, before it serves anyone.
#pragma once

#include <sys/resource.h>

#include <string>
#include <string_view>
#include <system_error>

namespace agentrt::runtime::config {

struct descriptor_limit {
  rlim_t before = 0; // soft RLIMIT_NOFILE at start
  rlim_t after = 0;  // soft limit now
  std::error_code ec;
};

// Raises the soft RLIMIT_NOFILE to the hard limit (capped at fs.nr_open, which the kernel
// enforces even for an unlimited hard limit). Every connection, pipe and transfer costs a
// descriptor; under a default soft limit of 1024 the 1,000th client broke accept(). Children
// inherit the raised limit.
descriptor_limit raise_descriptor_limit();

// Removes AGENTRT_TOKEN from the environment, so that no command or harness inherits it, and
// wipes the token's bytes where the process was started with them: the environment block
// (/proc/<pid>/environ, readable by every process of the same user) and a --token argument
// (/proc/<pid>/cmdline, readable by everyone). token: the parsed one ("" for none); call once
// the options have been parsed, since they hold their own copy.
// env_name and flag name the variable and the flag the token may have come from
// (AGENTRT_TOKEN and --token; AGENTRT_METRICS_TOKEN and --metrics-token).
void hide_token(std::string_view env_name, std::string_view flag, const std::string& token,
                int argc, char** argv);

} // namespace agentrt::runtime::config

// The signal names session processes accept and report (docs/processes.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace agentrt::runtime::sessionproc {

// "SIGINT" or "INT" -> SIGINT; nullopt for a name not in the documented list.
std::optional<int> signal_number(std::string_view name);

// SIGTERM -> "SIGTERM"; "SIG<n>" for a signal without a name here.
std::string signal_name(int sig);

} // namespace agentrt::runtime::sessionproc

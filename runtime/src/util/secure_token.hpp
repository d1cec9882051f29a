// Secrets the runtime hands out and checks: random tokens from the kernel, and a comparison whose
// time depends only on the lengths, so that a client cannot find a token one byte at a time by
// measuring how fast it is refused.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "agentrt/protocol/result.hpp"

namespace agentrt::runtime::util {

// bytes random bytes from getrandom(2), as lowercase hex (2 * bytes characters); getrandom's
// errno (generic category) on failure.
protocol::result<std::string> random_hex(std::size_t bytes);

bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

} // namespace agentrt::runtime::util

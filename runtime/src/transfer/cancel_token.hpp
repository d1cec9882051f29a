// Moved to util/cancel_token.hpp (one cancellation primitive for the whole runtime). This name
// stays only for harness/openai_run.hpp, which another change is editing at the same time;
// remove it once that includes util/cancel_token.hpp.
#pragma once

#include "util/cancel_token.hpp"

namespace agentrt::runtime::transfer {
using util::cancel_token;
} // namespace agentrt::runtime::transfer

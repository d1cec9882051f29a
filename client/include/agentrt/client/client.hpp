// Everything a user of the agentrt C++ client needs, in one include.
#pragma once

#include "agentrt/client/errors.hpp"
#include "agentrt/client/session.hpp"
#include "agentrt/client/version.hpp"

// SPDX-License-Identifier: GPL-2.0
// The experiment drivers: each sets up its sysctls and drops, then drives both ends step by
// step (lab/steps.h). Documentation/tcpscope/lab.rst describes every one.
#pragma once

#include <string>

#include "lab/steps.h"

namespace tcpscope::lab {

using Driver = Status (*)(Steps &s, const std::string &variant);

// nullptr for a name without a driver
Driver driver_of(const std::string &experiment);

} // namespace tcpscope::lab

// SPDX-License-Identifier: GPL-2.0
// `tcpscope top`: a live full-screen view of the in-kernel aggregates, redrawn every interval.
#pragma once

#include "cli/options.h"

namespace tcpscope {

// Runs until q, SIGINT, SIGTERM, --count or the terminal goes away. Returns the exit code.
int run_top(const TopOptions &opts);

} // namespace tcpscope

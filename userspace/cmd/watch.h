// SPDX-License-Identifier: GPL-2.0
// `tcpscope watch`: the live event stream.
#pragma once

#include "cli/options.h"

namespace tcpscope {

// Runs until interrupted, --duration or --count. Returns the process exit code.
int run_watch(const WatchOptions &opts);

} // namespace tcpscope

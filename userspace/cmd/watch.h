// SPDX-License-Identifier: GPL-2.0
// `tcpscope watch`: the live event stream.
#pragma once

#include "event/event.h"
#include "cli/options.h"

namespace tcpscope {

// Runs until interrupted, --duration or --count. Returns the process exit code.
int run_watch(const WatchOptions &opts);

// User-space filters that need the lifecycle view (--state, --summary).
bool watch_wants(const WatchOptions &opts, const Shown &s);

} // namespace tcpscope

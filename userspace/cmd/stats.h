// SPDX-License-Identifier: GPL-2.0
// `tcpscope stats`: snapshots of the in-kernel aggregates as a table, JSON or Prometheus text.
#pragma once

#include "cli/options.h"

namespace tcpscope {

// Runs until --count snapshots, SIGINT or SIGTERM. Returns the process exit code.
int run_stats(const StatsOptions &opts);

} // namespace tcpscope

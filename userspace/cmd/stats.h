// SPDX-License-Identifier: GPL-2.0
// `tcpscope stats`: snapshots of the in-kernel aggregates as a table, JSON or Prometheus text.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernel/aggregates.h"
#include "cli/options.h"
#include "kernel/tracer.h"

namespace tcpscope {

// The BPF side in aggregate mode (no ring buffer records), attached and seeded; what it
// noted goes to stderr (hooks with verbose, degraded features always). nullptr after
// printing the error.
std::unique_ptr<Tracer> open_aggregator(bool verbose);

// The current aggregates and agent counters; the per-port rows only when asked (top): up
// to 16 Ki map entries, two system calls each.
Snapshot snapshot(const Tracer &t, double uptime, bool ports = false);

int run_stats(const StatsOptions &opts);

} // namespace tcpscope

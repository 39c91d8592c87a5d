// SPDX-License-Identifier: GPL-2.0
// What `stats` prints and `serve` exports from a snapshot of the aggregates: Prometheus
// metric families, one JSON object, a terminal table.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/aggregates.h"
#include "output/exposition.h"

namespace tcpscope {

// Histogram bucket upper bounds in seconds: slot i of time_hist counts durations below
// 2^i microseconds; the last slot is the overflow (+Inf).
std::vector<double> hist_bounds();

// Prometheus metric families; per_netns adds a netns="<inode>" label to every series.
std::vector<MetricFamily> metrics(const Snapshot &s, bool per_netns);

// One JSON object (no newline): sockets, transitions, time in state, TIME_WAIT, keepalive,
// connections, agent counters.
// time, when given, leads as "time" (the snapshot's wall-clock time, ISO 8601 UTC).
std::string to_json(const Agg &a, const AgentCounters &agent, double uptime,
		    std::string_view time = {});

// A wall-clock time as stats shows it: "2026-11-29T20:33:01.123Z" (UTC, milliseconds).
std::string iso_time(int64_t unix_ms);

// A text table for a terminal: sockets per state and the counters; with prev and the
// interval, the change over it.
std::string to_table(const Agg &a, const Agg *prev, double interval, const AgentCounters &agent);

// "WARNING: ..." naming everything lost, skipped or untracked (lost_track()), or "" when the
// figures are whole. a: the aggregates shown.
std::string lost_track_warning(const AgentCounters &agent, const Agg &a);

} // namespace tcpscope

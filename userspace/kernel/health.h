// SPDX-License-Identifier: GPL-2.0
// The kernel side's own health: what it counted as lost, by reason, and the program runs the
// kernel skipped. Shown by every command (Documentation/tcpscope/kernel.rst lists the reasons).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tcpscope {

struct NamedCount {
	std::string name;
	uint64_t count = 0;
	bool operator==(const NamedCount &) const = default;
};

// The per-CPU "counters" map (enum tcpscope_counter), summed over CPUs.
struct KernelCounters {
	uint64_t events = 0;         // records submitted to the ring buffer
	uint64_t lost = 0;           // ring buffer full: records dropped
	uint64_t conn_full = 0;      // events of connections not tracked (conns table full)
	uint64_t filtered = 0;       // dropped by in-kernel filters
	uint64_t agg_full = 0;       // updates lost: no aggregates for the netns (full, no memory)
	uint64_t seeded = 0;         // sockets counted by the start-up walk
	uint64_t conn_untracked = 0; // connections not tracked, each counted once
	uint64_t tw_full = 0;        // timewait sockets not tracked (twctxs full)
	uint64_t listener_full = 0;  // listeners not recorded (listeners full)
	uint64_t embryo_full = 0;    // early children's LISTEN->SYN_RECV lost (embryos full)
	uint64_t ports_full = 0;     // per-port updates lost (ports_agg full)
	uint64_t tw_stale = 0;       // timewait exits missed, found when the memory was reused
	uint64_t lost_summary = 0;   // of lost: connection summaries
	uint64_t recounted = 0;      // gauges put right from the kernel's state
};

// Every loss by reason, in a fixed order, zeros included: the reason="..." label values of
// tcpscope_kernel_dropped_total and the keys of stats' "dropped".
std::vector<NamedCount> dropped_by_reason(const KernelCounters &k);

// Sum of the program runs the kernel skipped.
uint64_t total(const std::vector<NamedCount> &counts);

} // namespace tcpscope

// SPDX-License-Identifier: GPL-2.0
// The in-kernel aggregates (struct tcpscope_agg per netns, per CPU) read back and summed: the
// snapshot that stats, serve and top present (output/stats_report.h, output/top_view.h).
#pragma once

#include <netinet/tcp.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "event/record.h" // tcpscope.h with the kernel types
#include "kernel/health.h"

namespace tcpscope {

using Agg = struct tcpscope_agg;

// The states ss shows, in the kernel's order (TIME_WAIT by substate, as ss does): the rows
// of every per-state list.
inline constexpr unsigned ss_states[] = {
	TCP_ESTABLISHED, TCP_SYN_SENT,   TCP_SYN_RECV, TCP_FIN_WAIT1, TCP_FIN_WAIT2,
	TCP_TIME_WAIT,   TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_LISTEN,    TCP_CLOSING};

// Totals of the agent's own health, shown beside the aggregates.
struct AgentCounters {
	uint64_t conn_full = 0; // connections the kernel could not track (table full), once each
	uint64_t agg_full = 0;  // namespaces the kernel could not aggregate
	uint64_t seeded = 0;    // sockets counted by the start-up walk
	std::vector<NamedCount> dropped;          // every loss by reason (dropped_by_reason())
	std::vector<NamedCount> recursion_misses; // per program: runs the kernel skipped
	uint64_t recounted = 0; // gauges put right from the kernel's state (missed changes)
};

// The figures may be off: something was lost, a program run was skipped, or a gauge of
// the shown namespaces missed sockets (a: their aggregates).
bool lost_track(const AgentCounters &agent, const Agg &a);

// One local port of one namespace (ports_agg map).
struct PortRow {
	uint32_t netns = 0;
	uint16_t port = 0;
	int64_t timewait = 0;  // timewait sockets on it now
	uint64_t accepted = 0; // connections its listener took since start
};

struct Snapshot {
	std::map<uint32_t, Agg> by_netns; // netns inode -> aggregates, summed over CPUs
	std::vector<PortRow> ports;       // every port seen, any order
	AgentCounters agent;
	double uptime = 0; // seconds since the programs were attached
	// net.ipv4.tcp_max_tw_buckets of each namespace of by_netns that could be read
	std::map<uint32_t, int64_t> tw_limit;
};

// Reads every netns' per-CPU values from the aggs map and sums them.
std::map<uint32_t, Agg> read_aggs(int map_fd);

// Every entry of the ports_agg map.
std::vector<PortRow> read_ports(int map_fd);

// The n busiest ports by TIME_WAIT now, or by connections accepted since prev (a rate
// when interval > 0; since start without prev), summed over namespaces unless one is
// given. Ties go to the lower port.
enum class PortOrder { timewait, accepted };
std::vector<PortRow> busiest_ports(const Snapshot &s, const Snapshot *prev, PortOrder by, size_t n,
				   std::optional<uint32_t> netns = std::nullopt);

// a += b, field by field.
void add(Agg &a, const Agg &b);

// Connections that ended because keepalive probes went unanswered.
uint64_t keepalive_kills(const Agg &a);

// All namespaces summed, or just one (empty if it has no entry).
Agg total(const Snapshot &s, std::optional<uint32_t> netns = std::nullopt);

} // namespace tcpscope

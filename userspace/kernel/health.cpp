// SPDX-License-Identifier: GPL-2.0
// Loss reasons of the kernel side, named once for every output.
#include "kernel/health.h"

namespace tcpscope {

std::vector<NamedCount> dropped_by_reason(const KernelCounters &k)
{
	return {
		{"ring_buffer_full", k.lost},         {"conn_table_full", k.conn_untracked},
		{"timewait_table_full", k.tw_full},   {"listener_table_full", k.listener_full},
		{"embryo_table_full", k.embryo_full}, {"port_table_full", k.ports_full},
		{"netns_table_full", k.agg_full},     {"timewait_exit_missed", k.tw_stale},
	};
}

uint64_t total(const std::vector<NamedCount> &counts)
{
	uint64_t n = 0;
	for (const auto &c : counts)
		n += c.count;
	return n;
}

} // namespace tcpscope

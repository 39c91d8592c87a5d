// SPDX-License-Identifier: GPL-2.0
// Reading the in-kernel aggregates back (summed over CPUs) and the sums and rankings that
// stats, serve and top share.
#include "kernel/aggregates.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>

namespace tcpscope {

std::map<uint32_t, Agg> read_aggs(int map_fd)
{
	std::map<uint32_t, Agg> out;
	int ncpu = libbpf_num_possible_cpus();
	std::vector<Agg> vals(ncpu > 0 ? ncpu : 1);
	uint32_t key, next;
	uint32_t *prev = nullptr;

	while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(map_fd, &key, vals.data()))
			continue; // the netns went away between the two calls
		Agg sum{};
		for (const auto &v : vals)
			add(sum, v);
		out[key] = sum;
	}
	return out;
}

std::vector<PortRow> read_ports(int map_fd)
{
	std::vector<PortRow> out;
	struct tcpscope_port_key key, next, *prev = nullptr;
	int ncpu = libbpf_num_possible_cpus();
	std::vector<struct tcpscope_port_agg> vals(ncpu > 0 ? ncpu : 1);

	while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(map_fd, &key, vals.data()))
			continue;
		PortRow row{key.netns, key.port, 0, 0};
		for (const auto &v : vals) { // per CPU: a socket may enter on one, leave on another
			row.timewait += v.timewait;
			row.accepted += v.accepted;
		}
		out.push_back(row);
	}
	return out;
}

std::vector<PortRow> busiest_ports(const Snapshot &s, const Snapshot *prev, PortOrder by, size_t n,
				   std::optional<uint32_t> netns)
{
	auto sum = [&](const Snapshot &snap) {
		std::map<uint16_t, PortRow> m;
		for (const auto &r : snap.ports) {
			if (netns && r.netns != *netns)
				continue;
			auto &row = m[r.port];
			row.netns = netns.value_or(0);
			row.port = r.port;
			row.timewait += r.timewait;
			row.accepted += r.accepted;
		}
		return m;
	};
	auto now = sum(s);
	std::map<uint16_t, PortRow> then;
	if (prev)
		then = sum(*prev);
	std::vector<PortRow> rows;
	for (auto [port, r] : now) {
		if (auto it = then.find(port);
		    it != then.end() && r.accepted >= it->second.accepted)
			r.accepted -= it->second.accepted;
		if ((by == PortOrder::timewait ? r.timewait : int64_t(r.accepted)) > 0)
			rows.push_back(r);
	}
	std::sort(rows.begin(), rows.end(), [&](const PortRow &a, const PortRow &b) {
		int64_t ka = by == PortOrder::timewait ? a.timewait : int64_t(a.accepted);
		int64_t kb = by == PortOrder::timewait ? b.timewait : int64_t(b.accepted);
		return ka != kb ? ka > kb : a.port < b.port;
	});
	if (rows.size() > n)
		rows.resize(n);
	return rows;
}

void add(Agg &a, const Agg &b)
{
	for (int o = 0; o < TCPSCOPE_NSTATES; o++) {
		for (int n = 0; n < TCPSCOPE_NSTATES; n++)
			a.transitions[o][n] += b.transitions[o][n];
		for (int i = 0; i < TCPSCOPE_HIST_SLOTS; i++)
			a.time_hist[o][i] += b.time_hist[o][i];
		a.time_sum_ns[o] += b.time_sum_ns[o];
		a.sockets[o] += b.sockets[o];
	}
	a.tw_entered += b.tw_entered;
	for (int c = 0; c < TCPSCOPE_NCAUSE; c++)
		a.tw_left[c] += b.tw_left[c];
	a.keepalive_probes += b.keepalive_probes;
	a.untracked += b.untracked;
	a.tw_orphans += b.tw_orphans;
	a.tw_recounted += b.tw_recounted;
	for (int o = 0; o < TCPSCOPE_NOPEN; o++)
		for (int c = 0; c < TCPSCOPE_NCLOSE; c++)
			a.conns[o][c] += b.conns[o][c];
}

bool lost_track(const AgentCounters &agent, const Agg &a)
{
	// the ring buffer carries nothing the aggregates need
	for (const auto &d : agent.dropped)
		if (d.count && d.name != "ring_buffer_full")
			return true;
	return a.untracked || total(agent.recursion_misses);
}

uint64_t keepalive_kills(const Agg &a)
{
	uint64_t n = 0;
	for (unsigned o = 0; o < TCPSCOPE_NOPEN; o++)
		n += a.conns[o][TCPSCOPE_CLOSE_KEEPALIVE];
	return n;
}

Agg total(const Snapshot &s, std::optional<uint32_t> netns)
{
	Agg t{};
	for (const auto &[ino, a] : s.by_netns)
		if (!netns || *netns == ino)
			add(t, a);
	return t;
}

} // namespace tcpscope

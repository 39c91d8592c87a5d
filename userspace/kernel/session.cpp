// SPDX-License-Identifier: GPL-2.0
// Aggregate mode: open, seed, snapshot. Nothing is copied per event: each snapshot reads
// the aggs map (and ports_agg for top).
#include "kernel/session.h"

#include <cstdio>

namespace tcpscope {

Result<AggregateSession> AggregateSession::open(bool verbose)
{
	TracerConfig cfg;
	cfg.events = false;
	cfg.aggregate = true;
	std::vector<std::string> log;
	std::vector<Degraded> degraded;

	set_libbpf_verbose(verbose);
	auto t = Tracer::open(
		cfg, [](const RawEvent &) { return 0; }, log, degraded);
	if (!t)
		return t.error();
	std::vector<std::string> failed;
	auto walked = (*t)->seed(failed);
	if (verbose) {
		for (const auto &l : log)
			fprintf(stderr, "tcpscope: hook %s\n", l.c_str());
		if (walked)
			fprintf(stderr, "tcpscope: walked the sockets of %zu network namespaces\n",
				*walked);
	}
	for (const auto &f : failed) // the gauges of that namespace miss its older sockets
		fprintf(stderr, "tcpscope: %s: its sockets from before start are not counted\n",
			f.c_str());
	report_degraded(degraded);

	AggregateSession s;
	s.tracer_ = std::move(*t);
	s.start_ = Clock::now();
	return s;
}

double AggregateSession::uptime() const
{
	return std::chrono::duration<double>(Clock::now() - start_).count();
}

Snapshot AggregateSession::snapshot(bool ports) const
{
	Snapshot s;
	KernelCounters k = tracer_->counters();

	s.by_netns = read_aggs(tracer_->aggs_fd());
	if (ports)
		s.ports = read_ports(tracer_->ports_fd());
	s.agent = {k.conn_untracked, k.agg_full, k.seeded, dropped_by_reason(k),
		   tracer_->recursion_misses()};
	s.uptime = uptime();
	return s;
}

} // namespace tcpscope

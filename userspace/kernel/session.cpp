// SPDX-License-Identifier: GPL-2.0
// Aggregate mode: open, seed, snapshot. Nothing is copied per event: each snapshot reads
// the aggs map (and ports_agg for top).
#include "kernel/session.h"

#include <cstdio>

namespace tcpscope {

Result<AggregateSession> AggregateSession::open(bool verbose, uint32_t netns)
{
	TracerConfig cfg;
	cfg.netns = netns;
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

	auto misses = tracer_->recursion_misses();
	s.by_netns = read_aggs(tracer_->aggs_fd());
	// Where a hook can miss a change, the kernel's own state is read again (one socket
	// walk of the namespace) before the snapshot is taken: a late FIN_WAIT2 -> TIME_WAIT
	// re-arm slips past the timer tracepoints (namespaces holding orphaned FIN_WAIT2
	// timewait sockets), and a run the kernel skipped loses a transition (every namespace,
	// once per growth of recursion_misses).
	// A connection whose socket was still there at the first walk after a skipped run may
	// lose its last changes in that same burst: the walks go on for 5 s after the growth.
	const auto now = Clock::now();
	if (total(misses) > misses_recounted_)
		missed_at_ = now;
	misses_recounted_ = total(misses);
	// And every 5 s whatever happened: a change a hook missed for another reason (a race
	// not understood yet, about one in 100,000 connections under churn) is put right.
	const bool skipped = (misses_recounted_ && now - missed_at_ < std::chrono::seconds(5)) ||
			     now - walked_at_ >= std::chrono::seconds(5);
	if (skipped)
		walked_at_ = now;
	// At most one walk of a namespace per 5 s: the kernel's tcp iterator takes a reference
	// on each socket of a bucket with sock_hold(), and a request socket hashed by
	// tcp_conn_request() before its reference count is set gets one on zero (a
	// use-after-free that oopsed a Debian 6.12 guest under a SYN churn: kernel.rst, "The
	// kernel's tcp iterator"). Every walk during SYNs runs that risk; fewer walks, less.
	bool recounted = false;
	std::map<uint32_t, Clock::time_point> walked;
	for (const auto &[ino, a] : s.by_netns) {
		auto last = walked_ns_.find(ino);
		const bool due =
			last == walked_ns_.end() || now - last->second >= std::chrono::seconds(5);
		if (last != walked_ns_.end())
			walked[ino] = last->second;
		if (due && (skipped || a.tw_orphans > 0)) {
			walked[ino] = now;
			if (tracer_->recount(ino) == 0)
				recounted = true;
		}
	}
	walked_ns_ = std::move(walked);
	if (recounted) {
		s.by_netns = read_aggs(tracer_->aggs_fd());
		k = tracer_->counters();
	}
	if (ports)
		s.ports = read_ports(tracer_->ports_fd());
	s.agent = {k.conn_untracked,     k.agg_full, k.seeded,
		   dropped_by_reason(k), misses,     k.recounted};
	s.uptime = uptime();
	std::vector<uint32_t> shown;
	for (const auto &[ino, a] : s.by_netns)
		shown.push_back(ino);
	if (!shown.empty())
		s.tw_limit = tw_limit_->read(shown);
	return s;
}

} // namespace tcpscope

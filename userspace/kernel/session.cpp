// SPDX-License-Identifier: GPL-2.0
// Aggregate mode: open, seed, snapshot. Nothing is copied per event: each snapshot reads
// the aggs map (and ports_agg for top).
#include "kernel/session.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

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

bool AggregateSession::recount(uint32_t netns) const
{
	std::array<int64_t, TCPSCOPE_NSTATES> seen{};
	auto before = read_agg(tracer_->aggs_fd(), netns);
	if (tracer_->recount(netns, seen))
		return false;
	auto after = read_agg(tracer_->aggs_fd(), netns);
	if (!before || !after || before->changes != after->changes)
		return true; // sockets changed state during the walk: its counts are no state
	// At rest: what the walk met is the namespace's state, and the gauges are made to
	// show it. The difference is kept, not written back: the hooks go on from the
	// in-kernel figures, and the next walk at rest measures it again.
	Correction c{};
	int64_t up = 0, down = 0;
	const Correction &old = at_rest_[netns];
	for (int st = 0; st < TCPSCOPE_NSTATES; st++) {
		c[st] = st == TCP_CLOSE ? 0 : seen[st] - after->sockets[st];
		(c[st] > old[st] ? up : down) += std::abs(c[st] - old[st]);
	}
	moved_at_rest_ += std::max(up, down);
	at_rest_[netns] = c;
	return true;
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
	bool recounted = false;
	for (const auto &[ino, a] : s.by_netns)
		if ((skipped || a.tw_orphans > 0) && recount(ino))
			recounted = true;
	if (recounted) {
		s.by_netns = read_aggs(tracer_->aggs_fd());
		k = tracer_->counters();
	}
	for (auto it = at_rest_.begin(); it != at_rest_.end();) {
		auto a = s.by_netns.find(it->first);
		if (a == s.by_netns.end()) { // its aggregates are gone: so is the correction
			it = at_rest_.erase(it);
			continue;
		}
		for (int st = 0; st < TCPSCOPE_NSTATES; st++)
			a->second.sockets[st] += it->second[st];
		++it;
	}
	k.recounted += moved_at_rest_;
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

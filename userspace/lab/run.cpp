// SPDX-License-Identifier: GPL-2.0
// The experiment drivers. Every step waits on a condition (a segment seen, a state reached, a
// socket readable) with a bound, never on a sleep; a missed bound fails the run and names the
// condition.
#include "lab/run.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <functional>

#include <fmt/format.h>

#include "event/fold.h"
#include "event/states.h"
#include "kernel/tracer.h"
#include "lab/drivers.h"
#include "lab/steps.h"
#include "lab/tap.h"
#include "lab/topology.h"
#include "util/signals.h"

namespace tcpscope::lab {

namespace {

int64_t realtime_offset_ns()
{
	struct timespec r, m;
	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return (int64_t(r.tv_sec) - m.tv_sec) * 1000000000ll + (r.tv_nsec - m.tv_nsec);
}

} // namespace

Result<std::unique_ptr<Lab>> Lab::open(const SignalFd &stop, bool verbose)
{
	std::unique_ptr<Lab> lab(new Lab(stop));
	set_libbpf_verbose(verbose);
	TracerConfig cfg;
	cfg.family = AF_INET;
	cfg.netns_allow = true; // each run's two namespaces, nothing else of the host
	std::vector<std::string> log;
	std::vector<Degraded> degraded;
	Lab *self = lab.get();
	auto tracer = Tracer::open(
		cfg,
		[self](const RawEvent &e) {
			if (!self->cur_)
				return 0;
			auto f = fold(e, View::lifecycle);
			if (!f || f->name != "state")
				return 0;
			Side side;
			if (e.netns == self->cur_->topo.inode(Side::client))
				side = Side::client;
			else if (e.netns == self->cur_->topo.inode(Side::server))
				side = Side::server;
			else
				return 0;
			self->cur_->trace.transitions.push_back(
				{e.ts_ns, side, f->old_state, f->new_state, e.sport, e.dport});
			return 0;
		},
		log, degraded);
	if (!tracer)
		return tracer.error();
	lab->tracer_ = std::move(*tracer);
	if (verbose)
		for (const auto &l : log)
			fprintf(stderr, "tcpscope: hook %s\n", l.c_str());
	for (const auto &d : degraded)
		lab->degraded_.push_back("tracer: " + d.feature + " unavailable: " + d.impact);
	return lab;
}

Lab::Lab(const SignalFd &stop) : stop_(stop) {}

Lab::~Lab() = default;

Result<RunResult> Lab::run(const Experiment &e, const Variant &v, bool long_runs)
{
	bool incomplete = false;
	auto r = run_once(e, v, long_runs, incomplete);
	if (!r || !incomplete)
		return r;
	std::vector<std::string> why;
	for (const auto &n : r->trace.notes)
		if ((n.rfind("tracer: ", 0) == 0 && n.find("unavailable") == std::string::npos) ||
		    n.rfind("set-up: ", 0) == 0)
			why.push_back(n);
	r = run_once(e, v, long_runs, incomplete);
	if (!r)
		return r;
	for (const auto &w : why)
		r->trace.notes.push_back("an earlier run was incomplete and run again: " + w);
	if (incomplete && r->verdict.kind != VerdictKind::skipped) {
		r->verdict.kind = VerdictKind::skipped;
		r->verdict.reason = "the run was incomplete twice (see the notes)";
	}
	return r;
}

Result<RunResult> Lab::run_once(const Experiment &e, const Variant &v, bool long_runs,
				bool &incomplete)
{
	incomplete = false;
	RunResult r;
	Trace &t = r.trace;
	t.experiment = e.name;
	t.variant = v.name;
	t.client_addr = Topology::kClientAddr;
	t.server_addr = Topology::kServerAddr;
	t.notes = degraded_;
	t.realtime_off_ns = realtime_offset_ns();

	Driver drive = driver_of(e.name);
	if (!drive)
		return Error{"run", "experiment " + e.name, ENOSYS, "not implemented"};
	auto topo = Topology::create();
	if (!topo)
		return topo.error();
	Steps c(*tracer_, stop_, std::move(*topo), t, long_runs);
	auto tap = Tap::attach(c.topo, [&t](Packet &&p) { t.packets.push_back(std::move(p)); });
	if (!tap)
		return tap.error();
	c.tap = std::move(*tap);

	Counters before[2];
	for (Side s : {Side::client, Side::server}) {
		auto n = c.topo.counters(s);
		if (!n)
			return n.error();
		before[s == Side::client ? 0 : 1] = std::move(*n);
	}
	// The tracer follows this run's namespaces and those of the last two runs, whose
	// teardown (cleanup_net(), the TIME_WAIT sockets' purge) may still be under way: their
	// connections end in its tables instead of staying there
	for (Side s : {Side::client, Side::server}) {
		if (int err = tracer_->allow_netns(c.topo.inode(s), true))
			return sys_error("update BPF map", "netns_allow", err);
		allowed_.push_back(c.topo.inode(s));
	}
	// a namespace's inode is reused once it is gone: the run in progress may have one an
	// earlier run had, which must stay
	while (allowed_.size() > 6) {
		const uint32_t old = allowed_.front();
		allowed_.pop_front();
		if (std::find(allowed_.begin(), allowed_.end(), old) == allowed_.end())
			(void)tracer_->allow_netns(old, false);
	}
	// the tracer's ring may still hold events of an earlier run: drained before this one
	(void)tracer_->poll(0);
	const KernelCounters before_k = tracer_->counters();
	const uint64_t before_misses = total(tracer_->recursion_misses());
	cur_ = &c;
	t.t0_ns = mono_ns();
	Status st = drive(c, v.name);
	if (!st)
		st = c.pump(0); // what the last condition's segment or event left queued
	cur_ = nullptr;
	if (st && st->err == EINTR)
		return *st;

	for (Side s : {Side::client, Side::server}) {
		auto n = c.topo.counters(s);
		if (!n)
			return n.error();
		int i = s == Side::client ? 0 : 1;
		t.counters[i] = counter_deltas(before[i], *n);
	}
	if (uint64_t lost = c.tap->lost())
		return Error{"capture", "segments", ENOSPC,
			     fmt::format("{} lost (tap ring buffer full)", lost)};
	// the tracer's own losses during this run: a transition missing from the trace
	const KernelCounters after = tracer_->counters();
	const uint64_t misses = total(tracer_->recursion_misses()) - before_misses;
	incomplete = after.lost > before_k.lost || after.conn_untracked > before_k.conn_untracked ||
		     misses || !c.not_set_up.empty();
	if (!c.not_set_up.empty())
		t.notes.push_back("set-up: " + c.not_set_up);
	if (after.lost > before_k.lost)
		t.notes.push_back(fmt::format("tracer: {} events lost (ring buffer full)",
					      after.lost - before_k.lost));
	if (uint64_t m = misses)
		t.notes.push_back(fmt::format("tracer: the kernel skipped {} runs of its programs "
					      "(recursion_misses: one was already running on that "
					      "CPU): state changes may be missing",
					      m));
	if (after.conn_untracked > before_k.conn_untracked)
		t.notes.push_back(fmt::format("tracer: {} connections untracked (table full)",
					      after.conn_untracked - before_k.conn_untracked));
	std::stable_sort(t.packets.begin(), t.packets.end(),
			 [](const Packet &a, const Packet &b) { return a.ts_ns < b.ts_ns; });
	std::stable_sort(
		t.transitions.begin(), t.transitions.end(),
		[](const Transition &a, const Transition &b) { return a.ts_ns < b.ts_ns; });
	// a state the kernel showed that the tracer had not reported by then
	for (const auto &sn : t.snapshots) {
		if (!sn.state)
			continue;
		Trace upto = t;
		std::erase_if(upto.transitions,
			      [&](const Transition &x) { return x.ts_ns > sn.ts_ns; });
		auto path = state_path(upto, sn.side);
		if (!path.empty() && path.back() == sn.state)
			continue;
		std::string why;
		if (!path.empty() && path.back() == TCP_FIN_WAIT2 && sn.state == TCP_TIME_WAIT)
			why = ": an orphaned FIN_WAIT2 timewait socket's FIN_WAIT2 -> TIME_WAIT "
			      "reaches the tracer only when it leaves (tcpscope-kernel(7), Late "
			      "FIN_WAIT2 -> TIME_WAIT)";
		t.notes.push_back(fmt::format("{}: sock_diag shows {}, the tracer's last state "
					      "then was {}{}",
					      side_name(sn.side), state_name(sn.state),
					      path.empty() ? "none" : state_name(path.back()),
					      why));
	}
	if (st && is_skip(*st)) {
		r.verdict.kind = VerdictKind::skipped;
		r.verdict.reason = st->detail;
		return r;
	}
	if (st) {
		r.failed = st;
		r.verdict.kind = VerdictKind::skipped;
		r.verdict.reason = "the run failed: " + st->message();
		return r;
	}
	r.verdict = judge(t);
	return r;
}

} // namespace tcpscope::lab

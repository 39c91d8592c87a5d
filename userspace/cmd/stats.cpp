// SPDX-License-Identifier: GPL-2.0
// `tcpscope stats`: attach in aggregate mode, walk the existing sockets, then print a snapshot
// every --interval seconds. Nothing is copied per event: each snapshot reads the aggs map.
#include "output/event_format.h"
#include "cmd/stats.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

namespace tcpscope {

namespace {

volatile sig_atomic_t stop_requested;

void on_signal(int)
{
	stop_requested = 1;
}

// Sleeps until the deadline or a signal; false when interrupted.
bool sleep_until(std::chrono::steady_clock::time_point t)
{
	while (!stop_requested) {
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			t - std::chrono::steady_clock::now());
		if (left.count() <= 0)
			return true;
		poll(nullptr, 0, static_cast<int>(std::min<long long>(left.count(), 1000)));
	}
	return false;
}

} // namespace

std::unique_ptr<Tracer> open_aggregator(bool verbose)
{
	TracerConfig cfg;
	cfg.events = false;
	cfg.aggregate = true;
	std::vector<std::string> log;
	std::vector<Degraded> degraded;

	set_libbpf_verbose(verbose);
	auto t = Tracer::open(cfg, [](const RawEvent &) { return 0; }, log, degraded);
	if (!t) {
		fprintf(stderr, "tcpscope: %s\n", t.error().message().c_str());
		return nullptr;
	}
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
	for (const auto &d : degraded)
		fprintf(stderr, "tcpscope: degraded: %s unavailable on this kernel: %s\n",
			d.feature.c_str(), d.impact.c_str());
	return std::move(*t);
}

Snapshot snapshot(const Tracer &t, double uptime, bool ports)
{
	Snapshot s;
	KernelStats k = t.stats();

	s.by_netns = read_aggs(t.aggs_fd());
	if (ports)
		s.ports = read_ports(t.ports_fd());
	s.agent = {k.conn_full, k.agg_full, k.seeded};
	s.uptime = uptime;
	return s;
}

int run_stats(const StatsOptions &o)
{
	struct sigaction sa = {};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);
	signal(SIGPIPE, SIG_IGN);

	auto tracer = open_aggregator(o.verbose);
	if (!tracer)
		return 1;
	const auto start = std::chrono::steady_clock::now();
	const auto step = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
		std::chrono::duration<double>(o.interval));
	auto next = start + step;
	Agg prev{};
	bool have_prev = false;

	for (uint64_t n = 0; o.count == 0 || n < o.count; n++, next += step) {
		if (!sleep_until(next))
			break;
		double up = std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
				    .count();
		Snapshot s = snapshot(*tracer, up);
		std::string text;

		switch (o.format) {
		case StatsFormat::prometheus: {
			Exposition exp;
			for (const auto &f : metrics(s, o.per_netns))
				if (auto err = exp.add(f)) {
					fprintf(stderr, "tcpscope: %s\n", err->message().c_str());
					return 1;
				}
			text = exp.text();
			break;
		}
		case StatsFormat::json:
			text = to_json(total(s, o.netns), s.agent, up) + "\n";
			break;
		case StatsFormat::table: {
			Agg a = total(s, o.netns);
			if (n)
				text += "\n";
			text += to_table(a, have_prev ? &prev : nullptr, o.interval, s.agent);
			prev = a;
			have_prev = true;
			break;
		}
		}
		if (write_stdout(text))
			return 0; // the reader went away
	}
	return 0;
}

} // namespace tcpscope

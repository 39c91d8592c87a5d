// SPDX-License-Identifier: GPL-2.0
// `tcpscope stats`: attach in aggregate mode, walk the existing sockets, then print a snapshot
// every --interval seconds. Nothing is copied per event: each snapshot reads the aggs map.
#include "cmd/stats.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "kernel/session.h"
#include "output/stats_report.h"
#include "util/io.h"
#include "util/signals.h"

namespace tcpscope {

namespace {

// Sleeps until the deadline or a stop signal; false when stopped.
bool sleep_until(const SignalFd &stop, AggregateSession::Clock::time_point t)
{
	for (;;) {
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			t - AggregateSession::Clock::now());
		if (left.count() <= 0)
			return true;
		if (stop.wait(static_cast<int>(std::min<long long>(left.count(), 1000))))
			return false;
	}
}

int64_t wall_ms()
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(
		       std::chrono::system_clock::now().time_since_epoch())
		.count();
}

} // namespace

int run_stats(const StatsOptions &o)
{
	signal(SIGPIPE, SIG_IGN);
	auto stop = SignalFd::stop_signals();
	if (!stop)
		return print_error(stop.error());
	auto session = AggregateSession::open(o.verbose, o.netns.value_or(0));
	if (!session)
		return print_error(session.error());
	const auto step = std::chrono::duration_cast<AggregateSession::Clock::duration>(
		std::chrono::duration<double>(o.interval));
	auto next = session->start() + step;
	Agg prev{};
	bool have_prev = false;

	for (uint64_t n = 0; o.count == 0 || n < o.count; n++, next += step) {
		if (!sleep_until(*stop, next))
			break;
		Snapshot s = session->snapshot();
		std::string text;

		switch (o.format) {
		case StatsFormat::prometheus: {
			// several snapshots make one exposition: samples timestamped, the
			// # HELP and # TYPE lines once (a second one is invalid)
			Exposition exp;
			if (o.count != 1) {
				exp.set_timestamp(wall_ms());
				exp.set_metadata(n == 0);
			}
			for (const auto &f : metrics(s, o.per_netns))
				if (auto err = exp.add(f))
					return print_error(*err);
			text = exp.text();
			break;
		}
		case StatsFormat::json:
			text = to_json(total(s, o.netns), s.agent, s.uptime, iso_time(wall_ms())) +
			       "\n";
			break;
		case StatsFormat::table: {
			Agg a = total(s, o.netns);
			if (n)
				text += "\n";
			text += "TIME " + iso_time(wall_ms()) + "\n";
			text += to_table(a, have_prev ? &prev : nullptr, o.interval, s.agent);
			prev = a;
			have_prev = true;
			break;
		}
		}
		if (int err = write_stdout(text)) {
			if (auto e = write_error(err))
				return print_error(*e);
			return 0; // the reader went away
		}
	}
	return 0;
}

} // namespace tcpscope

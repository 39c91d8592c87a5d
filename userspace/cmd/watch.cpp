// SPDX-License-Identifier: GPL-2.0
// The watch loop: ring buffer -> lifecycle fold -> user-space filters -> formatter -> stdout,
// with lost events reported on stderr as they happen and in the final line.
#include "cmd/watch.h"

#include <bpf/libbpf.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <vector>
#include <algorithm>

#include "event/fold.h"
#include "kernel/features.h"
#include "kernel/sock_owners.h"
#include "kernel/tracer.h"
#include "output/event_format.h"
#include "util/io.h"
#include "util/signals.h"

namespace tcpscope {

namespace {

uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return uint64_t(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

// The formatted output not yet written, with where each event ends in it: an event counts
// as shown once all of its bytes went out, so `watch | head -3` counts what head was given.
struct Pending {
	fmt::memory_buffer buf;
	std::vector<size_t> ends; // offsets in buf just past each event
	uint64_t shown = 0;       // events written in full

	// 0, or the errno of the write that failed
	int flush()
	{
		size_t written = 0;
		int err = write_stdout({buf.data(), buf.size()}, &written);
		shown += std::upper_bound(ends.begin(), ends.end(), written) - ends.begin();
		buf.clear();
		ends.clear();
		return err;
	}
};

constexpr int kDone = -ECANCELED; // the sink's "--count reached"

} // namespace

int run_watch(const WatchOptions &o)
{
	signal(SIGPIPE, SIG_IGN);
	auto stop = SignalFd::stop_signals();
	if (!stop)
		return print_error(stop.error());

	set_libbpf_verbose(o.verbose);

	Clock clock;
	clock.wall = o.wall_time;
	clock.start_ns = now_ns(CLOCK_MONOTONIC);
	clock.realtime_off = int64_t(now_ns(CLOCK_REALTIME)) - int64_t(now_ns(CLOCK_MONOTONIC));

	auto formatter = make_formatter(o.format, clock);
	const View view = o.raw ? View::raw : View::lifecycle;
	const EventFilter filter{o.state, o.summary};
	Pending out;
	uint64_t formatted = 0;

	auto sink = [&](const RawEvent &e) -> int {
		auto f = fold(e, view);
		if (!f || !filter.wants(*f))
			return 0;
		formatter->event(*f, out.buf);
		out.ends.push_back(out.buf.size());
		if (++formatted == o.count)
			return kDone;
		return 0;
	};

	TracerConfig cfg{o.family, o.netns, o.pid, o.lports, o.dports};
	cfg.snapshot = o.snapshot;
	std::vector<std::string> log;
	std::vector<Degraded> degraded;
	auto tracer = Tracer::open(cfg, sink, log, degraded);
	if (!tracer)
		return print_error(tracer.error());
	if (o.verbose)
		for (const auto &l : log)
			fprintf(stderr, "tcpscope: hook %s\n", l.c_str());
	report_degraded(degraded);

	formatter->header(out.buf);
	if (int err = out.flush()) {
		if (auto e = write_error(err))
			return print_error(*e);
		return 0;
	}

	// --snapshot: the sockets that exist, walked once the programs are attached, so no
	// change is missed between the list and the live events; printed before any of them
	bool done = false;
	if (o.snapshot) {
		std::vector<std::string> failed;
		std::vector<SockEvent> sockets;
		auto walked = (*tracer)->seed(failed, &sockets);
		if (!walked)
			return print_error(walked.error());
		for (const auto &f : failed)
			fprintf(stderr, "tcpscope: %s: its sockets are not in the snapshot\n",
				f.c_str());
		fill_owners(sockets, o.pid, "/proc", KernelFeatures::cgroup2_root());
		for (const auto &r : sockets) {
			// -p: the kernel side filters live events; a snapshot's owner is known here
			if (o.pid && ((r.ev.flags & TCPSCOPE_EVF_NO_OWNER) || r.ev.pid != o.pid))
				continue;
			if (sink(r.ev) == kDone) {
				done = true;
				break;
			}
		}
		if (int err = out.flush()) {
			if (auto e = write_error(err))
				return print_error(*e);
			return 0;
		}
	}
	fprintf(stderr, "Tracing TCP state changes... Hit Ctrl-C to end.\n");

	const uint64_t deadline = o.duration > 0 ? clock.start_ns + uint64_t(o.duration * 1e9) : 0;
	uint64_t last_check = clock.start_ns;
	std::vector<NamedCount> last_dropped = dropped_by_reason({});
	std::vector<NamedCount> last_misses;
	int rc = 0;

	// Every loss as it happens, by reason, and the program runs the kernel skipped.
	auto report_lost = [&]() {
		KernelCounters st = (*tracer)->counters();
		auto dropped = dropped_by_reason(st);
		for (size_t i = 0; i < dropped.size(); i++) {
			uint64_t d = dropped[i].count - last_dropped[i].count;
			if (!d)
				continue;
			if (dropped[i].name == "ring_buffer_full")
				fprintf(stderr,
					"tcpscope: lost %llu events (ring buffer full), %llu in "
					"total\n",
					(unsigned long long)d,
					(unsigned long long)dropped[i].count);
			else if (dropped[i].name == "conn_table_full")
				fprintf(stderr,
					"tcpscope: %llu connections untracked (connection table "
					"full), %llu in total\n",
					(unsigned long long)d,
					(unsigned long long)dropped[i].count);
			else
				fprintf(stderr, "tcpscope: dropped %llu (%s), %llu in total\n",
					(unsigned long long)d, dropped[i].name.c_str(),
					(unsigned long long)dropped[i].count);
		}
		last_dropped = dropped;
		auto misses = (*tracer)->recursion_misses();
		for (const auto &m : misses) {
			uint64_t before = 0;
			for (const auto &l : last_misses)
				if (l.name == m.name)
					before = l.count;
			if (m.count > before)
				fprintf(stderr,
					"tcpscope: the kernel skipped %llu runs of %s (already "
					"running on that CPU), %llu in total: their events are "
					"missing\n",
					(unsigned long long)(m.count - before), m.name.c_str(),
					(unsigned long long)m.count);
		}
		last_misses = misses;
		return st;
	};

	// Interrupted or out of time, the events already queued are still shown (a burst of
	// summaries can be thousands behind): only a full --count, a write error or a closed
	// output ends without them.
	bool drain = !done;
	while (!done && !stop->take()) {
		// the kernel side wakes us only for a batch (256 KiB): a quiet stream is
		// drained by this timeout, which bounds its latency
		int n = (*tracer)->poll(50);
		done = n == kDone;
		if (n < 0 && n != -EINTR && !done) {
			fprintf(stderr, "tcpscope: failed to poll ring buffer: %s\n", strerror(-n));
			rc = 1;
			drain = false;
			break;
		}
		if (int err = out.flush()) {
			if (auto e = write_error(err)) {
				print_error(*e);
				rc = 1;
			}
			drain = false;
			break; // or the reader went away
		}
		if (done) {
			drain = false;
			break;
		}
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		if (now - last_check >= 1000000000ull) {
			report_lost();
			last_check = now;
		}
		if (deadline && now >= deadline)
			break;
	}
	if (drain) {
		int n = (*tracer)->consume();
		if (n < 0 && n != kDone) {
			fprintf(stderr, "tcpscope: failed to read ring buffer: %s\n", strerror(-n));
			rc = 1;
		}
	}
	if (rc == 0) {
		if (auto e = write_error(out.flush())) {
			print_error(*e);
			rc = 1;
		}
	}
	KernelCounters st = report_lost();
	fprintf(stderr,
		"tcpscope: %llu events shown, %llu lost, %llu filtered in kernel, %llu connections "
		"untracked (table full), %llu summaries lost\n",
		(unsigned long long)out.shown, (unsigned long long)st.lost,
		(unsigned long long)st.filtered, (unsigned long long)st.conn_untracked,
		(unsigned long long)st.lost_summary);
	return rc;
}

} // namespace tcpscope

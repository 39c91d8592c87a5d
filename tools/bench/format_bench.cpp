// SPDX-License-Identifier: GPL-2.0
// Events per second on one core through what `watch` does with each ring buffer record:
// decode(), the lifecycle fold (fold() + EventFilter), then the text, JSON or CSV formatter.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "event/fold.h"
#include "event/record.h"
#include "output/event_format.h"

namespace tcpscope {
namespace {

constexpr unsigned kConns = 1024; // distinct connections, so the data is not one hot line
constexpr size_t kBatch = 256;    // records per write(), as one ring buffer poll would gather

// The 14 raw records the kernel side emits for one loopback connection whose client closes
// first, in their order (as `watch --raw --json` shows them): both sockets, the client's
// TIME_WAIT entry, its internal CLOSE at the handoff (folded away), its TIME_WAIT exit and
// both summaries. 13 of them are shown in the lifecycle view. Each is kept as a SockEvent:
// the summaries carry the sockets' counters after the event, the rest only the event.
void append_connection(std::vector<SockEvent> &v, unsigned i)
{
	const uint64_t t0 = 10342306968415ull + i * 71000ull;
	const uint16_t cport = 32768 + (i * 7919) % 28000, sport = 20000 + i % 8;
	RawEvent base{};

	base.cgroup = 1;
	base.netns = 4026532246u;
	base.pid = 26601;
	base.family = AF_INET;
	base.saddr[0] = base.daddr[0] = 127;
	base.saddr[3] = base.daddr[3] = 1;
	std::memcpy(base.comm, "churn", 5);

	RawEvent cli = base, srv = base;
	cli.cookie = 1944774 + 2 * i;
	cli.sport = cport;
	cli.dport = sport;
	srv.cookie = cli.cookie + 1;
	srv.sport = sport;
	srv.dport = cport;

	auto ev = [&](const RawEvent &side, uint8_t type, unsigned old_s, unsigned new_s,
		      uint64_t at_ns, uint64_t dur_ns, uint16_t flags = 0) {
		RawEvent e = side;
		e.type = type;
		e.old_state = old_s;
		e.new_state = new_s;
		e.ts_ns = t0 + at_ns;
		e.dur_ns = dur_ns;
		e.flags = flags | (dur_ns ? 0 : TCPSCOPE_EVF_NO_DUR);
		v.push_back(SockEvent{e, {}, 0});
	};
	ev(cli, TCPSCOPE_EV_STATE, TCP_CLOSE, TCP_SYN_SENT, 0, 0);
	ev(cli, TCPSCOPE_EV_STATE, TCP_SYN_SENT, TCP_ESTABLISHED, 98384, 98384);
	ev(srv, TCPSCOPE_EV_STATE, TCP_LISTEN, TCP_SYN_RECV, 146925, 0);
	ev(srv, TCPSCOPE_EV_STATE, TCP_SYN_RECV, TCP_ESTABLISHED, 164327, 17402);
	ev(cli, TCPSCOPE_EV_STATE, TCP_ESTABLISHED, TCP_FIN_WAIT1, 247062, 148678);
	ev(srv, TCPSCOPE_EV_STATE, TCP_ESTABLISHED, TCP_CLOSE_WAIT, 285213, 120886);
	ev(srv, TCPSCOPE_EV_STATE, TCP_CLOSE_WAIT, TCP_LAST_ACK, 335317, 50104);
	ev(cli, TCPSCOPE_EV_STATE, TCP_FIN_WAIT1, TCP_FIN_WAIT2, 368989, 121927);
	ev(cli, TCPSCOPE_EV_TW_ENTER, TCP_FIN_WAIT2, TCP_TIME_WAIT, 386953, 17964);
	ev(cli, TCPSCOPE_EV_STATE, TCP_FIN_WAIT2, TCP_CLOSE, 390560, 21571, TCPSCOPE_EVF_HANDOFF);
	ev(srv, TCPSCOPE_EV_STATE, TCP_LAST_ACK, TCP_CLOSE, 405558, 70241);

	RawEvent sum = srv;
	sum.type = TCPSCOPE_EV_CONN;
	sum.ts_ns = t0 + 408944;
	sum.lifetime_ns = 262019;
	sum.path = TCP_LISTEN | TCP_SYN_RECV << 4 | TCP_ESTABLISHED << 8 | TCP_CLOSE_WAIT << 12 |
		   uint64_t(TCP_LAST_ACK) << 16 | uint64_t(TCP_CLOSE) << 20;
	sum.path_len = 6;
	sum.open = TCPSCOPE_OPEN_PASSIVE;
	sum.handshake = TCPSCOPE_HS_3WHS;
	sum.close = TCPSCOPE_CLOSE_PASSIVE;
	sum.facts = TCPSCOPE_F_SEEN_OPEN | TCPSCOPE_F_ESTABLISHED | TCPSCOPE_F_CLOSE_WAIT;
	v.push_back(SockEvent{sum, {1, 101, 4, 5, 0, 19}, 0});

	RawEvent leave = cli;
	leave.type = TCPSCOPE_EV_TW_LEAVE;
	leave.old_state = TCP_TIME_WAIT;
	leave.new_state = TCP_CLOSE;
	leave.ts_ns = t0 + 1325585843ull;
	leave.dur_ns = 1325198890ull;
	leave.cause = TCPSCOPE_TW_CAUSE_KILL;
	v.push_back(SockEvent{leave, {}, 0});

	sum = cli;
	sum.type = TCPSCOPE_EV_CONN;
	sum.ts_ns = leave.ts_ns;
	sum.lifetime_ns = 1325585843ull;
	sum.path = TCP_CLOSE | TCP_SYN_SENT << 4 | TCP_ESTABLISHED << 8 | TCP_FIN_WAIT1 << 12 |
		   uint64_t(TCP_FIN_WAIT2) << 16 | uint64_t(TCP_TIME_WAIT) << 20 |
		   uint64_t(TCP_CLOSE) << 24;
	sum.path_len = 7;
	sum.open = TCPSCOPE_OPEN_ACTIVE;
	sum.handshake = TCPSCOPE_HS_3WHS;
	sum.close = TCPSCOPE_CLOSE_ACTIVE_3WAY;
	sum.facts = TCPSCOPE_F_SEEN_OPEN | TCPSCOPE_F_ESTABLISHED | TCPSCOPE_F_FIN_WAIT1 |
		    TCPSCOPE_F_FIN_WITH_ACK | TCPSCOPE_F_TIME_WAIT;
	v.push_back(SockEvent{sum, {102, 2, 5, 4, 0, 21}, 0});
}

const std::vector<SockEvent> &records()
{
	static const std::vector<SockEvent> v = [] {
		std::vector<SockEvent> r;
		for (unsigned i = 0; i < kConns; i++)
			append_connection(r, i);
		return r;
	}();
	return v;
}

// Runs the watch sink over the records; with a formatter, what it renders goes to buf, which
// is emptied every kBatch records (written to fd when fd >= 0, as the watch loop does).
void run(benchmark::State &state, Formatter *formatter, int fd)
{
	const std::vector<SockEvent> &recs = records();
	const EventFilter filter; // default watch: lifecycle view, no --state or --summary
	fmt::memory_buffer buf;
	size_t i = 0, shown = 0;

	for (auto _ : state) {
		const size_t size =
			has_sock_stats(recs[i].ev.type) ? sizeof(SockEvent) : sizeof(RawEvent);
		const RawEvent *e = decode(&recs[i], size);
		auto s = fold(*e, View::lifecycle);
		if (s && filter.wants(*s)) {
			shown++;
			if (formatter)
				formatter->event(*s, buf);
		}
		if (++i == recs.size())
			i = 0;
		if (i % kBatch == 0) {
			if (fd >= 0 && write(fd, buf.data(), buf.size()) < 0)
				state.SkipWithError("write to /dev/null failed");
			benchmark::DoNotOptimize(buf.data());
			buf.clear();
		}
	}
	benchmark::DoNotOptimize(shown);
	state.SetItemsProcessed(state.iterations());
	state.counters["shown_per_record"] = double(shown) / double(state.iterations());
}

Clock bench_clock()
{
	Clock c;
	c.start_ns = 10342306799150ull;
	return c;
}

void BM_decode_fold(benchmark::State &state)
{
	run(state, nullptr, -1);
}

void BM_decode_fold_json(benchmark::State &state)
{
	auto f = make_formatter(OutputFormat::json, bench_clock());
	run(state, f.get(), -1);
}

void BM_decode_fold_text(benchmark::State &state)
{
	auto f = make_formatter(OutputFormat::text, bench_clock());
	run(state, f.get(), -1);
}

void BM_decode_fold_csv(benchmark::State &state)
{
	auto f = make_formatter(OutputFormat::csv, bench_clock());
	run(state, f.get(), -1);
}

// JSON as `watch --json > /dev/null` pays it: plus one write() per batch.
void BM_decode_fold_json_write(benchmark::State &state)
{
	auto f = make_formatter(OutputFormat::json, bench_clock());
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		state.SkipWithError("failed to open /dev/null");
		return;
	}
	run(state, f.get(), fd);
	close(fd);
}

BENCHMARK(BM_decode_fold);
BENCHMARK(BM_decode_fold_json);
BENCHMARK(BM_decode_fold_text);
BENCHMARK(BM_decode_fold_csv);
BENCHMARK(BM_decode_fold_json_write);

} // namespace
} // namespace tcpscope

BENCHMARK_MAIN();

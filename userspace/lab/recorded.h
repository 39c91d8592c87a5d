// SPDX-License-Identifier: GPL-2.0
// Recorded runs for the lab's unit tests (recorded_runs_testdata.cpp, written by
// tools/lab_record.py) and the trace each one is rebuilt into: its segments as real frames,
// so the decoder is exercised too.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lab/trace.h"

namespace tcpscope::lab::recorded {

struct Seg {
	uint32_t t_us;
	Side from;
	uint8_t flags;
	uint32_t seq, ack, len;
	uint16_t win, sport, dport;
	int fastopen; // 0 none, 1 cookie request, 2 cookie
	uint16_t gso_segs;
	bool dropped;
};

struct Tr {
	uint32_t t_us;
	Side side;
	unsigned old_state, new_state;
	uint16_t sport, dport;
};

struct Cl {
	uint32_t t_us;
	Side side;
	const char *call;
	long ret;
	int err;
};

struct Sn {
	uint32_t t_us;
	Side side;
	unsigned state, timer;
	uint32_t expires_ms;
};

struct Ct {
	Side side;
	const char *name;
	int64_t delta;
};

struct Num {
	const char *name;
	int64_t value;
};

struct Run {
	const char *experiment, *variant, *verdict;
	uint16_t client_port, server_port;
	std::vector<const char *> setup;
	std::vector<Seg> packets;
	std::vector<Tr> transitions;
	std::vector<Cl> calls;
	std::vector<Sn> snapshots;
	std::vector<Ct> counters;
	std::vector<Num> numbers;
};

// Every recorded run, in the order `lab all` ran them (recorded_runs_testdata.cpp).
const std::vector<Run> &runs();

// An Ethernet/IPv4/TCP frame as the tap captures it (headers, then payload within 128
// bytes); fastopen 1 adds a cookie request option, 2 an 8-byte cookie.
inline std::vector<uint8_t> frame(Side from, uint16_t sport, uint16_t dport, uint8_t flags,
				  uint32_t seq, uint32_t ack, uint32_t len, uint16_t win = 0xfaf0,
				  int fastopen = 0)
{
	std::vector<uint8_t> opts;
	if (fastopen == 1)
		opts = {1, 1, 34, 2};
	else if (fastopen == 2)
		opts = {1, 1, 34, 10, 1, 2, 3, 4, 5, 6, 7, 8};
	std::vector<uint8_t> f(14, 0);
	f[12] = 0x08; // IPv4
	const size_t tcp_len = 20 + opts.size();
	const size_t tot = 20 + tcp_len + len;
	const uint8_t c = from == Side::client ? 1 : 2, s = from == Side::client ? 2 : 1;
	const uint8_t ip[20] = {0x45,
				0,
				uint8_t(tot >> 8),
				uint8_t(tot),
				0,
				0,
				0x40,
				0,
				64,
				6,
				0,
				0,
				10,
				77,
				0,
				c,
				10,
				77,
				0,
				s};
	f.insert(f.end(), ip, ip + 20);
	const uint8_t tcp[20] = {uint8_t(sport >> 8),
				 uint8_t(sport),
				 uint8_t(dport >> 8),
				 uint8_t(dport),
				 uint8_t(seq >> 24),
				 uint8_t(seq >> 16),
				 uint8_t(seq >> 8),
				 uint8_t(seq),
				 uint8_t(ack >> 24),
				 uint8_t(ack >> 16),
				 uint8_t(ack >> 8),
				 uint8_t(ack),
				 uint8_t((tcp_len / 4) << 4),
				 flags,
				 uint8_t(win >> 8),
				 uint8_t(win),
				 0,
				 0,
				 0,
				 0};
	f.insert(f.end(), tcp, tcp + 20);
	f.insert(f.end(), opts.begin(), opts.end());
	for (uint32_t i = 0; i < len && f.size() < 128; i++)
		f.push_back('a');
	return f;
}

constexpr uint64_t kT0 = 1000000000ull; // the rebuilt traces' start on the monotonic clock

inline Trace to_trace(const Run &r)
{
	Trace t;
	t.experiment = r.experiment;
	t.variant = r.variant;
	t.t0_ns = kT0;
	t.client_port = r.client_port;
	t.server_port = r.server_port;
	t.client_addr = "10.77.0.1";
	t.server_addr = "10.77.0.2";
	for (const char *s : r.setup)
		t.setup.push_back(s);
	for (const auto &p : r.packets) {
		auto f = frame(p.from, p.sport, p.dport, p.flags, p.seq, p.ack, p.len, p.win,
			       p.fastopen);
		Packet k = *parse_frame(f.data(), f.size());
		k.ts_ns = kT0 + p.t_us * 1000ull;
		k.from = p.from;
		k.dropped = p.dropped;
		k.gso_segs = p.gso_segs;
		k.wire_len = uint32_t(f.size());
		t.packets.push_back(std::move(k));
	}
	for (const auto &x : r.transitions)
		t.transitions.push_back({kT0 + x.t_us * 1000ull, x.side, x.old_state, x.new_state,
					 x.sport, x.dport});
	for (const auto &c : r.calls)
		t.calls.push_back({kT0 + c.t_us * 1000ull, c.side, c.call, c.ret, c.err});
	for (const auto &s : r.snapshots)
		t.snapshots.push_back(
			{kT0 + s.t_us * 1000ull, s.side, s.state, s.timer, s.expires_ms});
	for (const auto &c : r.counters)
		t.counters[c.side == Side::client ? 0 : 1][c.name] = c.delta;
	return t;
}

} // namespace tcpscope::lab::recorded

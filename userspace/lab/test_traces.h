// SPDX-License-Identifier: GPL-2.0
// Recorded traces for the lab's unit tests: real runs on the 6.18 host (`tcpscope lab ...
// --json`), their segments rebuilt as frames so the decoder is exercised too.
#pragma once

#include <netinet/tcp.h>

#include <cstdint>
#include <vector>

#include "lab/trace.h"

namespace tcpscope::lab::testing {

constexpr uint32_t kClientIsn = 1615484665, kServerIsn = 2955813398;

// An Ethernet/IPv4/TCP frame as the tap captures it (headers, then up to `len` payload bytes
// within 128); `opts` are raw TCP options, a multiple of 4 bytes.
inline std::vector<uint8_t> frame(Side from, uint8_t flags, uint32_t seq, uint32_t ack,
				  uint32_t len, std::vector<uint8_t> opts = {})
{
	std::vector<uint8_t> f(14, 0);
	f[12] = 0x08; // IPv4
	const uint16_t sport = from == Side::client ? 58620 : 8080;
	const uint16_t dport = from == Side::client ? 8080 : 58620;
	const size_t tcp_len = 20 + opts.size();
	const size_t tot = 20 + tcp_len + len;
	uint8_t ip[20] = {0x45,
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
			  uint8_t(from == Side::client ? 1 : 2),
			  10,
			  77,
			  0,
			  uint8_t(from == Side::client ? 2 : 1)};
	f.insert(f.end(), ip, ip + 20);
	uint8_t tcp[20] = {uint8_t(sport >> 8),
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
			   0xfa,
			   0xf0,
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

// A segment at t_us after the start, sequence numbers relative to the side's ISN.
inline Packet seg(uint64_t t_us, Side from, uint8_t flags, uint32_t rseq, uint32_t rack,
		  uint32_t len)
{
	const uint32_t mine = from == Side::client ? kClientIsn : kServerIsn;
	const uint32_t theirs = from == Side::client ? kServerIsn : kClientIsn;
	auto f = frame(from, flags, mine + rseq, (flags & kAck) ? theirs + rack : 0, len);
	Packet p = *parse_frame(f.data(), f.size());
	p.ts_ns = 1000000000ull + t_us * 1000;
	p.from = from;
	p.wire_len = uint32_t(14 + 40 + len);
	return p;
}

inline Transition tr(uint64_t t_us, Side side, unsigned o, unsigned n, bool conn = true)
{
	uint16_t sport = side == Side::client ? 58620 : 8080;
	uint16_t dport = conn ? (side == Side::client ? 8080 : 58620) : 0;
	return {1000000000ull + t_us * 1000, side, o, n, sport, dport};
}

inline Trace base(const char *experiment, const char *variant)
{
	Trace t;
	t.experiment = experiment;
	t.variant = variant;
	t.t0_ns = 1000000000ull;
	t.realtime_off_ns = 1700000000ll * 1000000000ll;
	t.client_port = 58620;
	t.server_port = 8080;
	t.client_addr = "10.77.0.1";
	t.server_addr = "10.77.0.2";
	return t;
}

constexpr Side C = Side::client, S = Side::server;

// `lab handshake`, recorded
inline Trace handshake()
{
	Trace t = base("handshake", "default");
	t.packets = {seg(123, C, kSyn, 0, 0, 0), seg(157, S, kSyn | kAck, 0, 1, 0),
		     seg(179, C, kAck, 1, 1, 0)};
	t.transitions = {tr(39, S, TCP_CLOSE, TCP_LISTEN, false),
			 tr(74, C, TCP_CLOSE, TCP_SYN_SENT),
			 tr(175, C, TCP_SYN_SENT, TCP_ESTABLISHED),
			 tr(191, S, TCP_LISTEN, TCP_SYN_RECV, false),
			 tr(199, S, TCP_SYN_RECV, TCP_ESTABLISHED)};
	t.counters[0] = {{"TcpActiveOpens", 1}, {"TcpOutSegs", 2}};
	t.counters[1] = {{"TcpPassiveOpens", 1}, {"TcpOutSegs", 1}};
	return t;
}

// `lab close3` after the handshake and 5 bytes: `late_ms` 0 is the default variant (the
// FIN carries the ACK), otherwise the ACK goes alone that late (quickack: 0.02 ms,
// late-close: the delayed-ACK timer, 42.156 ms).
inline Trace close3(const char *variant)
{
	Trace t = handshake();
	t.experiment = "close3";
	t.variant = variant;
	t.packets.push_back(seg(224, C, kPsh | kAck, 1, 1, 5));
	t.packets.push_back(seg(238, S, kAck, 1, 6, 0));
	t.packets.push_back(seg(259, C, kFin | kAck, 6, 1, 0));
	t.transitions.push_back(tr(258, C, TCP_ESTABLISHED, TCP_FIN_WAIT1));
	t.transitions.push_back(tr(268, S, TCP_ESTABLISHED, TCP_CLOSE_WAIT));
	std::string v = variant;
	uint64_t ack_at = v == "quickack" ? 279 : v == "late-close" ? 42415 : 0;
	uint64_t fin_at = ack_at ? ack_at + 30 : 278;
	if (ack_at) {
		t.packets.push_back(seg(ack_at, S, kAck, 1, 7, 0));
		t.transitions.push_back(tr(ack_at + 10, C, TCP_FIN_WAIT1, TCP_FIN_WAIT2));
	}
	t.transitions.push_back(tr(fin_at - 2, S, TCP_CLOSE_WAIT, TCP_LAST_ACK));
	t.packets.push_back(seg(fin_at, S, kFin | kAck, 1, 7, 0));
	if (!ack_at)
		t.transitions.push_back(tr(fin_at + 9, C, TCP_FIN_WAIT1, TCP_FIN_WAIT2));
	t.packets.push_back(seg(fin_at + 12, C, kAck, 7, 2, 0));
	if (!ack_at) // the late FIN_WAIT2 -> TIME_WAIT of an orphan is not reported here
		t.transitions.push_back(tr(fin_at + 23, C, TCP_FIN_WAIT2, TCP_TIME_WAIT));
	t.transitions.push_back(tr(fin_at + 40, S, TCP_LAST_ACK, TCP_CLOSE));
	if (v == "late-close")
		t.counters[1]["TcpExtDelayedACKs"] = 1;
	t.snapshots.push_back({1000000000ull + (fin_at + 300) * 1000, C, TCP_TIME_WAIT, 3, 60000});
	return t;
}

} // namespace tcpscope::lab::testing

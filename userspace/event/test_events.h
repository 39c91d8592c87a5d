// SPDX-License-Identifier: GPL-2.0
// Hand-built kernel event records shared by the unit tests.
#pragma once

#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string_view>

#include "event/record.h"

namespace tcpscope::test {

constexpr uint32_t kNetns = 4026531840u;

// Fills comm with up to TCPSCOPE_COMM_LEN bytes; NUL-terminated only when shorter.
inline void set_comm(RawEvent &e, std::string_view comm)
{
	const size_t n = comm.size() < sizeof(e.comm) ? comm.size() : sizeof(e.comm);

	std::memset(e.comm, 0, sizeof(e.comm));
	std::memcpy(e.comm, comm.data(), n);
}

// States packed 4 bits each, oldest in the low bits, as the kernel builds TCPSCOPE_EV_CONN.path.
inline uint64_t make_path(std::initializer_list<unsigned> states)
{
	uint64_t path = 0;
	unsigned i = 0;

	for (unsigned s : states)
		path |= uint64_t(s & 0xf) << (4 * i++);
	return path;
}

// 127.0.0.1:5000 -> 127.0.0.2:80, pid 1234 "curl", cgroup 7, SYN_SENT -> ESTABLISHED after
// 1.5 ms, at ts 2.5 s.
inline RawEvent ipv4_event(uint8_t type)
{
	RawEvent e{};

	e.ts_ns = 2500000000ull;
	e.cookie = 42;
	e.dur_ns = 1500999; // 1500.999 us: JSON/CSV truncate to 1500
	e.cgroup = 7;
	e.saddr[0] = 127;
	e.saddr[3] = 1;
	e.daddr[0] = 127;
	e.daddr[3] = 2;
	e.netns = kNetns;
	e.pid = 1234;
	e.sport = 5000;
	e.dport = 80;
	e.family = AF_INET;
	e.type = type;
	e.old_state = TCP_SYN_SENT;
	e.new_state = TCP_ESTABLISHED;
	set_comm(e, "curl");
	return e;
}

// [::1]:5000 -> [::1]:80, otherwise as ipv4_event().
inline RawEvent ipv6_event(uint8_t type)
{
	RawEvent e = ipv4_event(type);

	std::memset(e.saddr, 0, sizeof(e.saddr));
	std::memset(e.daddr, 0, sizeof(e.daddr));
	e.saddr[15] = 1;
	e.daddr[15] = 1;
	e.family = AF_INET6;
	return e;
}

// A record of a type that carries the socket's counters: the event and these counters.
inline SockEvent with_stats(const RawEvent &e)
{
	SockEvent r{};

	r.ev = e;
	r.stats.bytes_acked = 1001;
	r.stats.bytes_received = 11;
	r.stats.segs_out = 7;
	r.stats.segs_in = 6;
	r.stats.total_retrans = 1;
	r.stats.srtt_us = 42;
	return r;
}

// A connection summary: active open, 3WHS, active 4-way close, six states, 60.123456 ms,
// the counters of with_stats().
inline SockEvent conn_event(bool ipv6 = false)
{
	SockEvent r =
		with_stats(ipv6 ? ipv6_event(TCPSCOPE_EV_CONN) : ipv4_event(TCPSCOPE_EV_CONN));
	RawEvent &e = r.ev;

	e.old_state = 0;
	e.new_state = 0;
	e.dur_ns = 0;
	e.lifetime_ns = 60123456;
	e.path = make_path({TCP_SYN_SENT, TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2,
			    TCP_TIME_WAIT, TCP_CLOSE});
	e.path_len = 6;
	e.open = TCPSCOPE_OPEN_ACTIVE;
	e.handshake = TCPSCOPE_HS_3WHS;
	e.close = TCPSCOPE_CLOSE_ACTIVE_4WAY;
	e.facts = TCPSCOPE_F_SEEN_OPEN | TCPSCOPE_F_ESTABLISHED | TCPSCOPE_F_FIN_WAIT1 |
		  TCPSCOPE_F_TIME_WAIT;
	return r;
}

// A socket of the start-up walk (watch --snapshot): ESTABLISHED, no time in it known, inode
// 31337, the counters of with_stats().
inline SockEvent snapshot_event(bool ipv6 = false)
{
	SockEvent r = with_stats(ipv6 ? ipv6_event(TCPSCOPE_EV_SNAPSHOT)
				      : ipv4_event(TCPSCOPE_EV_SNAPSHOT));

	r.ev.old_state = TCP_ESTABLISHED;
	r.ev.new_state = TCP_ESTABLISHED;
	r.ev.dur_ns = 0;
	r.ev.flags = TCPSCOPE_EVF_NO_DUR;
	r.ino = 31337;
	return r;
}

} // namespace tcpscope::test

// SPDX-License-Identifier: GPL-2.0
// What one `tcpscope lab` run recorded, on one clock (CLOCK_MONOTONIC, the BPF programs'
// bpf_ktime_get_ns()): the segments on the veth, both namespaces' state changes, the calls and
// their errno, the counter deltas. Verdicts and renderers are pure functions of it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcpscope::lab {

enum class Side { client, server };

std::string_view side_name(Side s);

// TCP header flag bits (the 13th byte of the header)
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20,
		  kEce = 0x40, kCwr = 0x80;

// One segment as the tap saw it on the client end of the veth.
struct Packet {
	uint64_t ts_ns = 0;
	Side from = Side::client;
	uint8_t flags = 0;
	uint32_t seq = 0; // raw, as on the wire
	uint32_t ack = 0;
	uint32_t len = 0; // TCP payload bytes (IP total length - headers)
	uint16_t win = 0;
	uint16_t sport = 0, dport = 0;
	bool dropped = false;       // a scripted drop: it never reached the other side
	bool fastopen = false;      // carries a Fast Open option (kind 34)
	uint32_t fastopen_len = 0;  // its length: 2 is a cookie request, more carries a cookie
	uint16_t gso_segs = 0;      // >1: a GSO skb, that many segments on a real wire
	uint32_t wire_len = 0;      // frame bytes
	std::vector<uint8_t> frame; // the captured start of the frame (for --pcap)
};

// A TCP state change of a socket in one of the two namespaces (tcpscope's own tracer, in its
// lifecycle view: TIME_WAIT included).
struct Transition {
	uint64_t ts_ns = 0;
	Side side = Side::client;
	unsigned old_state = 0, new_state = 0;
	uint16_t sport = 0, dport = 0;
};

// A socket as sock_diag (ss) showed it: the state the kernel reports for it (a timewait
// socket's substate included), its timer and the time left on it.
struct Snapshot {
	uint64_t ts_ns = 0;
	Side side = Side::client;
	unsigned state = 0;
	unsigned timer = 0; // idiag_timer: 0 none, 1 retransmit, 2 keepalive, 3 TIME_WAIT, 4 probe
	uint32_t expires_ms = 0;
};

// A system call the lab made, its result and errno.
struct Call {
	uint64_t ts_ns = 0;
	Side side = Side::client;
	std::string call; // "connect()", "close()", "recv()"
	long ret = 0;
	int err = 0;
};

using Counters = std::map<std::string, int64_t>; // "TcpExtDelayedACKs" -> value or delta

struct Trace {
	std::string experiment, variant;
	uint64_t t0_ns = 0;          // the run's start: every t_us is relative to it
	int64_t realtime_off_ns = 0; // CLOCK_REALTIME - CLOCK_MONOTONIC (pcap timestamps)
	uint16_t client_port = 0, server_port = 0;
	std::string client_addr, server_addr;
	std::vector<std::string> setup; // sysctls and socket options set, in words
	std::vector<Packet> packets;
	std::vector<Transition> transitions;
	std::vector<Call> calls;
	std::vector<Snapshot> snapshots;
	Counters counters[2];           // deltas, by side; only those that moved
	std::vector<std::string> notes; // degraded tracer features and the like
};

// Decodes a captured Ethernet/IPv4/TCP frame; nullopt when it is not one.
std::optional<Packet> parse_frame(const uint8_t *data, size_t cap_len);

// tcpdump's notation for the flags: "S", "S.", ".", "P.", "F.", "R.", "FP." ...
std::string flag_string(uint8_t flags);

// Sequence numbers relative to each side's ISN (its first SYN's seq), as tcpdump prints them.
struct Relative {
	uint32_t seq = 0, ack = 0;
};
Relative relative(const Trace &t, const Packet &p);
// The ISN of side s on the connection with this client port (0: the first connection).
std::optional<uint32_t> isn(const Trace &t, Side s, uint16_t client_port = 0);
// A packet's client-side port.
inline uint16_t client_port_of(const Packet &p)
{
	return p.from == Side::client ? p.sport : p.dport;
}

// The state path of one side's connection socket: its transitions' new states in order, the
// first one's old state first. The passive child's first event (LISTEN -> SYN_RECV) may carry
// the listener's ports on older kernels, so it is matched by states.
std::vector<unsigned> state_path(const Trace &t, Side s);
std::string path_string(const std::vector<unsigned> &path); // "ESTABLISHED>FIN_WAIT1>..."

// Packets from index `from` on, the first one sent by `side` matching (flags & mask) == value.
std::optional<size_t> find_packet(const Trace &t, Side side, uint8_t mask, uint8_t value,
				  size_t from = 0);
// First transition of `side` into `state` (any socket), by index.
std::optional<size_t> find_transition(const Trace &t, Side side, unsigned state);

int64_t counter(const Trace &t, Side s, const std::string &name);

// The first (or last) call of `side` whose text starts with `prefix` ("bind()").
const Call *find_call(const Trace &t, Side side, std::string_view prefix, bool last = false);
// A setup line's value: setting(t, "client net.ipv4.tcp_fin_timeout") -> "5".
std::optional<std::string> setting(const Trace &t, std::string_view key);
// The segments of the connection whose client port is `port` (both directions), by index.
std::vector<size_t> conn_packets(const Trace &t, uint16_t port);

} // namespace tcpscope::lab

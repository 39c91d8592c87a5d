// SPDX-License-Identifier: GPL-2.0
// Decoding the tap's frames and reading the trace: flags, relative sequence numbers, paths.
#include "lab/trace.h"

#include <netinet/tcp.h>

#include "event/states.h"

namespace tcpscope::lab {

std::string_view side_name(Side s)
{
	return s == Side::client ? "client" : "server";
}

namespace {

uint32_t be32(const uint8_t *p)
{
	return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

uint16_t be16(const uint8_t *p)
{
	return uint16_t(p[0] << 8 | p[1]);
}

} // namespace

std::optional<Packet> parse_frame(const uint8_t *d, size_t cap)
{
	constexpr size_t eth = 14;
	if (cap < eth + 20 || be16(d + 12) != 0x0800)
		return std::nullopt;
	const uint8_t *ip = d + eth;
	size_t ihl = (ip[0] & 0xf) * 4;
	if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 6 || cap < eth + ihl + 20)
		return std::nullopt;
	const uint8_t *tcp = ip + ihl;
	size_t doff = (tcp[12] >> 4) * 4;
	size_t tot = be16(ip + 2);
	if (doff < 20 || tot < ihl + doff)
		return std::nullopt;
	Packet p;
	p.sport = be16(tcp);
	p.dport = be16(tcp + 2);
	p.seq = be32(tcp + 4);
	p.ack = be32(tcp + 8);
	p.flags = tcp[13];
	p.win = be16(tcp + 14);
	p.len = uint32_t(tot - ihl - doff);
	// options, as far as they were captured: the Fast Open one (RFC 7413, kind 34)
	size_t end = std::min(cap, eth + ihl + doff);
	for (size_t o = eth + ihl + 20; o < end;) {
		uint8_t kind = d[o];
		if (kind == 0)
			break;
		if (kind == 1) {
			o++;
			continue;
		}
		if (o + 1 >= end || d[o + 1] < 2)
			break;
		if (kind == 34) {
			p.fastopen = true;
			p.fastopen_len = d[o + 1];
		}
		o += d[o + 1];
	}
	p.frame.assign(d, d + cap);
	return p;
}

std::string flag_string(uint8_t f)
{
	// tcpdump's print-tcp.c order: the header's bits from the lowest, ACK as '.'
	static const struct {
		uint8_t bit;
		char c;
	} order[] = {{kFin, 'F'}, {kSyn, 'S'}, {kRst, 'R'}, {kPsh, 'P'},
		     {kAck, '.'}, {kUrg, 'U'}, {kEce, 'E'}, {kCwr, 'W'}};
	std::string s;
	for (const auto &o : order)
		if (f & o.bit)
			s += o.c;
	return s.empty() ? "none" : s;
}

std::optional<uint32_t> isn(const Trace &t, Side s, uint16_t client_port)
{
	for (const auto &p : t.packets)
		if (p.from == s && (p.flags & kSyn) &&
		    (!client_port || client_port_of(p) == client_port))
			return p.seq;
	return std::nullopt;
}

Relative relative(const Trace &t, const Packet &p)
{
	const Side other = p.from == Side::client ? Side::server : Side::client;
	// the latest SYN of each side on this connection, up to this segment (a port can
	// carry two connections one after the other)
	std::optional<uint32_t> mine, theirs;
	for (const auto &q : t.packets) {
		if (q.ts_ns > p.ts_ns)
			break;
		if (!(q.flags & kSyn) || client_port_of(q) != client_port_of(p))
			continue;
		(q.from == p.from ? mine : theirs) = q.seq;
	}
	(void)other;
	Relative r;
	r.seq = mine ? p.seq - *mine : p.seq;
	if (p.flags & kAck)
		r.ack = theirs ? p.ack - *theirs : p.ack;
	return r;
}

std::vector<unsigned> state_path(const Trace &t, Side s)
{
	const uint16_t mine = s == Side::client ? t.client_port : t.server_port;
	const uint16_t peer = s == Side::client ? t.server_port : t.client_port;
	std::vector<unsigned> path;

	for (const auto &tr : t.transitions) {
		if (tr.side != s)
			continue;
		bool conn = mine && peer && tr.sport == mine && tr.dport == peer;
		bool child = tr.old_state == TCP_LISTEN && tr.new_state == TCP_SYN_RECV;
		if (!conn && !child)
			continue;
		if (path.empty())
			path.push_back(tr.old_state);
		path.push_back(tr.new_state);
	}
	return path;
}

std::string path_string(const std::vector<unsigned> &path)
{
	std::string s;
	for (auto st : path) {
		if (!s.empty())
			s += '>';
		s += state_name(st);
	}
	return s;
}

std::optional<size_t> find_packet(const Trace &t, Side side, uint8_t mask, uint8_t value,
				  size_t from)
{
	for (size_t i = from; i < t.packets.size(); i++)
		if (t.packets[i].from == side && (t.packets[i].flags & mask) == value)
			return i;
	return std::nullopt;
}

std::optional<size_t> find_transition(const Trace &t, Side side, unsigned state)
{
	for (size_t i = 0; i < t.transitions.size(); i++)
		if (t.transitions[i].side == side && t.transitions[i].new_state == state)
			return i;
	return std::nullopt;
}

int64_t counter(const Trace &t, Side s, const std::string &name)
{
	const auto &c = t.counters[s == Side::client ? 0 : 1];
	auto it = c.find(name);
	return it == c.end() ? 0 : it->second;
}

const Call *find_call(const Trace &t, Side side, std::string_view prefix, bool last)
{
	const Call *found = nullptr;
	for (const auto &c : t.calls)
		if (c.side == side && std::string_view(c.call).substr(0, prefix.size()) == prefix) {
			found = &c;
			if (!last)
				break;
		}
	return found;
}

std::optional<std::string> setting(const Trace &t, std::string_view key)
{
	for (const auto &s : t.setup)
		if (s.size() > key.size() && std::string_view(s).substr(0, key.size()) == key &&
		    s[key.size()] == '=')
			return s.substr(key.size() + 1);
	return std::nullopt;
}

std::vector<size_t> conn_packets(const Trace &t, uint16_t port)
{
	std::vector<size_t> v;
	for (size_t i = 0; i < t.packets.size(); i++) {
		const Packet &p = t.packets[i];
		if ((p.from == Side::client ? p.sport : p.dport) == port)
			v.push_back(i);
	}
	return v;
}

} // namespace tcpscope::lab

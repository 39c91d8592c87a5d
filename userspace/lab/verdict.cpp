// SPDX-License-Identifier: GPL-2.0
// One verdict function per experiment. The kernel code behind each expectation is named in
// Documentation/tcpscope/lab.rst.
#include "lab/verdict.h"

#include <netinet/tcp.h>

#include <fmt/format.h>

#include "event/states.h"

namespace tcpscope::lab {

std::string_view verdict_name(VerdictKind k)
{
	switch (k) {
	case VerdictKind::holds:
		return "holds";
	case VerdictKind::does_not_hold:
		return "does_not_hold";
	case VerdictKind::skipped:
		break;
	}
	return "skipped";
}

int64_t Verdict::number(const std::string &name, int64_t dflt) const
{
	for (const auto &[k, v] : numbers)
		if (k == name)
			return v;
	return dflt;
}

namespace {

void fill_paths(const Trace &t, Verdict &v)
{
	for (Side s : {Side::client, Side::server})
		for (auto st : state_path(t, s))
			v.paths[s == Side::client ? 0 : 1].push_back(std::string(state_name(st)));
}

std::string signed_count(int64_t n)
{
	return n >= 0 ? fmt::format("+{}", n) : fmt::format("{}", n);
}

std::string ms(uint64_t ns)
{
	return fmt::format("{:.3f} ms", ns / 1e6);
}

} // namespace

Verdict judge_handshake(const Trace &t)
{
	Verdict v;
	fill_paths(t, v);
	auto syn = find_packet(t, Side::client, kSyn | kAck, kSyn);
	auto synack =
		syn ? find_packet(t, Side::server, kSyn | kAck, kSyn | kAck, *syn) : std::nullopt;
	auto ack = synack ? find_packet(t, Side::client, kSyn | kAck | kFin | kRst, kAck, *synack)
			  : std::nullopt;
	if (!syn || !synack || !ack) {
		v.kind = VerdictKind::does_not_hold;
		v.text = fmt::format("no SYN, SYN-ACK, ACK exchange in the {} segments captured",
				     t.packets.size());
		return v;
	}
	const Packet &a = t.packets[*syn], &b = t.packets[*synack], &c = t.packets[*ack];
	const bool arith = b.ack == a.seq + 1 && c.seq == a.seq + 1 && c.ack == b.seq + 1;
	const int64_t segments = int64_t(*ack - *syn + 1);
	const int64_t active = counter(t, Side::client, "TcpActiveOpens");
	const int64_t passive = counter(t, Side::server, "TcpPassiveOpens");

	// The listener stays LISTEN: the SYN makes a request sock; the child socket is born at
	// the ACK (tcp_check_req -> inet_csk_complete_hashdance), its first event LISTEN->SYN_RECV
	int64_t born_at_ack = -1, syn_recv_after_syn_us = -1;
	for (const auto &tr : t.transitions)
		if (tr.side == Side::server && tr.old_state == TCP_LISTEN &&
		    tr.new_state == TCP_SYN_RECV) {
			born_at_ack = tr.ts_ns >= c.ts_ns;
			syn_recv_after_syn_us = int64_t(tr.ts_ns - a.ts_ns) / 1000;
			break;
		}
	v.numbers = {{"handshake_segments", segments},
		     {"client_isn", a.seq},
		     {"server_isn", b.seq},
		     {"synack_ack_minus_isn", int64_t(b.ack - a.seq)},
		     {"client_active_opens", active},
		     {"server_passive_opens", passive},
		     {"child_born_at_ack", born_at_ack},
		     {"syn_recv_after_syn_us", syn_recv_after_syn_us}};
	const bool holds = segments == 3 && arith && active == 1 && passive == 1;
	v.kind = holds ? VerdictKind::holds : VerdictKind::does_not_hold;
	v.text = fmt::format("{} segments: S seq x, S. ack x+{}, . ack y+{}; ISNs {} and {} (a "
			     "keyed hash of the 4-tuple, not 1); TcpActiveOpens {}, "
			     "TcpPassiveOpens {}",
			     segments, b.ack - a.seq, c.ack - b.seq, a.seq, b.seq,
			     signed_count(active), signed_count(passive));
	if (born_at_ack == 1)
		v.text += fmt::format("; but the listener stayed LISTEN: the server's socket was "
				      "born SYN_RECV at the ACK, {} after the SYN",
				      ms(uint64_t(syn_recv_after_syn_us) * 1000));
	return v;
}

Verdict judge_close3(const Trace &t)
{
	Verdict v;
	fill_paths(t, v);
	auto fin = find_packet(t, Side::client, kFin, kFin);
	if (!fin) {
		v.kind = VerdictKind::does_not_hold;
		v.text = "the client sent no FIN";
		return v;
	}
	const Packet &f = t.packets[*fin];
	const uint32_t fin_end = f.seq + f.len + 1; // the FIN takes one sequence number
	std::optional<size_t> first_ack, server_fin;
	int64_t segments = 0;
	for (size_t i = *fin; i < t.packets.size(); i++) {
		const Packet &p = t.packets[i];
		if (p.dropped)
			continue;
		segments++;
		if (p.from != Side::server)
			continue;
		if (!first_ack && (p.flags & kAck) && p.ack == fin_end)
			first_ack = i;
		if (!server_fin && (p.flags & kFin))
			server_fin = i;
	}
	const int64_t delayed = counter(t, Side::server, "TcpExtDelayedACKs");
	const bool merged = first_ack && server_fin && *first_ack == *server_fin;
	const int64_t gap_us =
		first_ack ? int64_t(t.packets[*first_ack].ts_ns - f.ts_ns) / 1000 : -1;
	const int64_t fin_gap_us =
		server_fin ? int64_t(t.packets[*server_fin].ts_ns - f.ts_ns) / 1000 : -1;
	v.numbers = {{"close_segments", segments},
		     {"fin_carried_ack", merged},
		     {"server_delayed_acks", delayed},
		     {"ack_after_fin_us", gap_us},
		     {"server_fin_after_fin_us", fin_gap_us}};
	v.kind = segments == 3 && merged ? VerdictKind::holds : VerdictKind::does_not_hold;
	std::string shape;
	for (size_t i = *fin; i < t.packets.size(); i++)
		if (!t.packets[i].dropped)
			shape += (shape.empty() ? "" : ", ") + flag_string(t.packets[i].flags);
	v.text = fmt::format("{} segments ({}), server TcpExtDelayedACKs {}", segments, shape,
			     signed_count(delayed));
	if (merged)
		v.text += fmt::format(": close() won the race with the delayed-ACK timer, its FIN "
				      "carried the ACK {} after the client's FIN",
				      ms(uint64_t(gap_us) * 1000));
	else if (first_ack && delayed > 0)
		v.text += fmt::format(": the delayed-ACK timer won, the ACK went alone {} after "
				      "the client's FIN, the server's FIN {} after it",
				      ms(uint64_t(gap_us) * 1000), ms(uint64_t(fin_gap_us) * 1000));
	else if (first_ack)
		v.text += fmt::format(": the ACK went at once, alone ({} after the client's FIN), "
				      "no delayed ACK",
				      ms(uint64_t(gap_us) * 1000));
	return v;
}

Verdict judge(const Trace &t)
{
	if (t.experiment == "handshake")
		return judge_handshake(t);
	if (t.experiment == "close3")
		return judge_close3(t);
	Verdict v;
	v.reason = "no verdict for experiment '" + t.experiment + "'";
	return v;
}

} // namespace tcpscope::lab

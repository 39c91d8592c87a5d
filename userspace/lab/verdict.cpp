// SPDX-License-Identifier: GPL-2.0
// One verdict function per experiment. The kernel code behind each expectation is named in
// Documentation/tcpscope/lab.rst.
#include "lab/verdict.h"

#include <netinet/tcp.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

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

namespace {

const Transition *find_tr(const Trace &t, Side side, unsigned old_state, unsigned new_state)
{
	for (const auto &x : t.transitions)
		if (x.side == side && x.old_state == old_state && x.new_state == new_state)
			return &x;
	return nullptr;
}

const Snapshot *find_snapshot(const Trace &t, Side side, unsigned state)
{
	for (const auto &x : t.snapshots)
		if (x.side == side && x.state == state)
			return &x;
	return nullptr;
}

std::string errno_text(const Call *c)
{
	if (!c)
		return "not called";
	if (c->ret >= 0)
		return fmt::format("{}", c->ret);
	const char *n = strerrorname_np(c->err);
	return fmt::format("-1 {}", n ? n : "?");
}

int64_t as_int(const std::optional<std::string> &s, int64_t dflt)
{
	if (!s)
		return dflt;
	try {
		return std::stoll(*s);
	} catch (...) {
		return dflt;
	}
}

bool in_path(const Verdict &v, Side s, std::string_view state)
{
	for (const auto &x : v.paths[s == Side::client ? 0 : 1])
		if (x == state)
			return true;
	return false;
}

} // namespace

Verdict judge_timewait(const Trace &t)
{
	Verdict v;
	fill_paths(t, v);
	const int64_t fin_timeout = as_int(setting(t, "client net.ipv4.tcp_fin_timeout"), 60);
	const Snapshot *sn = find_snapshot(t, Side::client, TCP_TIME_WAIT);
	// entered at the tracer's transition, or else at the last segment the client got
	uint64_t entry = 0;
	for (const auto &x : t.transitions)
		if (x.side == Side::client && x.new_state == TCP_TIME_WAIT) {
			entry = x.ts_ns;
			break;
		}
	if (!entry)
		for (const auto &p : t.packets)
			if (p.from == Side::server && (p.flags & kFin))
				entry = p.ts_ns;
	if (!sn || !entry) {
		v.kind = VerdictKind::does_not_hold;
		v.text = "the client's socket never showed TIME_WAIT";
		return v;
	}
	const int64_t timer_ms = int64_t(sn->expires_ms) + int64_t(sn->ts_ns - entry) / 1000000;
	const Transition *leave = find_tr(t, Side::client, TCP_TIME_WAIT, TCP_CLOSE);
	const int64_t lasted_ms = leave ? int64_t(leave->ts_ns - entry) / 1000000 : -1;
	const int64_t tw = counter(t, Side::client, "TcpExtTW");
	v.numbers = {{"fin_timeout_s", fin_timeout},
		     {"timewait_timer_ms", timer_ms},
		     {"timewait_s", (timer_ms + 500) / 1000},
		     {"timewait_lasted_ms", lasted_ms},
		     {"client_tw", tw}};
	// the claim: 2MSL = 240 s, or twice tcp_fin_timeout; within a second either way
	const bool holds = std::abs(timer_ms - 240000) < 1000 ||
			   std::abs(timer_ms - 2000 * fin_timeout) < 1000;
	v.kind = holds ? VerdictKind::holds : VerdictKind::does_not_hold;
	v.text = fmt::format("TIME_WAIT timer {:.3f} s with tcp_fin_timeout={} (sock_diag "
			     "{:.3f} ms after entry: {:.3f} s left), not 2MSL = 240 s nor 2 x "
			     "tcp_fin_timeout = {} s; TcpExtTW {}",
			     timer_ms / 1000.0, fin_timeout, (sn->ts_ns - entry) / 1e6,
			     sn->expires_ms / 1000.0, 2 * fin_timeout, signed_count(tw));
	if (leave)
		v.text += fmt::format("; it ended {:.3f} s after entry", lasted_ms / 1000.0);
	return v;
}

Verdict judge_fin_timeout(const Trace &t)
{
	Verdict v;
	fill_paths(t, v);
	const int64_t fin_timeout = as_int(setting(t, "client net.ipv4.tcp_fin_timeout"), 60);
	const Snapshot *sn = find_snapshot(t, Side::client, TCP_FIN_WAIT2);
	const Transition *in = find_tr(t, Side::client, TCP_FIN_WAIT1, TCP_FIN_WAIT2);
	// its end by its own timer, not by the reset the server's late write drew
	const Call *late_send = find_call(t, Side::server, "send(5)");
	const Transition *out = find_tr(t, Side::client, TCP_FIN_WAIT2, TCP_CLOSE);
	if (out && late_send && out->ts_ns > late_send->ts_ns)
		out = nullptr;
	const int64_t timer_ms =
		sn && in ? int64_t(sn->expires_ms) + int64_t(sn->ts_ns - in->ts_ns) / 1000000 : -1;
	const int64_t lasted_ms = in && out ? int64_t(out->ts_ns - in->ts_ns) / 1000000 : -1;
	const bool time_wait = in_path(v, Side::client, "TIME_WAIT");
	const auto rst = find_packet(t, Side::client, kRst, kRst);
	const Call *late = find_call(t, Side::server, "send(5) again");
	const bool close_wait_until_rst = !find_tr(t, Side::server, TCP_CLOSE_WAIT, TCP_LAST_ACK) &&
					  find_tr(t, Side::server, TCP_CLOSE_WAIT, TCP_CLOSE);
	v.numbers = {{"fin_timeout_s", fin_timeout},
		     {"fin_wait2_timer_ms", timer_ms},
		     {"fin_wait2_lasted_ms", lasted_ms},
		     {"client_time_wait", time_wait},
		     {"server_close_wait_until_rst", close_wait_until_rst},
		     {"client_rsts", int64_t(rst.has_value())},
		     {"client_tw", counter(t, Side::client, "TcpExtTW")},
		     {"client_tw_killed", counter(t, Side::client, "TcpExtTWKilled")},
		     {"server_estab_resets", counter(t, Side::server, "TcpEstabResets")}};
	// the claim: tcp_fin_timeout is the MSL, i.e. sets TIME_WAIT
	v.kind = time_wait ? VerdictKind::holds : VerdictKind::does_not_hold;
	v.text = fmt::format("tcp_fin_timeout={} timed the orphaned FIN_WAIT2 ({})", fin_timeout,
			     timer_ms >= 0 ? fmt::format("timer {:.3f} s", timer_ms / 1000.0)
					   : std::string("no timer seen"));
	if (lasted_ms >= 0)
		v.text += fmt::format(", which ended after {:.3f} s", lasted_ms / 1000.0);
	v.text += time_wait ? "; the client went through TIME_WAIT"
			    : "; the client never entered TIME_WAIT";
	if (close_wait_until_rst)
		v.text += fmt::format("; the server stayed CLOSE_WAIT until its late write drew "
				      "the client's R (the next send() = {}, TcpEstabResets {})",
				      errno_text(late),
				      signed_count(counter(t, Side::server, "TcpEstabResets")));
	return v;
}

Verdict judge_reuseaddr(const Trace &t)
{
	Verdict v;
	fill_paths(t, v);
	// SO_REUSEADDR set before the first bind() (the old listener) and before the last one
	const Call *first = find_call(t, Side::server, "bind()");
	const Call *last = find_call(t, Side::server, "bind()", true);
	bool old_flag = false, new_flag = false;
	for (const auto &c : t.calls)
		if (c.side == Side::server && c.call.rfind("setsockopt(SO_REUSEADDR", 0) == 0) {
			if (first && c.ts_ns < first->ts_ns)
				old_flag = true;
			else if (last && c.ts_ns < last->ts_ns)
				new_flag = true;
		}
	const Snapshot *tw = find_snapshot(t, Side::server, TCP_TIME_WAIT);
	if (!last || last == first || !tw) {
		v.kind = VerdictKind::does_not_hold;
		v.text = "no second bind() during the server's TIME_WAIT";
		return v;
	}
	const int err = last->ret < 0 ? last->err : 0;
	v.numbers = {{"old_reuseaddr", old_flag},
		     {"new_reuseaddr", new_flag},
		     {"bind_errno", err},
		     {"server_timewait_left_ms", tw->expires_ms}};
	// the article: the restart fails, and SO_REUSEADDR on the new socket fixes it
	const bool predicted_ok = new_flag;
	v.kind = predicted_ok == (err == 0) ? VerdictKind::holds : VerdictKind::does_not_hold;
	v.text = fmt::format("bind() of the port held by the server's TIME_WAIT ({:.1f} s left) "
			     "(SO_REUSEADDR: old socket {}, new socket {}): {}",
			     tw->expires_ms / 1000.0, old_flag ? "on" : "off",
			     new_flag ? "on" : "off", errno_text(last));
	if (new_flag && !old_flag && err)
		v.text += ": the timewait socket keeps the old socket's flag, both need it";
	return v;
}

Verdict judge_tw_reuse(const Trace &t)
{
	Verdict v;
	fill_paths(t, v);
	const Call *again = find_call(t, Side::client, "connect() again");
	const Snapshot *tw = find_snapshot(t, Side::client, TCP_TIME_WAIT);
	if (!again || !tw) {
		v.kind = VerdictKind::does_not_hold;
		v.text = "no second connect() during the client's TIME_WAIT";
		return v;
	}
	const int err = again->ret < 0 && again->err != EINPROGRESS ? again->err : 0;
	uint64_t last = 0;
	for (const auto &p : t.packets)
		if (p.from == Side::server && p.ts_ns < again->ts_ns)
			last = p.ts_ns;
	const int64_t recycled = counter(t, Side::client, "TcpExtTWRecycled");
	v.numbers = {{"tw_reuse", as_int(setting(t, "client net.ipv4.tcp_tw_reuse"), 2)},
		     {"timestamps", as_int(setting(t, "client net.ipv4.tcp_timestamps"), 1)},
		     {"reconnect_errno", err},
		     {"reconnect_after_ms", int64_t(again->ts_ns - last) / 1000000},
		     {"client_tw_recycled", recycled}};
	// the claim: the port stays taken until TIME_WAIT ends
	v.kind = err ? VerdictKind::holds : VerdictKind::does_not_hold;
	v.text = fmt::format("connect() from the port held by the client's TIME_WAIT, {:.3f} s "
			     "after its last segment in: {}; TcpExtTWRecycled {}",
			     (again->ts_ns - last) / 1e9,
			     err ? errno_text(again) : std::string("it connected"),
			     signed_count(recycled));
	return v;
}

Verdict judge_lastack(const Trace &t)
{
	Verdict v;
	fill_paths(t, v);
	std::vector<size_t> fins;
	for (size_t i = 0; i < t.packets.size(); i++)
		if (t.packets[i].from == Side::server && (t.packets[i].flags & kFin))
			fins.push_back(i);
	auto dropped = std::find_if(t.packets.begin(), t.packets.end(),
				    [](const Packet &p) { return p.dropped; });
	if (fins.size() < 2 || dropped == t.packets.end()) {
		v.kind = VerdictKind::does_not_hold;
		v.text = fmt::format("{} FIN(s) from the server, {} dropped ACK", fins.size(),
				     dropped == t.packets.end() ? "no" : "a");
		return v;
	}
	const Packet &f1 = t.packets[fins[0]], &f2 = t.packets[fins[1]];
	std::optional<size_t> reply;
	for (size_t i = fins[1] + 1; i < t.packets.size(); i++)
		if (t.packets[i].from == Side::client) {
			reply = i;
			break;
		}
	const bool rst = reply && (t.packets[*reply].flags & kRst);
	const Snapshot *sn = find_snapshot(t, Side::client, TCP_TIME_WAIT);
	// the timer as it would stand if restarted at the retransmitted FIN
	const int64_t from_refin_ms =
		sn ? int64_t(sn->expires_ms) + int64_t(sn->ts_ns - f2.ts_ns) / 1000000 : -1;
	const int64_t from_first_ms =
		sn ? int64_t(sn->expires_ms) + int64_t(sn->ts_ns - f1.ts_ns) / 1000000 : -1;
	v.numbers = {{"fin_retransmitted_after_ms", int64_t(f2.ts_ns - f1.ts_ns) / 1000000},
		     {"same_seq", f1.seq == f2.seq},
		     {"reply_is_rst", rst},
		     {"timer_from_refin_ms", from_refin_ms},
		     {"timer_from_first_fin_ms", from_first_ms},
		     {"server_retrans_segs", counter(t, Side::server, "TcpRetransSegs")},
		     {"server_loss_probes", counter(t, Side::server, "TcpExtTCPLossProbes")},
		     {"client_tw_overflow", counter(t, Side::client, "TcpExtTCPTimeWaitOverflow")}};
	// restarted: the timer matches 60 s from the second FIN better than from the first
	const bool restarted =
		sn && std::abs(from_refin_ms - 60000) < std::abs(from_first_ms - 60000);
	v.kind = reply && !rst && restarted ? VerdictKind::holds : VerdictKind::does_not_hold;
	const int64_t tlp = counter(t, Side::server, "TcpExtTCPLossProbes");
	v.text = fmt::format(
		"the last ACK dropped, the server sent its FIN again {:.3f} ms "
		"later ({}, not after an MSL; TcpRetransSegs {}); the client answered "
		"{}",
		(f2.ts_ns - f1.ts_ns) / 1e6,
		tlp ? fmt::format("a tail loss probe, TcpExtTCPLossProbes {}", signed_count(tlp))
		    : std::string("its retransmission timeout"),
		signed_count(counter(t, Side::server, "TcpRetransSegs")),
		reply ? flag_string(t.packets[*reply].flags) : std::string("nothing"));
	if (sn)
		v.text += fmt::format(" and its TIME_WAIT timer restarted: {:.3f} s from the "
				      "retransmitted FIN",
				      from_refin_ms / 1000.0);
	if (rst)
		v.text += fmt::format(
			": it had no TIME_WAIT socket "
			"(TcpExtTCPTimeWaitOverflow {})",
			signed_count(counter(t, Side::client, "TcpExtTCPTimeWaitOverflow")));
	return v;
}

Verdict judge_keepalive(const Trace &t)
{
	Verdict v;
	fill_paths(t, v);
	const auto c_isn = isn(t, Side::client, t.client_port);
	std::vector<const Packet *> probes;
	int64_t answered = 0;
	for (const auto &p : t.packets) {
		if (c_isn && p.from == Side::client && p.flags == kAck && !p.len && p.seq == *c_isn)
			probes.push_back(&p);
		else if (!probes.empty() && p.from == Side::server && !p.dropped &&
			 p.ts_ns > probes.back()->ts_ns)
			answered++;
	}
	const auto rst = find_packet(t, Side::client, kRst, kRst);
	const Call *err = find_call(t, Side::client, "recv()", true);
	const int64_t counted = counter(t, Side::client, "TcpExtTCPKeepAlive");
	const int64_t cnt = 3;
	uint64_t est = 0;
	for (const auto &x : t.transitions)
		if (x.side == Side::client && x.new_state == TCP_ESTABLISHED)
			est = x.ts_ns;
	v.numbers = {
		{"probes", int64_t(probes.size())},
		{"probes_answered", answered},
		{"client_keepalive_counter", counted},
		{"first_probe_after_ms",
		 probes.empty() ? -1 : int64_t(probes[0]->ts_ns - est) / 1000000},
		{"probe_interval_ms",
		 probes.size() < 2 ? -1 : int64_t(probes[1]->ts_ns - probes[0]->ts_ns) / 1000000},
		{"client_rst", rst.has_value()},
		{"client_abort_on_timeout", counter(t, Side::client, "TcpExtTCPAbortOnTimeout")},
		{"netns_keepalive_time_s",
		 as_int(setting(t, "client net.ipv4.tcp_keepalive_time"), -1)},
		{"netns_keepalive_probes",
		 as_int(setting(t, "client net.ipv4.tcp_keepalive_probes"), -1)}};
	// the claim: a silent peer is probed and then dropped
	const bool dropped = rst && int64_t(probes.size()) == cnt && counted == cnt && err &&
			     err->ret < 0 && err->err == ETIMEDOUT;
	v.kind = dropped ? VerdictKind::holds : VerdictKind::does_not_hold;
	if (rst)
		v.text = fmt::format(
			"{} probes (TcpExtTCPKeepAlive {}), none answered, then R. "
			"and recv() = {}; TcpExtTCPAbortOnTimeout {}",
			probes.size(), signed_count(counted), errno_text(err),
			signed_count(counter(t, Side::client, "TcpExtTCPAbortOnTimeout")));
	else
		v.text = fmt::format("{} probe(s) (TcpExtTCPKeepAlive {}), {} answered by the "
				     "server's kernel though its application stayed silent: the "
				     "connection lives on",
				     probes.size(), signed_count(counted), answered);
	v.text += fmt::format("; the namespace's defaults are {} s idle, {} s apart, {} probes "
			      "(not 10)",
			      v.number("netns_keepalive_time_s"),
			      as_int(setting(t, "client net.ipv4.tcp_keepalive_intvl"), -1),
			      v.number("netns_keepalive_probes"));
	return v;
}

Verdict judge_rst_close(const Trace &t)
{
	Verdict v;
	fill_paths(t, v);
	const Call *cl = find_call(t, Side::client, "close()");
	std::optional<size_t> first;
	for (size_t i = 0; cl && i < t.packets.size(); i++)
		if (t.packets[i].from == Side::client && t.packets[i].ts_ns >= cl->ts_ns) {
			first = i;
			break;
		}
	const Call *srecv = find_call(t, Side::server, "recv()", true);
	const bool fin = first && (t.packets[*first].flags & kFin);
	v.numbers = {{"client_fin", fin},
		     {"client_rst", first && (t.packets[*first].flags & kRst)},
		     {"client_abort_on_close", counter(t, Side::client, "TcpExtTCPAbortOnClose")},
		     {"client_abort_on_data", counter(t, Side::client, "TcpExtTCPAbortOnData")},
		     {"server_errno", srecv && srecv->ret < 0 ? srecv->err : 0}};
	v.kind = fin ? VerdictKind::holds : VerdictKind::does_not_hold;
	v.text = fmt::format("close() sent {}; TcpExtTCPAbortOnClose {}, TcpExtTCPAbortOnData {}; "
			     "the server's recv() = {}",
			     first ? flag_string(t.packets[*first].flags) : std::string("nothing"),
			     signed_count(v.number("client_abort_on_close")),
			     signed_count(v.number("client_abort_on_data")), errno_text(srecv));
	return v;
}

Verdict judge_half_close(const Trace &t)
{
	Verdict v;
	fill_paths(t, v);
	int64_t read = 0;
	for (const auto &c : t.calls)
		if (c.side == Side::client && c.call == "recv()" && c.ret > 0)
			read += c.ret;
	const auto rst = find_packet(t, Side::client, kRst, kRst);
	const Call *srecv = find_call(t, Side::server, "send(5) again");
	const bool shut = find_call(t, Side::client, "shutdown(") != nullptr;
	// the server's delayed ACK of the FIN against its application's send(): alone and
	// first, the client is already a FIN_WAIT2 timewait socket when the data comes
	// (tcp_timewait_state_process(): TCP_TW_RST, no counter); carried by the data, the
	// full socket resets in FIN_WAIT1 (tcp_rcv_state_process(): TcpExtTCPAbortOnData)
	int64_t acked_first = 0;
	if (auto fin = find_packet(t, Side::client, kFin, kFin)) {
		const uint32_t fin_end = t.packets[*fin].seq + t.packets[*fin].len + 1;
		for (size_t i = *fin; i < t.packets.size(); i++) {
			const Packet &p = t.packets[i];
			if (p.from != Side::server)
				continue;
			if (p.len) // the data came first, or with the ACK
				break;
			if ((p.flags & kAck) && p.ack == fin_end) {
				acked_first = 1;
				break;
			}
		}
	}
	v.numbers = {{"client_bytes_read", read},
		     {"client_rst", rst.has_value()},
		     {"fin_acked_before_data", acked_first},
		     {"client_abort_on_data", counter(t, Side::client, "TcpExtTCPAbortOnData")},
		     {"server_errno", srecv && srecv->ret < 0 ? srecv->err : 0}};
	v.kind = read == 4096 && !rst ? VerdictKind::holds : VerdictKind::does_not_hold;
	if (rst)
		v.text =
			fmt::format("after {} the client answered the server's data with R. "
				    "(TcpExtTCPAbortOnData {}: {}); the server's next send() = {}",
				    shut ? "shutdown(SHUT_WR)" : "close()",
				    signed_count(v.number("client_abort_on_data")),
				    acked_first ? "the server's delayed ACK of the FIN went first, "
						  "the client was a FIN_WAIT2 timewait socket"
						: "the data carried the ACK of the FIN, the client "
						  "was still in FIN_WAIT1",
				    errno_text(srecv));
	else
		v.text = fmt::format("after {} the client read the server's {} bytes",
				     shut ? "shutdown(SHUT_WR)" : "close()", read);
	return v;
}

Verdict judge_fastopen(const Trace &t)
{
	Verdict v;
	fill_paths(t, v);
	const Call *tfo = find_call(t, Side::client, "sendto(");
	if (tfo && tfo->ret < 0 && tfo->err != EINPROGRESS) {
		v.kind = VerdictKind::does_not_hold;
		v.numbers = {{"sendto_errno", tfo->err}};
		v.text = fmt::format("sendto(MSG_FASTOPEN) = {}: client Fast Open is off "
				     "(tcp_fastopen bit 0x1)",
				     errno_text(tfo));
		return v;
	}
	// the last connection: the one that may carry data in its SYN
	auto pk = conn_packets(t, t.client_port);
	const Packet *syn = nullptr, *synack = nullptr;
	int64_t segments = 0;
	for (size_t i : pk) {
		const Packet &p = t.packets[i];
		if (!syn && p.from == Side::client && (p.flags & kSyn))
			syn = &p;
		else if (syn && !synack && p.from == Side::server && (p.flags & kSyn))
			synack = &p;
		if (syn)
			segments++;
		if (synack && p.from == Side::client && !(p.flags & kSyn))
			break;
	}
	int64_t cookie_reqs = 0, cookies = 0;
	for (const auto &p : t.packets)
		if (p.flags & kSyn && p.fastopen) {
			if (p.from == Side::client && p.fastopen_len == 2)
				cookie_reqs++;
			if (p.from == Side::server && p.fastopen_len > 2)
				cookies++;
		}
	if (!syn || !synack) {
		v.kind = VerdictKind::does_not_hold;
		v.text = "no complete handshake captured";
		return v;
	}
	v.numbers = {
		{"syn_payload", syn->len},
		{"synack_ack_minus_isn", int64_t(synack->ack - syn->seq)},
		{"handshake_segments", segments},
		{"cookie_requests", cookie_reqs},
		{"cookies_sent", cookies},
		{"server_cookie_reqd", counter(t, Side::server, "TcpExtTCPFastOpenCookieReqd")},
		{"server_passive", counter(t, Side::server, "TcpExtTCPFastOpenPassive")},
		{"client_active", counter(t, Side::client, "TcpExtTCPFastOpenActive")}};
	// the claim: a two-way handshake, data in the SYN and no third segment
	v.kind = syn->len > 0 && segments == 2 ? VerdictKind::holds : VerdictKind::does_not_hold;
	if (syn->len)
		v.text = fmt::format("the second connection's SYN carried {} bytes and the SYN-ACK "
				     "acknowledged ISN+{} (one round trip saved), but the "
				     "handshake still took {} segments",
				     syn->len, synack->ack - syn->seq, segments);
	else
		v.text = fmt::format("no data in the SYN: {} cookie request(s), {} cookie(s) "
				     "given, the data went after a {}-segment handshake",
				     cookie_reqs, cookies, segments);
	v.text += fmt::format("; server TcpExtTCPFastOpenCookieReqd {}, TcpExtTCPFastOpenPassive "
			      "{}, client TcpExtTCPFastOpenActive {}",
			      signed_count(v.number("server_cookie_reqd")),
			      signed_count(v.number("server_passive")),
			      signed_count(v.number("client_active")));
	return v;
}

Verdict judge_simultaneous(const Trace &t)
{
	Verdict v;
	fill_paths(t, v);
	// the opening: from the first SYN that crossed to the last SYN-ACK
	int64_t open_segments = 0, syns = 0, synacks = 0;
	bool crossed = false; // both SYNs crossed c0 before any SYN-ACK
	for (const auto &p : t.packets) {
		if (p.dropped || !(p.flags & kSyn))
			continue;
		open_segments++;
		if (p.flags & kAck)
			synacks++;
		else if (!synacks && ++syns == 2)
			crossed = true;
	}
	auto both = [&](std::string_view st) {
		return in_path(v, Side::client, st) && in_path(v, Side::server, st);
	};
	v.numbers = {{"syns_crossed", crossed},
		     {"open_segments", open_segments},
		     {"both_syn_recv", both("SYN_RECV")},
		     {"both_closing", both("CLOSING")},
		     {"both_time_wait", find_snapshot(t, Side::client, TCP_TIME_WAIT) &&
						find_snapshot(t, Side::server, TCP_TIME_WAIT)}};
	const bool holds = crossed && open_segments == 4 && both("SYN_RECV") && both("CLOSING");
	v.kind = holds ? VerdictKind::holds : VerdictKind::does_not_hold;
	v.text = fmt::format("the SYNs {} ({} SYN and SYN-ACK segments); client {}, server {}",
			     crossed ? "crossed" : "did not cross", open_segments,
			     path_string(state_path(t, Side::client)),
			     path_string(state_path(t, Side::server)));
	return v;
}

Verdict judge(const Trace &t)
{
	static const std::pair<const char *, Verdict (*)(const Trace &)> judges[] = {
		{"handshake", judge_handshake}, {"close3", judge_close3},
		{"timewait", judge_timewait},   {"fin-timeout", judge_fin_timeout},
		{"reuseaddr", judge_reuseaddr}, {"tw-reuse", judge_tw_reuse},
		{"lastack", judge_lastack},     {"keepalive", judge_keepalive},
		{"rst-close", judge_rst_close}, {"half-close", judge_half_close},
		{"fastopen", judge_fastopen},   {"simultaneous", judge_simultaneous},
	};
	for (const auto &[n, j] : judges)
		if (t.experiment == n)
			return j(t);
	Verdict v;
	v.reason = "no verdict for experiment '" + t.experiment + "'";
	return v;
}

} // namespace tcpscope::lab

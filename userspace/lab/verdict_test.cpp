// SPDX-License-Identifier: GPL-2.0
// The lab's verdicts from recorded traces, and the trace readers under them: exact outcomes.
#include <gtest/gtest.h>

#include "lab/catalog.h"
#include "lab/test_traces.h"
#include "lab/topology.h"
#include "lab/verdict.h"

namespace tcpscope::lab {
namespace {

using namespace testing;

TEST(LabTrace, FlagsInTcpdumpNotation)
{
	EXPECT_EQ(flag_string(kSyn), "S");
	EXPECT_EQ(flag_string(kSyn | kAck), "S.");
	EXPECT_EQ(flag_string(kAck), ".");
	EXPECT_EQ(flag_string(kPsh | kAck), "P.");
	EXPECT_EQ(flag_string(kFin | kAck), "F.");
	EXPECT_EQ(flag_string(kFin | kPsh | kAck), "FP.");
	EXPECT_EQ(flag_string(kRst | kAck), "R.");
	EXPECT_EQ(flag_string(kRst), "R");
	EXPECT_EQ(flag_string(kSyn | kEce | kCwr), "SEW");
	EXPECT_EQ(flag_string(0), "none");
}

TEST(LabTrace, ParsesFrames)
{
	// a SYN with a Fast Open cookie request (kind 34, length 2) padded with NOPs
	auto f = frame(Side::client, kSyn, 100, 0, 5, {1, 1, 34, 2});
	auto p = parse_frame(f.data(), f.size());
	ASSERT_TRUE(p);
	EXPECT_EQ(p->sport, 58620);
	EXPECT_EQ(p->dport, 8080);
	EXPECT_EQ(p->seq, 100u);
	EXPECT_EQ(p->flags, kSyn);
	EXPECT_EQ(p->len, 5u);
	EXPECT_TRUE(p->fastopen);
	EXPECT_EQ(p->fastopen_len, 2u);
	EXPECT_EQ(p->frame.size(), f.size());

	f[12] = 0x86; // not IPv4
	EXPECT_FALSE(parse_frame(f.data(), f.size()));
	f = frame(Side::client, kSyn, 100, 0, 0);
	EXPECT_FALSE(parse_frame(f.data(), 40)); // headers cut
	f[14 + 9] = 17;                          // UDP
	EXPECT_FALSE(parse_frame(f.data(), f.size()));
}

TEST(LabTrace, RelativeSequenceNumbersAndPaths)
{
	Trace t = close3("default");
	ASSERT_EQ(isn(t, Side::client), kClientIsn);
	ASSERT_EQ(isn(t, Side::server), kServerIsn);
	Relative r = relative(t, t.packets[4]); // the server's ACK of the 5 bytes
	EXPECT_EQ(r.seq, 1u);
	EXPECT_EQ(r.ack, 6u);
	r = relative(t, t.packets[0]); // a SYN has no ack
	EXPECT_EQ(r.ack, 0u);
	EXPECT_EQ(path_string(state_path(t, Side::client)),
		  "CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>TIME_WAIT");
	// the listener's own CLOSE -> LISTEN is not the connection's
	EXPECT_EQ(path_string(state_path(t, Side::server)),
		  "LISTEN>SYN_RECV>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSE");
}

TEST(LabVerdict, Handshake)
{
	Verdict v = judge(handshake());
	EXPECT_EQ(v.kind, VerdictKind::holds);
	EXPECT_EQ(v.number("handshake_segments"), 3);
	EXPECT_EQ(v.number("client_isn"), int64_t(kClientIsn));
	EXPECT_EQ(v.number("server_isn"), int64_t(kServerIsn));
	EXPECT_EQ(v.number("synack_ack_minus_isn"), 1);
	EXPECT_EQ(v.number("client_active_opens"), 1);
	EXPECT_EQ(v.number("server_passive_opens"), 1);
	EXPECT_EQ(v.number("child_born_at_ack"), 1);
	EXPECT_EQ(v.number("syn_recv_after_syn_us"), 68);
	EXPECT_EQ(v.text, "3 segments: S seq x, S. ack x+1, . ack y+1; ISNs 1615484665 and "
			  "2955813398 (a keyed hash of the 4-tuple, not 1); TcpActiveOpens +1, "
			  "TcpPassiveOpens +1; but the listener stayed LISTEN: the server's socket "
			  "was born SYN_RECV at the ACK, 0.068 ms after the SYN");
	EXPECT_EQ(v.paths[1], (std::vector<std::string>{"LISTEN", "SYN_RECV", "ESTABLISHED"}));
}

TEST(LabVerdict, HandshakeBrokenArithmeticDoesNotHold)
{
	Trace t = handshake();
	t.packets[1] = seg(157, S, kSyn | kAck, 0, 2, 0); // SYN-ACK acks x+2
	Verdict v = judge(t);
	EXPECT_EQ(v.kind, VerdictKind::does_not_hold);
	EXPECT_EQ(v.number("synack_ack_minus_isn"), 2);

	t = handshake();
	t.packets.pop_back(); // no third segment
	v = judge(t);
	EXPECT_EQ(v.kind, VerdictKind::does_not_hold);
	EXPECT_EQ(v.text, "no SYN, SYN-ACK, ACK exchange in the 2 segments captured");
}

TEST(LabVerdict, Close3Default)
{
	Verdict v = judge(close3("default"));
	EXPECT_EQ(v.kind, VerdictKind::holds);
	EXPECT_EQ(v.number("close_segments"), 3);
	EXPECT_EQ(v.number("fin_carried_ack"), 1);
	EXPECT_EQ(v.number("server_delayed_acks"), 0);
	EXPECT_EQ(v.number("ack_after_fin_us"), 19);
	EXPECT_EQ(v.text, "3 segments (F., F., .), server TcpExtDelayedACKs +0: close() won the "
			  "race with the delayed-ACK timer, its FIN carried the ACK 0.019 ms "
			  "after the client's FIN");
}

TEST(LabVerdict, Close3QuickackIsFourSegments)
{
	Verdict v = judge(close3("quickack"));
	EXPECT_EQ(v.kind, VerdictKind::does_not_hold);
	EXPECT_EQ(v.number("close_segments"), 4);
	EXPECT_EQ(v.number("fin_carried_ack"), 0);
	EXPECT_EQ(v.number("server_delayed_acks"), 0);
	EXPECT_EQ(v.text, "4 segments (F., ., F., .), server TcpExtDelayedACKs +0: the ACK went at "
			  "once, alone (0.020 ms after the client's FIN), no delayed ACK");
	// the client's late FIN_WAIT2 -> TIME_WAIT is not in the tracer's path
	EXPECT_EQ(v.paths[0].back(), "FIN_WAIT2");
}

TEST(LabVerdict, Close3LateCloseTimerWins)
{
	Verdict v = judge(close3("late-close"));
	EXPECT_EQ(v.kind, VerdictKind::does_not_hold);
	EXPECT_EQ(v.number("close_segments"), 4);
	EXPECT_EQ(v.number("server_delayed_acks"), 1);
	EXPECT_EQ(v.number("ack_after_fin_us"), 42156);
	EXPECT_EQ(v.number("server_fin_after_fin_us"), 42186);
	EXPECT_EQ(v.text, "4 segments (F., ., F., .), server TcpExtDelayedACKs +1: the delayed-ACK "
			  "timer won, the ACK went alone 42.156 ms after the client's FIN, the "
			  "server's FIN 42.186 ms after it");
}

TEST(LabVerdict, Close3DroppedSegmentsDoNotCount)
{
	Trace t = close3("default");
	Packet again = t.packets.back();
	again.dropped = true;
	t.packets.insert(t.packets.end() - 1, again);
	EXPECT_EQ(judge(t).number("close_segments"), 3);
}

TEST(LabVerdict, UnknownExperimentIsSkipped)
{
	Trace t = base("nosuch", "default");
	Verdict v = judge(t);
	EXPECT_EQ(v.kind, VerdictKind::skipped);
	EXPECT_EQ(v.reason, "no verdict for experiment 'nosuch'");
	EXPECT_EQ(verdict_name(v.kind), "skipped");
}

TEST(LabCounters, ParsesProcFilesAndDeltas)
{
	auto c = parse_proc_counters("TcpExt: SyncookiesSent DelayedACKs TW\n"
				     "TcpExt: 0 3 7\n"
				     "IpExt: InNoRoutes\n"
				     "IpExt: 2\n");
	EXPECT_EQ(c.size(), 4u);
	EXPECT_EQ(c["TcpExtDelayedACKs"], 3);
	EXPECT_EQ(c["IpExtInNoRoutes"], 2);
	auto after = c;
	after["TcpExtDelayedACKs"] = 4;
	after["TcpExtTW"] = 9;
	EXPECT_EQ(counter_deltas(c, after), (Counters{{"TcpExtDelayedACKs", 1}, {"TcpExtTW", 2}}));
	// a names line without its values line, or mismatched prefixes, ends the parse
	EXPECT_EQ(parse_proc_counters("Tcp: A B\nUdp: 1 2\n").size(), 0u);
}

TEST(LabCatalog, NamesAndVariants)
{
	const Experiment *e = find_experiment("close3");
	ASSERT_TRUE(e);
	EXPECT_EQ(e->variants[0].name, "default");
	EXPECT_TRUE(find_variant(*e, "late-close"));
	EXPECT_FALSE(find_variant(*e, "nosuch"));
	EXPECT_FALSE(find_experiment("nosuch"));
	for (const auto &x : catalog())
		EXPECT_EQ(x.variants.at(0).name, "default") << x.name;
}

TEST(LabCatalog, CheckNames)
{
	EXPECT_EQ(check_names("list", ""), std::nullopt);
	EXPECT_EQ(check_names("all", ""), std::nullopt);
	EXPECT_EQ(check_names("close3", ""), std::nullopt);
	EXPECT_EQ(check_names("close3", "list"), std::nullopt);
	EXPECT_EQ(check_names("close3", "quickack"), std::nullopt);
	EXPECT_EQ(check_names("nosuch", ""), "'nosuch' is not an experiment (tcpscope lab list)");
	EXPECT_EQ(check_names("close3", "x"),
		  "'x' is not a variant of close3 (tcpscope lab close3 --variant list)");
}

} // namespace
} // namespace tcpscope::lab

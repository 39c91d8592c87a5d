// SPDX-License-Identifier: GPL-2.0
// The lab's verdicts from recorded traces, and the trace readers under them: exact outcomes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

#include "lab/catalog.h"
#include "lab/recorded.h"
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

// Every recorded run judged again from its rebuilt trace: the same verdict and numbers. The
// JSON the runs were recorded from has microsecond times, so a figure in ms or us derived
// from two of them may differ by one unit from the agent's nanosecond arithmetic.
TEST(LabVerdict, RecordedRunsJudgedAgain)
{
	size_t n = 0;
	for (const auto &r : recorded::runs()) {
		SCOPED_TRACE(std::string(r.experiment) + " --variant " + r.variant);
		n++;
		if (std::string_view(r.verdict) == "skipped") // by its driver: nothing to judge
			continue;
		Trace t = recorded::to_trace(r);
		Verdict v = judge(t);
		EXPECT_EQ(verdict_name(v.kind), r.verdict);
		ASSERT_EQ(v.numbers.size(), r.numbers.size());
		for (size_t i = 0; i < r.numbers.size(); i++) {
			std::string_view name = r.numbers[i].name;
			EXPECT_EQ(v.numbers[i].first, name);
			const bool time = name.ends_with("_ms") || name.ends_with("_us");
			if (time)
				EXPECT_LE(std::llabs(v.numbers[i].second - r.numbers[i].value), 1)
					<< name;
			else
				EXPECT_EQ(v.numbers[i].second, r.numbers[i].value) << name;
		}
	}
	// every experiment and variant of the catalog was recorded
	size_t variants = 0;
	for (const auto &e : catalog())
		variants += e.variants.size();
	EXPECT_EQ(n, variants);
}

// A few of them in detail, with what each shows.
const recorded::Run &rec(std::string_view experiment, std::string_view variant)
{
	for (const auto &r : recorded::runs())
		if (r.experiment == experiment && r.variant == variant)
			return r;
	abort();
}

TEST(LabVerdict, RecordedTimewait)
{
	Verdict v = judge(recorded::to_trace(rec("timewait", "fin-timeout-5")));
	EXPECT_EQ(v.kind, VerdictKind::does_not_hold);
	EXPECT_EQ(v.number("fin_timeout_s"), 5);
	EXPECT_EQ(v.number("timewait_s"), 60);
	EXPECT_EQ(v.number("client_tw"), 1);
}

TEST(LabVerdict, RecordedFinTimeout)
{
	Verdict v = judge(recorded::to_trace(rec("fin-timeout", "default")));
	EXPECT_EQ(v.kind, VerdictKind::does_not_hold);
	EXPECT_EQ(v.number("client_time_wait"), 0);
	EXPECT_EQ(v.number("server_close_wait_until_rst"), 1);
	EXPECT_EQ((v.number("fin_wait2_timer_ms") + 500) / 1000, 5);
	EXPECT_EQ(v.paths[0].back(), "CLOSE");
}

TEST(LabVerdict, RecordedReuseaddrAndTwReuse)
{
	EXPECT_EQ(judge(recorded::to_trace(rec("reuseaddr", "default"))).number("bind_errno"),
		  EADDRINUSE);
	Verdict v = judge(recorded::to_trace(rec("reuseaddr", "new-only")));
	EXPECT_EQ(v.kind, VerdictKind::does_not_hold);
	EXPECT_EQ(v.number("bind_errno"), EADDRINUSE);
	EXPECT_EQ(judge(recorded::to_trace(rec("reuseaddr", "both"))).number("bind_errno"), 0);
	EXPECT_EQ(judge(recorded::to_trace(rec("tw-reuse", "default"))).number("reconnect_errno"),
		  EADDRNOTAVAIL);
	v = judge(recorded::to_trace(rec("tw-reuse", "on")));
	EXPECT_EQ(v.number("reconnect_errno"), 0);
	EXPECT_EQ(v.number("client_tw_recycled"), 1);
}

TEST(LabVerdict, RecordedLastackKeepaliveFastopen)
{
	Verdict v = judge(recorded::to_trace(rec("lastack", "default")));
	EXPECT_EQ(v.kind, VerdictKind::holds);
	EXPECT_EQ(v.number("reply_is_rst"), 0);
	EXPECT_LT(std::llabs(v.number("timer_from_refin_ms") - 60000),
		  std::llabs(v.number("timer_from_first_fin_ms") - 60000));
	EXPECT_EQ(judge(recorded::to_trace(rec("lastack", "no-tw"))).number("reply_is_rst"), 1);
	v = judge(recorded::to_trace(rec("keepalive", "dead")));
	EXPECT_EQ(v.kind, VerdictKind::holds);
	EXPECT_EQ(v.number("probes"), 3);
	EXPECT_EQ(v.number("client_keepalive_counter"), 3);
	v = judge(recorded::to_trace(rec("fastopen", "default")));
	EXPECT_EQ(v.number("syn_payload"), 5);
	EXPECT_EQ(v.number("synack_ack_minus_isn"), 6);
	EXPECT_EQ(v.number("handshake_segments"), 3);
	EXPECT_EQ(v.number("cookie_requests"), 1);
	EXPECT_EQ(v.number("cookies_sent"), 1);
}

TEST(LabVerdict, RecordedRstAndHalfClose)
{
	Verdict v = judge(recorded::to_trace(rec("rst-close", "default")));
	EXPECT_EQ(v.number("client_rst"), 1);
	EXPECT_EQ(v.number("client_abort_on_close"), 1);
	EXPECT_EQ(v.number("server_errno"), ECONNRESET);
	EXPECT_EQ(judge(recorded::to_trace(rec("rst-close", "read"))).kind, VerdictKind::holds);
	v = judge(recorded::to_trace(rec("half-close", "close")));
	EXPECT_EQ(v.number("client_abort_on_data"), 1);
	EXPECT_EQ(v.number("server_errno"), EPIPE);
	EXPECT_EQ(
		judge(recorded::to_trace(rec("half-close", "default"))).number("client_bytes_read"),
		4096);
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

// SPDX-License-Identifier: GPL-2.0
// Tests the JSON, CSV and text formatters line by line on hand-built events.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <stdlib.h>
#include <time.h>

#include <string>
#include <vector>

#include "output/event_format.h"
#include "event/test_events.h"

namespace tcpscope {
namespace {

using test::conn_event;
using test::ipv4_event;
using test::ipv6_event;
using test::snapshot_event;

// 2023-11-14T22:13:20.123456789Z at ts_ns 2.5 s
constexpr int64_t kRealtimeOff = 1700000000123456789ll - 2500000000ll;

std::string render(OutputFormat f, const RawEvent &e, View view = View::lifecycle,
		   Clock clock = Clock{})
{
	auto fmt = make_formatter(f, clock);
	fmt::memory_buffer out;
	auto s = fold(e, view);

	if (!s) {
		ADD_FAILURE() << "event folded away";
		return {};
	}
	fmt->event(*s, out);
	return std::string(out.data(), out.size());
}

// A summary or snapshot record: the event with the counters after it.
std::string render(OutputFormat f, const SockEvent &r, View view = View::lifecycle,
		   Clock clock = Clock{})
{
	return render(f, r.ev, view, clock);
}

std::string header(OutputFormat f, Clock clock = Clock{})
{
	auto fmt = make_formatter(f, clock);
	fmt::memory_buffer out;

	fmt->header(out);
	return std::string(out.data(), out.size());
}

RawEvent tw_leave_event()
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_TW_LEAVE);

	e.old_state = TCP_TIME_WAIT;
	e.new_state = TCP_CLOSE;
	e.dur_ns = 60000000000ull;
	e.cause = TCPSCOPE_TW_CAUSE_TIMER;
	return e;
}

RawEvent keepalive_event()
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_KEEPALIVE);

	e.old_state = TCP_ESTABLISHED;
	e.new_state = TCP_ESTABLISHED;
	e.probes = 3;
	return e;
}

// Every kind of record, in both views, with and without owner, duration and counters; each
// as a SockEvent (the counters after a summary or snapshot, ignored by the other types).
std::vector<SockEvent> all_events()
{
	std::vector<SockEvent> v;
	RawEvent tw_enter = ipv4_event(TCPSCOPE_EV_TW_ENTER);
	RawEvent tw_sub = ipv4_event(TCPSCOPE_EV_TW_SUBSTATE);
	SockEvent listener = snapshot_event();

	tw_enter.old_state = TCP_FIN_WAIT1;
	tw_enter.new_state = TCP_FIN_WAIT2;
	tw_sub.old_state = TCP_FIN_WAIT2;
	tw_sub.new_state = TCP_TIME_WAIT;
	listener.ev.old_state = listener.ev.new_state = TCP_LISTEN;
	listener.ino = 0;
	for (const SockEvent &base :
	     {test::with_stats(ipv4_event(TCPSCOPE_EV_STATE)),
	      test::with_stats(ipv6_event(TCPSCOPE_EV_STATE)), test::with_stats(tw_enter),
	      test::with_stats(tw_sub), test::with_stats(tw_leave_event()),
	      test::with_stats(keepalive_event()), conn_event(), conn_event(true), snapshot_event(),
	      snapshot_event(true), listener}) {
		for (unsigned flags :
		     {0u, TCPSCOPE_EVF_NO_DUR, TCPSCOPE_EVF_NO_OWNER,
		      TCPSCOPE_EVF_NO_DUR | TCPSCOPE_EVF_NO_OWNER, TCPSCOPE_EVF_NO_STATS,
		      TCPSCOPE_EVF_NO_DUR | TCPSCOPE_EVF_NO_OWNER | TCPSCOPE_EVF_NO_STATS}) {
			SockEvent e = base;
			e.ev.flags = static_cast<uint16_t>(flags);
			v.push_back(e);
		}
	}
	return v;
}

// ---- JSON ----

constexpr const char *kJsonV4Head =
	R"({"event":"state","ts_ns":2500000000,"cookie":42,"family":"ipv4",)"
	R"("saddr":"127.0.0.1","sport":5000,"daddr":"127.0.0.2","dport":80,)";
constexpr const char *kOwner = R"("pid":1234,"comm":"curl","cgroup":7,)";
constexpr const char *kSynEst = R"("old":"SYN_SENT","new":"ESTABLISHED",)";
constexpr const char *kNoOwner = R"("pid":null,"comm":null,"cgroup":null,)";

TEST(JsonFormat, NoHeader)
{
	EXPECT_EQ(header(OutputFormat::json), "");
}

TEST(JsonFormat, StateIpv4)
{
	EXPECT_EQ(render(OutputFormat::json, ipv4_event(TCPSCOPE_EV_STATE)),
		  std::string(kJsonV4Head) + kSynEst + R"("dur_us":1500,)" + kOwner +
			  R"("netns":4026531840})" + "\n");
}

TEST(JsonFormat, StateIpv6)
{
	EXPECT_EQ(render(OutputFormat::json, ipv6_event(TCPSCOPE_EV_STATE)),
		  R"({"event":"state","ts_ns":2500000000,"cookie":42,"family":"ipv6",)"
		  R"("saddr":"::1","sport":5000,"daddr":"::1","dport":80,)"
		  R"("old":"SYN_SENT","new":"ESTABLISHED","dur_us":1500,)"
		  R"("pid":1234,"comm":"curl","cgroup":7,"netns":4026531840})"
		  "\n");
}

TEST(JsonFormat, Ipv6FullAddresses)
{
	RawEvent e = ipv6_event(TCPSCOPE_EV_STATE);
	const uint8_t s[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
	const uint8_t d[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};

	std::memcpy(e.saddr, s, 16);
	std::memcpy(e.daddr, d, 16);
	std::string line = render(OutputFormat::json, e);
	EXPECT_NE(line.find(R"("saddr":"2001:db8::10","sport":5000,)"), std::string::npos) << line;
	EXPECT_NE(line.find(R"("daddr":"::ffff:192.0.2.1","dport":80,)"), std::string::npos)
		<< line;
}

TEST(JsonFormat, NoDuration)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_STATE);
	e.flags = TCPSCOPE_EVF_NO_DUR;

	EXPECT_EQ(render(OutputFormat::json, e), std::string(kJsonV4Head) + kSynEst +
							 R"("dur_us":null,)" + kOwner +
							 R"("netns":4026531840})" + "\n");
}

TEST(JsonFormat, NoOwner)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_STATE);
	e.flags = TCPSCOPE_EVF_NO_OWNER;

	EXPECT_EQ(render(OutputFormat::json, e), std::string(kJsonV4Head) + kSynEst +
							 R"("dur_us":1500,)" + kNoOwner +
							 R"("netns":4026531840})" + "\n");

	e.flags = TCPSCOPE_EVF_NO_OWNER | TCPSCOPE_EVF_NO_DUR;
	EXPECT_EQ(render(OutputFormat::json, e), std::string(kJsonV4Head) + kSynEst +
							 R"("dur_us":null,)" + kNoOwner +
							 R"("netns":4026531840})" + "\n");
}

#ifdef TCPSCOPE_EVF_LATE
TEST(JsonFormat, Late)
{
	RawEvent e = tw_leave_event();
	e.flags = TCPSCOPE_EVF_LATE;

	EXPECT_EQ(render(OutputFormat::json, e),
		  std::string(kJsonV4Head) + R"("old":"TIME_WAIT","new":"CLOSE",)" +
			  R"("dur_us":60000000,)" + kOwner +
			  R"("netns":4026531840,"late":true,"cause":"timer"})" + "\n");
	EXPECT_EQ(render(OutputFormat::json, ipv4_event(TCPSCOPE_EV_STATE)).find("\"late\""),
		  std::string::npos);
}
#endif

TEST(JsonFormat, TwLeaveHasCause)
{
	const std::string tail = R"("old":"TIME_WAIT","new":"CLOSE","dur_us":60000000,)" +
				 std::string(kOwner) + R"("netns":4026531840,"cause":"timer"})" +
				 "\n";
	RawEvent e = tw_leave_event();

	EXPECT_EQ(render(OutputFormat::json, e, View::lifecycle), kJsonV4Head + tail);
	std::string raw = kJsonV4Head;
	raw.replace(raw.find("state"), 5, "tw_leave");
	EXPECT_EQ(render(OutputFormat::json, e, View::raw), raw + tail);

	e.cause = TCPSCOPE_TW_CAUSE_KILL;
	EXPECT_NE(render(OutputFormat::json, e).find(R"(,"cause":"kill"})"), std::string::npos);
	e.cause = TCPSCOPE_TW_CAUSE_NETNS;
	EXPECT_NE(render(OutputFormat::json, e).find(R"(,"cause":"netns"})"), std::string::npos);
	e.cause = 77;
	EXPECT_NE(render(OutputFormat::json, e).find(R"(,"cause":"unknown"})"), std::string::npos);
}

TEST(JsonFormat, CauseOnlyOnTwLeave)
{
	for (const SockEvent &e : all_events()) {
		if (e.ev.type == TCPSCOPE_EV_TW_LEAVE)
			continue;
		SockEvent c = e;
		c.ev.cause = TCPSCOPE_TW_CAUSE_KILL;
		EXPECT_EQ(render(OutputFormat::json, c, View::raw).find("\"cause\""),
			  std::string::npos)
			<< "type " << unsigned(e.ev.type);
	}
}

// The socket's counters come only in summaries and snapshot records.
TEST(JsonFormat, CountersOnlyInConnAndSnapshot)
{
	for (const SockEvent &e : all_events()) {
		std::string line = render(OutputFormat::json, e, View::raw);
		bool has = line.find("\"bytes_acked\"") != std::string::npos;
		EXPECT_EQ(has, has_sock_stats(e.ev.type)) << line;
		EXPECT_EQ(line.find("\"ino\"") != std::string::npos,
			  e.ev.type == TCPSCOPE_EV_SNAPSHOT)
			<< line;
	}
}

TEST(JsonFormat, RawTwEventsNamed)
{
	RawEvent enter = ipv4_event(TCPSCOPE_EV_TW_ENTER);
	enter.old_state = TCP_FIN_WAIT2;
	enter.new_state = TCP_FIN_WAIT2;
	RawEvent sub = ipv4_event(TCPSCOPE_EV_TW_SUBSTATE);
	sub.old_state = TCP_FIN_WAIT2;
	sub.new_state = TCP_TIME_WAIT;

	EXPECT_EQ(render(OutputFormat::json, enter, View::raw).rfind(R"({"event":"tw_enter",)", 0),
		  0u);
	EXPECT_NE(render(OutputFormat::json, enter, View::raw)
			  .find(R"("old":"FIN_WAIT2","new":"FIN_WAIT2",)"),
		  std::string::npos);
	EXPECT_EQ(render(OutputFormat::json, sub, View::raw).rfind(R"({"event":"tw_substate",)", 0),
		  0u);
	EXPECT_EQ(render(OutputFormat::json, sub, View::lifecycle).rfind(R"({"event":"state",)", 0),
		  0u);
}

TEST(JsonFormat, KeepaliveHasProbe)
{
	std::string head = kJsonV4Head;
	head.replace(head.find("state"), 5, "keepalive");

	EXPECT_EQ(render(OutputFormat::json, keepalive_event()),
		  head + R"("old":"ESTABLISHED","new":"ESTABLISHED","dur_us":1500,)" + kOwner +
			  R"("netns":4026531840,"probe":3})" + "\n");
}

TEST(JsonFormat, Conn)
{
	const std::string head =
		R"({"event":"conn","ts_ns":2500000000,"cookie":42,"family":"ipv4",)"
		R"("saddr":"127.0.0.1","sport":5000,"daddr":"127.0.0.2","dport":80,)";
	const std::string path = R"("path":["SYN_SENT","ESTABLISHED","FIN_WAIT1","FIN_WAIT2",)"
				 R"("TIME_WAIT","CLOSE"],)";
	const std::string counters =
		R"("bytes_acked":1001,"bytes_received":11,"segs_out":7,"segs_in":6,)"
		R"("total_retrans":1,"srtt_us":42)";
	SockEvent conn = conn_event();
	RawEvent &e = conn.ev;

	EXPECT_EQ(render(OutputFormat::json, e),
		  head + kOwner +
			  R"("netns":4026531840,"open":"active","handshake":"3whs",)"
			  R"("close":"active_4way",)" +
			  path + R"("lifetime_us":60123,"keepalive_probes":0,)" + counters + "}\n");

	// first seen mid-connection: nothing known about its start
	e.flags = TCPSCOPE_EVF_NO_DUR | TCPSCOPE_EVF_NO_OWNER;
	e.open = TCPSCOPE_OPEN_UNKNOWN;
	e.handshake = TCPSCOPE_HS_UNKNOWN;
	e.close = TCPSCOPE_CLOSE_KEEPALIVE;
	e.probes = 9;
	e.path = test::make_path({TCP_ESTABLISHED, TCP_CLOSE});
	e.path_len = 2;
	EXPECT_EQ(render(OutputFormat::json, e),
		  head + kNoOwner +
			  R"("netns":4026531840,"open":"unknown","handshake":"unknown",)"
			  R"("close":"keepalive_timeout","path":["ESTABLISHED","CLOSE"],)"
			  R"("lifetime_us":null,"keepalive_probes":9,)" +
			  counters + "}\n");

	// its move to CLOSE was missed: the counters are unknown
	e.flags |= TCPSCOPE_EVF_NO_STATS;
	EXPECT_NE(render(OutputFormat::json, e)
			  .find(R"("keepalive_probes":9,"bytes_acked":null,"bytes_received":null,)"
				R"("segs_out":null,"segs_in":null,"total_retrans":null,)"
				R"("srtt_us":null}
)"),
		  std::string::npos);

	// the largest values the kernel's fields hold
	e.flags &= ~TCPSCOPE_EVF_NO_STATS;
	conn.stats = {UINT64_MAX,     UINT64_MAX - 1, UINT32_MAX,
		      UINT32_MAX - 1, UINT32_MAX - 2, UINT32_MAX >> 3};
	EXPECT_NE(render(OutputFormat::json, e)
			  .find(R"("bytes_acked":18446744073709551615,)"
				R"("bytes_received":18446744073709551614,"segs_out":4294967295,)"
				R"("segs_in":4294967294,"total_retrans":4294967293,)"
				R"("srtt_us":536870911}
)"),
		  std::string::npos);
}

TEST(JsonFormat, Snapshot)
{
	const std::string head =
		R"({"event":"snapshot","ts_ns":2500000000,"cookie":42,"family":"ipv4",)"
		R"("saddr":"127.0.0.1","sport":5000,"daddr":"127.0.0.2","dport":80,)";
	SockEvent snap = snapshot_event();

	EXPECT_EQ(render(OutputFormat::json, snap),
		  head + R"("old":"ESTABLISHED","new":"ESTABLISHED","dur_us":null,)" + kOwner +
			  R"("netns":4026531840,"bytes_acked":1001,"bytes_received":11,)"
			  R"("segs_out":7,"segs_in":6,"total_retrans":1,"srtt_us":42,)"
			  R"("ino":31337})"
			  "\n");

	// a listener: no counters of its own; a socket without a file: no inode
	snap.ev.old_state = snap.ev.new_state = TCP_LISTEN;
	snap.ev.flags |= TCPSCOPE_EVF_NO_STATS | TCPSCOPE_EVF_NO_OWNER;
	snap.ino = 0;
	EXPECT_EQ(render(OutputFormat::json, snap),
		  head + R"("old":"LISTEN","new":"LISTEN","dur_us":null,)" + kNoOwner +
			  R"("netns":4026531840,"bytes_acked":null,"bytes_received":null,)"
			  R"("segs_out":null,"segs_in":null,"total_retrans":null,"srtt_us":null,)"
			  R"("ino":null})"
			  "\n");
}

TEST(JsonFormat, ConnPathEmptyAndTruncated)
{
	SockEvent conn = conn_event();
	RawEvent &e = conn.ev;

	e.path = 0;
	e.path_len = 0;
	EXPECT_NE(render(OutputFormat::json, e).find(R"(,"path":[],)"), std::string::npos);

	// 16 states kept, more seen; a bogus path_len never reads past the 16 nibbles
	e.path = 0x1111111111111111ull;
	e.facts |= TCPSCOPE_F_PATH_TRUNC;
	std::string want = R"(,"path":[)";
	for (int i = 0; i < TCPSCOPE_PATH_MAX; i++)
		want += "\"ESTABLISHED\",";
	want += R"("..."],)";
	for (uint8_t len : {uint8_t(16), uint8_t(17), uint8_t(255)}) {
		e.path_len = len;
		std::string line = render(OutputFormat::json, e);
		EXPECT_NE(line.find(want), std::string::npos) << unsigned(len) << ": " << line;
	}
}

TEST(JsonFormat, NoStatesOnConn)
{
	std::string line = render(OutputFormat::json, conn_event());

	EXPECT_EQ(line.find("\"old\""), std::string::npos);
	EXPECT_EQ(line.find("\"new\""), std::string::npos);
	EXPECT_EQ(line.find("\"dur_us\""), std::string::npos);
	EXPECT_EQ(line.find("\"probe\""), std::string::npos);
}

TEST(JsonFormat, CommEscaping)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_STATE);

	test::set_comm(e, "a\"b\\c\x01"
			  "d");
	EXPECT_EQ(render(OutputFormat::json, e),
		  std::string(kJsonV4Head) + kSynEst + R"("dur_us":1500,)" +
			  R"("pid":1234,"comm":"a\"b\\c\u0001d","cgroup":7,"netns":4026531840})" +
			  "\n");

	test::set_comm(e, "\t\n\x1f\x7f\xe9/");
	EXPECT_NE(
		render(OutputFormat::json, e).find(R"("comm":"\u0009\u000a\u001f\u007f\u00e9/",)"),
		std::string::npos);

	test::set_comm(e, "");
	EXPECT_NE(render(OutputFormat::json, e).find(R"("comm":"",)"), std::string::npos);
}

TEST(JsonFormat, CommFillingAllSixteenBytes)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_STATE);

	test::set_comm(e, "abcdefghijklmnop");
	EXPECT_NE(render(OutputFormat::json, e).find(R"("comm":"abcdefghijklmnop","cgroup":7,)"),
		  std::string::npos);
}

TEST(JsonFormat, WallTime)
{
	Clock c;
	c.wall = true;
	c.realtime_off = kRealtimeOff;

	EXPECT_EQ(render(OutputFormat::json, ipv4_event(TCPSCOPE_EV_STATE), View::lifecycle, c),
		  R"({"event":"state","ts_ns":2500000000,"time":"2023-11-14T22:13:20.123456Z",)"
		  R"("cookie":42,"family":"ipv4","saddr":"127.0.0.1","sport":5000,)"
		  R"("daddr":"127.0.0.2","dport":80,"old":"SYN_SENT","new":"ESTABLISHED",)"
		  R"("dur_us":1500,"pid":1234,"comm":"curl","cgroup":7,"netns":4026531840})"
		  "\n");
}

TEST(JsonFormat, LargeNumbers)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_STATE);

	e.ts_ns = UINT64_MAX;
	e.cookie = UINT64_MAX;
	e.cgroup = UINT64_MAX;
	e.pid = UINT32_MAX;
	e.netns = UINT32_MAX;
	e.sport = 65535;
	e.dport = 1;
	std::string line = render(OutputFormat::json, e);
	EXPECT_NE(line.find(R"("ts_ns":18446744073709551615,"cookie":18446744073709551615,)"),
		  std::string::npos);
	EXPECT_NE(line.find(R"("sport":65535,)"), std::string::npos);
	EXPECT_NE(line.find(R"("dport":1,)"), std::string::npos);
	EXPECT_NE(line.find(R"("pid":4294967295,)"), std::string::npos);
	EXPECT_NE(line.find(R"("cgroup":18446744073709551615,"netns":4294967295})"),
		  std::string::npos);
}

TEST(JsonFormat, OneObjectPerLine)
{
	for (const SockEvent &e : all_events()) {
		for (View v : {View::lifecycle, View::raw}) {
			if (!fold(e.ev, v))
				continue;
			std::string line = render(OutputFormat::json, e, v);
			ASSERT_GE(line.size(), 3u);
			EXPECT_EQ(line.front(), '{');
			EXPECT_EQ(line.substr(line.size() - 2), "}\n");
			EXPECT_EQ(line.find('\n'), line.size() - 1);
		}
	}
}

// ---- CSV ----

// Splits one CSV line (RFC 4180 quoting, trailing '\n' required) into fields.
std::vector<std::string> csv_fields(const std::string &line)
{
	std::vector<std::string> f(1);
	bool quoted = false;

	EXPECT_FALSE(line.empty());
	EXPECT_EQ(line.back(), '\n');
	for (size_t i = 0; i + 1 < line.size(); i++) {
		char ch = line[i];
		if (quoted) {
			if (ch == '"' && i + 2 < line.size() && line[i + 1] == '"') {
				f.back() += '"';
				i++;
			} else if (ch == '"') {
				quoted = false;
			} else {
				f.back() += ch;
			}
		} else if (ch == '"') {
			quoted = true;
		} else if (ch == ',') {
			f.emplace_back();
		} else {
			f.back() += ch;
		}
	}
	EXPECT_FALSE(quoted) << line;
	return f;
}

const std::vector<std::string> kCsvColumns = {"event",
					      "ts_ns",
					      "time",
					      "cookie",
					      "family",
					      "saddr",
					      "sport",
					      "daddr",
					      "dport",
					      "old",
					      "new",
					      "dur_us",
					      "pid",
					      "comm",
					      "cgroup",
					      "netns",
					      "late",
					      "cause",
					      "probe",
					      "open",
					      "handshake",
					      "close",
					      "path",
					      "lifetime_us",
					      "keepalive_probes",
					      "bytes_acked",
					      "bytes_received",
					      "segs_out",
					      "segs_in",
					      "total_retrans",
					      "srtt_us",
					      "ino"};

TEST(CsvFormat, Header)
{
	EXPECT_EQ(header(OutputFormat::csv),
		  "event,ts_ns,time,cookie,family,saddr,sport,daddr,dport,old,new,dur_us,pid,comm,"
		  "cgroup,netns,late,cause,probe,open,handshake,close,path,lifetime_us,"
		  "keepalive_probes,bytes_acked,bytes_received,segs_out,segs_in,total_retrans,"
		  "srtt_us,ino\n");
	EXPECT_EQ(csv_fields(header(OutputFormat::csv)), kCsvColumns);
}

TEST(CsvFormat, EveryRowHasTheHeaderColumns)
{
	Clock wall;
	wall.wall = true;
	wall.realtime_off = kRealtimeOff;

	for (const Clock &c : {Clock{}, wall}) {
		const size_t ncol = csv_fields(header(OutputFormat::csv, c)).size();
		ASSERT_EQ(ncol, 32u);
		for (const SockEvent &e : all_events()) {
			for (View v : {View::lifecycle, View::raw}) {
				if (!fold(e.ev, v))
					continue;
				std::string row = render(OutputFormat::csv, e, v, c);
				EXPECT_EQ(csv_fields(row).size(), ncol)
					<< "type " << unsigned(e.ev.type) << " flags " << e.ev.flags
					<< ": " << row;
			}
		}
	}
}

TEST(CsvFormat, StateRow)
{
	EXPECT_EQ(render(OutputFormat::csv, ipv4_event(TCPSCOPE_EV_STATE)),
		  "state,2500000000,,42,ipv4,127.0.0.1,5000,127.0.0.2,80,SYN_SENT,ESTABLISHED,1500,"
		  "1234,\"curl\",7,4026531840,0,,,,,,,,,,,,,,,\n");
	EXPECT_EQ(render(OutputFormat::csv, ipv6_event(TCPSCOPE_EV_STATE)),
		  "state,2500000000,,42,ipv6,::1,5000,::1,80,SYN_SENT,ESTABLISHED,1500,"
		  "1234,\"curl\",7,4026531840,0,,,,,,,,,,,,,,,\n");
}

TEST(CsvFormat, StateRowUnknownOwnerAndDuration)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_STATE);
	e.flags = TCPSCOPE_EVF_NO_DUR | TCPSCOPE_EVF_NO_OWNER;

	EXPECT_EQ(render(OutputFormat::csv, e),
		  "state,2500000000,,42,ipv4,127.0.0.1,5000,127.0.0.2,80,SYN_SENT,ESTABLISHED,,"
		  ",,,4026531840,0,,,,,,,,,,,,,,,\n");
}

TEST(CsvFormat, TwLeaveAndKeepaliveRows)
{
	EXPECT_EQ(render(OutputFormat::csv, tw_leave_event(), View::raw),
		  "tw_leave,2500000000,,42,ipv4,127.0.0.1,5000,127.0.0.2,80,TIME_WAIT,CLOSE,"
		  "60000000,1234,\"curl\",7,4026531840,0,timer,,,,,,,,,,,,,,\n");
	EXPECT_EQ(render(OutputFormat::csv, keepalive_event()),
		  "keepalive,2500000000,,42,ipv4,127.0.0.1,5000,127.0.0.2,80,ESTABLISHED,"
		  "ESTABLISHED,1500,1234,\"curl\",7,4026531840,0,,3,,,,,,,,,,,,,\n");
}

TEST(CsvFormat, ConnRow)
{
	EXPECT_EQ(render(OutputFormat::csv, conn_event()),
		  "conn,2500000000,,42,ipv4,127.0.0.1,5000,127.0.0.2,80,,,,1234,\"curl\",7,"
		  "4026531840,0,,,active,3whs,active_4way,"
		  "SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>TIME_WAIT>CLOSE,60123,0,"
		  "1001,11,7,6,1,42,\n");
}

TEST(CsvFormat, SnapshotRow)
{
	SockEvent listener = snapshot_event();

	EXPECT_EQ(render(OutputFormat::csv, snapshot_event()),
		  "snapshot,2500000000,,42,ipv4,127.0.0.1,5000,127.0.0.2,80,ESTABLISHED,"
		  "ESTABLISHED,,1234,\"curl\",7,4026531840,0,,,,,,,,,1001,11,7,6,1,42,31337\n");
	listener.ev.old_state = listener.ev.new_state = TCP_LISTEN;
	listener.ev.flags |= TCPSCOPE_EVF_NO_STATS;
	EXPECT_EQ(render(OutputFormat::csv, listener),
		  "snapshot,2500000000,,42,ipv4,127.0.0.1,5000,127.0.0.2,80,LISTEN,LISTEN,,1234,"
		  "\"curl\",7,4026531840,0,,,,,,,,,,,,,,,31337\n");
}

TEST(CsvFormat, ConnFieldsLineUpWithHeader)
{
	SockEvent conn = conn_event();
	RawEvent &e = conn.ev;
	e.probes = 2;
	auto f = csv_fields(render(OutputFormat::csv, e));

	ASSERT_EQ(f.size(), kCsvColumns.size());
	auto col = [&](const char *name) {
		for (size_t i = 0; i < kCsvColumns.size(); i++)
			if (kCsvColumns[i] == name)
				return f[i];
		ADD_FAILURE() << name;
		return std::string();
	};
	EXPECT_EQ(col("event"), "conn");
	EXPECT_EQ(col("dport"), "80");
	EXPECT_EQ(col("old"), "");
	EXPECT_EQ(col("new"), "");
	EXPECT_EQ(col("dur_us"), "");
	EXPECT_EQ(col("pid"), "1234");
	EXPECT_EQ(col("comm"), "curl");
	EXPECT_EQ(col("cgroup"), "7");
	EXPECT_EQ(col("netns"), "4026531840");
	EXPECT_EQ(col("open"), "active");
	EXPECT_EQ(col("lifetime_us"), "60123");
	EXPECT_EQ(col("keepalive_probes"), "2");
	EXPECT_EQ(col("bytes_acked"), "1001");
	EXPECT_EQ(col("bytes_received"), "11");
	EXPECT_EQ(col("segs_out"), "7");
	EXPECT_EQ(col("segs_in"), "6");
	EXPECT_EQ(col("total_retrans"), "1");
	EXPECT_EQ(col("srtt_us"), "42");
	EXPECT_EQ(col("ino"), "");
}

TEST(CsvFormat, CommQuoting)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_STATE);

	test::set_comm(e, "a\"b,c");
	std::string row = render(OutputFormat::csv, e);
	EXPECT_NE(row.find(",1234,\"a\"\"b,c\",7,"), std::string::npos) << row;
	auto f = csv_fields(row);
	ASSERT_EQ(f.size(), 32u);
	EXPECT_EQ(f[13], "a\"b,c");
}

// A record's ts_ns is outside input: one past what CLOCK_REALTIME can hold is held to the
// last time it can (year 2262), not a signed overflow (tools/fuzz/fuzz_record found it).
TEST(CsvFormat, WallTimeOfAnImpossibleTimestamp)
{
	Clock c;
	c.wall = true;
	c.realtime_off = kRealtimeOff;
	RawEvent e = ipv4_event(TCPSCOPE_EV_STATE);

	for (uint64_t ts : {uint64_t(8286623316861712640ull), UINT64_MAX, uint64_t(INT64_MAX)}) {
		e.ts_ns = ts;
		auto f = csv_fields(render(OutputFormat::csv, e, View::lifecycle, c));
		ASSERT_EQ(f.size(), 32u);
		EXPECT_EQ(f[2], "2262-04-11T23:47:16.854775Z") << ts;
	}
	c.realtime_off = -kRealtimeOff;
	e.ts_ns = 1;
	auto f = csv_fields(render(OutputFormat::csv, e, View::lifecycle, c));
	EXPECT_EQ(f[2], "1970-01-01T00:00:00.000000Z");
}

// Bytes outside printable ASCII, which Python's csv module and UTF-8 readers choke on,
// come out as \xHH; a backslash too, so the escape reads back unambiguously.
TEST(CsvFormat, CommBytesEscaped)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_STATE);

	test::set_comm(e, "a\x01\xff\\b\"");
	std::string row = render(OutputFormat::csv, e);
	EXPECT_NE(row.find(",1234,\"a\\x01\\xff\\x5cb\"\"\",7,"), std::string::npos) << row;
	for (char ch : row)
		EXPECT_TRUE(ch == '\n' || (ch >= 0x20 && ch < 0x7f)) << row;
	auto f = csv_fields(row);
	ASSERT_EQ(f.size(), 32u);
	EXPECT_EQ(f[13], "a\\x01\\xff\\x5cb\"");
}

TEST(CsvFormat, LateColumn)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_STATE);
	auto f = csv_fields(render(OutputFormat::csv, e));
	ASSERT_EQ(f.size(), 32u);
	EXPECT_EQ(f[16], "0");
	e.flags |= TCPSCOPE_EVF_LATE;
	f = csv_fields(render(OutputFormat::csv, e));
	ASSERT_EQ(f.size(), 32u);
	EXPECT_EQ(f[16], "1");
}

TEST(CsvFormat, WallTime)
{
	Clock c;
	c.wall = true;
	c.realtime_off = kRealtimeOff;

	EXPECT_EQ(
		render(OutputFormat::csv, ipv4_event(TCPSCOPE_EV_STATE), View::lifecycle, c),
		"state,2500000000,2023-11-14T22:13:20.123456Z,42,ipv4,127.0.0.1,5000,"
		"127.0.0.2,80,SYN_SENT,ESTABLISHED,1500,1234,\"curl\",7,4026531840,0,,,,,,,,,,,,,,,\n");
}

// ---- text ----

std::string pad(size_t n)
{
	return std::string(n, ' ');
}

// TIME(s) PID COMM columns for ts 2.5 s with start 1 s, pid 1234 "curl"
const std::string kTextPrefix = "1.500000" + pad(8) + "1234" + pad(4) + "curl" + pad(12);
const std::string kTextV4Addrs = pad(7) + "127.0.0.1:5000 " + pad(9) + "127.0.0.2:80 ";

Clock text_clock()
{
	Clock c;
	c.start_ns = 1000000000ull;
	return c;
}

TEST(TextFormat, Header)
{
	EXPECT_EQ(header(OutputFormat::text), "TIME(s)" + pad(9) + "PID" + pad(5) + "COMM" +
						      pad(22) + "LADDR:LPORT" + pad(11) +
						      "RADDR:RPORT EVENT\n");
	Clock c;
	c.wall = true;
	EXPECT_EQ(header(OutputFormat::text, c).rfind("TIME" + pad(12) + "PID ", 0), 0u);
}

TEST(TextFormat, State)
{
	EXPECT_EQ(render(OutputFormat::text, ipv4_event(TCPSCOPE_EV_STATE), View::lifecycle,
			 text_clock()),
		  kTextPrefix + kTextV4Addrs + "SYN_SENT -> ESTABLISHED (1.501ms)\n");
}

TEST(TextFormat, StateIpv6NoOwnerNoDuration)
{
	RawEvent e = ipv6_event(TCPSCOPE_EV_STATE);
	e.flags = TCPSCOPE_EVF_NO_OWNER | TCPSCOPE_EVF_NO_DUR;

	EXPECT_EQ(render(OutputFormat::text, e, View::lifecycle, text_clock()),
		  "1.500000" + pad(8) + "-" + pad(7) + "-" + pad(15) + pad(11) + "[::1]:5000 " +
			  pad(13) + "[::1]:80 SYN_SENT -> ESTABLISHED\n");
}

TEST(TextFormat, TimeBeforeStartIsZero)
{
	Clock c;
	c.start_ns = 3000000000ull;
	std::string line =
		render(OutputFormat::text, ipv4_event(TCPSCOPE_EV_STATE), View::lifecycle, c);

	EXPECT_EQ(line.rfind("0.000000" + pad(8) + "1234 ", 0), 0u) << line;
}

TEST(TextFormat, TwLeave)
{
	RawEvent e = tw_leave_event();

	EXPECT_EQ(render(OutputFormat::text, e, View::lifecycle, text_clock()),
		  kTextPrefix + kTextV4Addrs + "TIME_WAIT -> CLOSE (60000.000ms) cause=timer\n");
	EXPECT_EQ(render(OutputFormat::text, e, View::raw, text_clock()),
		  kTextPrefix + kTextV4Addrs +
			  "[tw_leave] TIME_WAIT -> CLOSE (60000.000ms) cause=timer\n");
}

TEST(TextFormat, RawTwEnter)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_TW_ENTER);
	e.old_state = TCP_FIN_WAIT2;
	e.new_state = TCP_FIN_WAIT2;
	e.flags = TCPSCOPE_EVF_NO_DUR;

	EXPECT_EQ(render(OutputFormat::text, e, View::raw, text_clock()),
		  kTextPrefix + kTextV4Addrs + "[tw_enter] FIN_WAIT2 -> FIN_WAIT2\n");
}

TEST(TextFormat, Keepalive)
{
	EXPECT_EQ(render(OutputFormat::text, keepalive_event(), View::lifecycle, text_clock()),
		  kTextPrefix + kTextV4Addrs + "keepalive probe #3 in ESTABLISHED\n");
}

TEST(TextFormat, Conn)
{
	SockEvent conn = conn_event();
	RawEvent &e = conn.ev;

	EXPECT_EQ(
		render(OutputFormat::text, e, View::lifecycle, text_clock()),
		kTextPrefix + kTextV4Addrs +
			"conn active/3whs close=active_4way probes=0 life=60.123ms "
			"bytes_acked=1001 bytes_received=11 segs_out=7 segs_in=6 total_retrans=1 "
			"srtt_us=42 path=SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>TIME_WAIT>CLOSE\n");

	e.flags = TCPSCOPE_EVF_NO_DUR | TCPSCOPE_EVF_NO_STATS;
	e.facts |= TCPSCOPE_F_PATH_TRUNC;
	std::string line = render(OutputFormat::text, e, View::lifecycle, text_clock());
	EXPECT_NE(line.find(" probes=0 life=? stats=? path=SYN_SENT>"), std::string::npos) << line;
	EXPECT_NE(line.find(">TIME_WAIT>CLOSE>...\n"), std::string::npos) << line;
}

TEST(TextFormat, Snapshot)
{
	SockEvent snap = snapshot_event();

	EXPECT_EQ(render(OutputFormat::text, snap, View::lifecycle, text_clock()),
		  kTextPrefix + kTextV4Addrs +
			  "snapshot ESTABLISHED bytes_acked=1001 bytes_received=11 segs_out=7 "
			  "segs_in=6 total_retrans=1 srtt_us=42\n");
	// seen since start: the time in its state so far; a listener has no counters
	snap.ev.flags = TCPSCOPE_EVF_NO_STATS;
	snap.ev.dur_ns = 1500999;
	snap.ev.old_state = snap.ev.new_state = TCP_LISTEN;
	EXPECT_EQ(render(OutputFormat::text, snap, View::raw, text_clock()),
		  kTextPrefix + kTextV4Addrs + "snapshot LISTEN (1.501ms)\n");
}

TEST(TextFormat, WallTime)
{
	const char *tz = getenv("TZ");
	const std::string saved = tz ? tz : "";
	Clock c;

	setenv("TZ", "UTC", 1);
	tzset();
	c.wall = true;
	c.realtime_off = kRealtimeOff;
	std::string line =
		render(OutputFormat::text, ipv4_event(TCPSCOPE_EV_STATE), View::lifecycle, c);
	if (tz)
		setenv("TZ", saved.c_str(), 1);
	else
		unsetenv("TZ");
	tzset();
	EXPECT_EQ(line.rfind("22:13:20.123456 1234    curl ", 0), 0u) << line;
}

TEST(FormatAddr, Families)
{
	fmt::memory_buffer out;
	const uint8_t v4[16] = {10, 1, 2, 3};
	uint8_t v6[16] = {0xfe, 0x80};

	v6[15] = 0x2a;
	format_addr(out, AF_INET, v4);
	out.push_back(' ');
	format_addr(out, AF_INET6, v6);
	EXPECT_EQ(std::string(out.data(), out.size()), "10.1.2.3 fe80::2a");
}

// IPv4 is formatted by hand: every digit count of every octet, against inet_ntop()
TEST(FormatAddr, Ipv4LikeInetNtop)
{
	for (unsigned v = 0; v < 256; v++) {
		const uint8_t a[16] = {uint8_t(v), uint8_t(255 - v), 0, uint8_t(v / 2)};
		char want[INET_ADDRSTRLEN];
		fmt::memory_buffer out;

		ASSERT_NE(nullptr, inet_ntop(AF_INET, a, want, sizeof(want)));
		format_addr(out, AF_INET, a);
		EXPECT_EQ(std::string(want), std::string(out.data(), out.size()));
	}
}

// IPv6 too: every pattern of zero groups (where "::" goes, ties to the first run), group
// values of 1 to 4 hex digits, and the dotted tails of ::a.b.c.d and ::ffff:a.b.c.d
TEST(FormatAddr, Ipv6LikeInetNtop)
{
	const unsigned values[] = {0x1, 0xab, 0xfff, 0xffff};

	for (unsigned zeros = 0; zeros < 256; zeros++) {
		for (unsigned v : values) {
			uint8_t a[16];
			for (int g = 0; g < 8; g++) {
				unsigned w = (zeros >> g) & 1 ? 0 : v + g;
				a[2 * g] = uint8_t(w >> 8);
				a[2 * g + 1] = uint8_t(w);
			}
			char want[INET6_ADDRSTRLEN];
			fmt::memory_buffer out;

			ASSERT_NE(nullptr, inet_ntop(AF_INET6, a, want, sizeof(want)));
			format_addr(out, AF_INET6, a);
			EXPECT_EQ(std::string(want), std::string(out.data(), out.size()))
				<< "zero groups " << zeros << " value " << v;
		}
	}
	for (uint8_t g5 : {0x00, 0xff}) {
		uint8_t a[16] = {};
		a[10] = a[11] = g5;
		a[12] = 192, a[13] = 0, a[14] = 2, a[15] = 33;
		char want[INET6_ADDRSTRLEN];
		fmt::memory_buffer out;

		ASSERT_NE(nullptr, inet_ntop(AF_INET6, a, want, sizeof(want)));
		format_addr(out, AF_INET6, a);
		EXPECT_EQ(std::string(want), std::string(out.data(), out.size()));
	}
}

// Durations are rounded to 3 decimals without fmt: the same digits as "{:.3f}" for values
// around every rounding boundary
TEST(TextFormat, DurationRoundsLikeFmt)
{
	for (uint64_t base : {0ull, 999ull, 1000ull, 123456ull, 999999999ull, 60000000000ull}) {
		for (uint64_t d = base; d < base + 3000; d += 7) {
			RawEvent e = ipv4_event(TCPSCOPE_EV_STATE);
			e.dur_ns = d;
			std::string line =
				render(OutputFormat::text, e, View::lifecycle, text_clock());
			std::string want = fmt::format(" ({:.3f}ms)\n", d / 1e6);

			ASSERT_GE(line.size(), want.size());
			EXPECT_EQ(line.substr(line.size() - want.size()), want) << d;
		}
	}
}

} // namespace
} // namespace tcpscope

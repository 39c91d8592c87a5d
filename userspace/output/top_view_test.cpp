// SPDX-License-Identifier: GPL-2.0
// render_top(): exact frames for a synthetic snapshot pair, what fits in 80x24 and in smaller
// screens; and the `top` command line.
#include <gtest/gtest.h>

#include <netinet/tcp.h>

#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "cli/options.h"
#include "output/top_view.h"

using namespace tcpscope;

namespace {

using Lines = std::vector<std::string>;

// Two snapshots 2 s apart in netns 100, and netns 200 that only the sums see.
struct Pair {
	Snapshot prev, now;

	Pair()
	{
		Agg p{}, n{};
		p.sockets[TCP_ESTABLISHED] = 3;
		n.sockets[TCP_ESTABLISHED] = 4;
		p.sockets[TCP_TIME_WAIT] = 8;
		n.sockets[TCP_TIME_WAIT] = 10;
		p.sockets[TCP_LISTEN] = n.sockets[TCP_LISTEN] = 1;
		n.sockets[TCP_CLOSE_WAIT] = -1; // a race with the seed walk: shown as 0
		p.transitions[TCP_FIN_WAIT2][TCP_TIME_WAIT] = 20;
		n.transitions[TCP_FIN_WAIT2][TCP_TIME_WAIT] = 26;
		p.transitions[TCP_CLOSE][TCP_SYN_SENT] = 30;
		n.transitions[TCP_CLOSE][TCP_SYN_SENT] = 33;
		p.transitions[TCP_LISTEN][TCP_SYN_RECV] = 30;
		n.transitions[TCP_LISTEN][TCP_SYN_RECV] = 40;
		p.transitions[TCP_CLOSE][TCP_LISTEN] = n.transitions[TCP_CLOSE][TCP_LISTEN] = 1;
		p.tw_entered = 20;
		n.tw_entered = 26;
		p.tw_left[TCPSCOPE_TW_CAUSE_TIMER] = 12;
		n.tw_left[TCPSCOPE_TW_CAUSE_TIMER] = 15;
		n.tw_left[TCPSCOPE_TW_CAUSE_KILL] = 1;
		p.keepalive_probes = 4;
		n.keepalive_probes = 9;
		n.conns[TCPSCOPE_OPEN_PASSIVE][TCPSCOPE_CLOSE_PASSIVE] = 5;
		prev.by_netns[100] = p;
		now.by_netns[100] = n;
		prev.uptime = 10;
		now.uptime = 12;
		prev.ports = {{100, 8080, 8, 30}, {100, 9090, 0, 0}};
		now.ports = {{100, 8080, 10, 40}, {100, 9090, 0, 1}};
	}

	void add_netns_200()
	{
		Agg x{};
		x.sockets[TCP_ESTABLISHED] = 50;
		x.transitions[TCP_CLOSE][TCP_SYN_SENT] = 500;
		prev.by_netns[200] = x;
		x.transitions[TCP_CLOSE][TCP_SYN_SENT] = 700;
		now.by_netns[200] = x;
		prev.ports.push_back({200, 8080, 70, 0});
		now.ports.push_back({200, 8080, 70, 0});
	}
};

// Every state, every transition pair, 100 ports, and both kernel tables full.
Snapshot busy(double uptime, uint64_t scale)
{
	Snapshot s;
	Agg a{};
	for (unsigned st = TCP_ESTABLISHED; st <= TCP_CLOSING; st++) {
		a.sockets[st] = 1000 * st;
		for (unsigned to = TCP_ESTABLISHED; to <= TCP_CLOSING; to++)
			a.transitions[st][to] = scale * (st * 16 + to);
	}
	s.by_netns[1] = a;
	for (uint16_t p = 1; p <= 100; p++)
		s.ports.push_back({1, static_cast<uint16_t>(10000 + p), p, scale * p});
	s.agent.conn_full = 3;
	s.agent.agg_full = 2;
	s.agent.dropped = dropped_by_reason({.agg_full = 2, .conn_untracked = 3});
	s.uptime = uptime;
	return s;
}

void expect_fits(const Lines &lines, size_t cols, size_t rows)
{
	EXPECT_LE(lines.size(), rows);
	for (const auto &l : lines) {
		EXPECT_LE(l.size(), cols) << l;
		EXPECT_EQ(std::string::npos, l.find('\x1b')) << l;
		if (!l.empty()) {
			EXPECT_NE(' ', l.back()) << "trailing blank: '" << l << "'";
		}
	}
}

const TopScreen terminal{80, 24, true};

} // namespace

TEST(TopRender, FrameOfTwoSnapshotsAt80x24)
{
	Pair s;
	TopOptions o;
	const Lines want{
		"tcpscope top  all netns  every 1s  up 0:00:12                            q: quit",
		"TIME_WAIT             10  entered/s            3.0  left/s               2.0",
		"left timer/s         1.5  left kill/s          0.5  left netns/s         0.0",
		"keepalive/s          2.5  closed/s             2.5",
		"",
		"STATE        SOCKETS    FROM        TO              RATE/s         TOTAL",
		"ESTABLISHED        4    LISTEN      SYN_RECV           5.0            40",
		"SYN_SENT           0    FIN_WAIT2   TIME_WAIT          3.0            26",
		"SYN_RECV           0    CLOSE       SYN_SENT           1.5            33",
		"FIN_WAIT1          0    CLOSE       LISTEN             0.0             1",
		"FIN_WAIT2          0",
		"TIME_WAIT         10",
		"CLOSE_WAIT         0",
		"LAST_ACK           0",
		"LISTEN             1",
		"CLOSING            0",
		"",
		"LPORT      TIME_WAIT    LPORT     ACCEPTED/s",
		"8080              10    8080             5.0",
		"                        9090             0.5",
	};
	EXPECT_EQ(want, render_top(s.now, &s.prev, o, terminal));
}

TEST(TopRender, OneNamespaceFirstFrameHasNoRates)
{
	Pair s;
	TopOptions o;
	s.add_netns_200();
	o.netns = 100;
	o.interval = 0.5;
	// no previous snapshot: rates are "-", transitions by count since start, no accepted
	// list; no keys (plain output): no hint
	const Lines want{
		"tcpscope top  netns 100  every 0.5s  up 0:00:12",
		"TIME_WAIT             10  entered/s              -  left/s                 -",
		"left timer/s           -  left kill/s            -  left netns/s           -",
		"keepalive/s            -  closed/s               -",
		"",
		"STATE        SOCKETS    FROM        TO              RATE/s         TOTAL",
		"ESTABLISHED        4    LISTEN      SYN_RECV             -            40",
		"SYN_SENT           0    CLOSE       SYN_SENT             -            33",
		"SYN_RECV           0    FIN_WAIT2   TIME_WAIT            -            26",
		"FIN_WAIT1          0    CLOSE       LISTEN               -             1",
		"FIN_WAIT2          0",
		"TIME_WAIT         10",
		"CLOSE_WAIT         0",
		"LAST_ACK           0",
		"LISTEN             1",
		"CLOSING            0",
		"",
		"LPORT      TIME_WAIT    LPORT     ACCEPTED/s",
		"8080              10",
	};
	EXPECT_EQ(want, render_top(s.now, nullptr, o, TopScreen{80, 24, false}));
}

TEST(TopRender, AllNamespacesAreSummed)
{
	Pair s;
	TopOptions o;
	s.add_netns_200();
	auto lines = render_top(s.now, &s.prev, o, terminal);
	ASSERT_GE(lines.size(), 20u);
	EXPECT_EQ("ESTABLISHED       54    CLOSE       SYN_SENT         101.5           733",
		  lines[6]);
	EXPECT_EQ("8080              80    8080             5.0", lines[18]);
}

TEST(TopRender, EverythingFitsIn80x24)
{
	TopOptions o;
	o.ports = 100;
	Snapshot prev = busy(1, 1), now = busy(2, 3);
	auto lines = render_top(now, &prev, o, terminal);

	expect_fits(lines, 80, 24);
	ASSERT_EQ(24u, lines.size());
	EXPECT_EQ("WARNING: figures incomplete: dropped conn_table_full 3, netns_table_full 2",
		  lines[1]);
	// all ten states, ten of the 121 transitions beside them, the busiest first
	EXPECT_EQ("STATE        SOCKETS    FROM        TO              RATE/s         TOTAL",
		  lines[6]);
	EXPECT_EQ("ESTABLISHED     1000    CLOSING     CLOSING          374.0           561",
		  lines[7]);
	EXPECT_EQ("CLOSING        11000    CLOSING     SYN_SENT         356.0           534",
		  lines[16]);
	EXPECT_EQ("", lines[17]);
	// the ports get the five rows left
	EXPECT_EQ("LPORT      TIME_WAIT    LPORT     ACCEPTED/s", lines[18]);
	EXPECT_EQ("10100            100    10100          200.0", lines[19]);
	EXPECT_EQ("10096             96    10096          192.0", lines[23]);
}

TEST(TopRender, TallerScreenShowsMoreTransitionsAndPorts)
{
	TopOptions o;
	o.ports = 10;
	Snapshot prev = busy(1, 1), now = busy(2, 3);
	auto lines = render_top(now, &prev, o, TopScreen{80, 50, true});

	expect_fits(lines, 80, 50);
	ASSERT_EQ(50u, lines.size());
	// 9 fixed lines, 10 ports, 31 rows of transitions (states in the first ten)
	EXPECT_EQ("                        LAST_ACK    SYN_RECV         294.0           441",
		  lines[37]);
	EXPECT_EQ("LPORT      TIME_WAIT    LPORT     ACCEPTED/s", lines[39]);
	EXPECT_EQ("10091             91    10091          182.0", lines[49]);
}

TEST(TopRender, SmallerScreenCutsListsAndLines)
{
	Pair s;
	TopOptions o;
	const Lines want{
		"tcpscope top  all netns  every 1s  up 0:00:12",
		"TIME_WAIT             10  entered/s            3.0",
		"left timer/s         1.5  left kill/s          0.5",
		"keepalive/s          2.5  closed/s             2.5",
		"",
		"STATE        SOCKETS    FROM        TO",
		"ESTABLISHED        4    LISTEN      SYN_RECV",
		"SYN_SENT           0    FIN_WAIT2   TIME_WAIT",
		"SYN_RECV           0    CLOSE       SYN_SENT",
		"",
		"LPORT      TIME_WAIT    LPORT     ACCEPTED/s",
		"8080              10    8080             5.0",
	};
	// the hint does not fit beside the title; the states give way, the ports keep a row
	EXPECT_EQ(want, render_top(s.now, &s.prev, o, TopScreen{50, 12, true}));
}

TEST(TopRender, TinyScreen)
{
	Pair s;
	TopOptions o;
	auto lines = render_top(s.now, &s.prev, o, TopScreen{20, 3, true});
	expect_fits(lines, 20, 3);
	EXPECT_EQ((Lines{"tcpscope top  all ne", "TIME_WAIT", "left timer/s"}), lines);
	EXPECT_TRUE(render_top(s.now, &s.prev, o, TopScreen{80, 0, true}).empty());
}

TEST(TopRender, PlainBlockHasEveryRow)
{
	TopOptions o;
	o.ports = 7;
	Snapshot prev = busy(1, 1), now = busy(2, 3);
	auto lines =
		render_top(now, &prev, o, TopScreen{80, std::numeric_limits<size_t>::max(), false});

	expect_fits(lines, 80, std::numeric_limits<size_t>::max());
	// 6 lines before the table, its header and 121 transitions, blank, header, 7 ports
	ASSERT_EQ(6u + 1 + 121 + 1 + 1 + 7, lines.size());
	EXPECT_EQ("tcpscope top  all netns  every 1s  up 0:00:02", lines[0]);
	EXPECT_EQ("                        ESTABLISHED ESTABLISHED       34.0            51",
		  lines[127]);
	EXPECT_EQ("10094             94    10094          188.0", lines.back());
}

TEST(TopRender, CountersThatWentBackwardsGiveZeroRates)
{
	Pair s;
	TopOptions o;
	s.prev.by_netns[300] = s.prev.by_netns[100]; // a namespace that has gone since
	auto lines = render_top(s.now, &s.prev, o, terminal);
	ASSERT_GE(lines.size(), 10u);
	EXPECT_EQ("TIME_WAIT             10  entered/s            0.0  left/s               0.0",
		  lines[1]);
	// all rates 0: the kernel's order
	EXPECT_EQ("ESTABLISHED        4    FIN_WAIT2   TIME_WAIT          0.0            26",
		  lines[6]);
}

namespace {

Result<Command> parse(std::initializer_list<const char *> args)
{
	std::vector<const char *> argv{"tcpscope", "top"};
	argv.insert(argv.end(), args.begin(), args.end());
	return parse_cli(static_cast<int>(argv.size()), argv.data());
}

} // namespace

TEST(TopCli, DefaultsAndFlags)
{
	auto d = parse({});
	ASSERT_TRUE(d.ok()) << d.error().message();
	auto &t = std::get<TopOptions>(*d);
	EXPECT_EQ(1.0, t.interval);
	EXPECT_EQ(0u, t.count);
	EXPECT_EQ(5u, t.ports);
	EXPECT_FALSE(t.netns.has_value());
	EXPECT_FALSE(t.verbose);

	auto r = parse({"-i", "0.5", "-n", "100", "--count", "3", "--netns", "4026531840", "-v"});
	ASSERT_TRUE(r.ok()) << r.error().message();
	auto &u = std::get<TopOptions>(*r);
	EXPECT_EQ(0.5, u.interval);
	EXPECT_EQ(100u, u.ports);
	EXPECT_EQ(3u, u.count);
	EXPECT_EQ(4026531840u, u.netns.value_or(0));
	EXPECT_TRUE(u.verbose);
}

TEST(TopCli, BadValuesAreUsageErrors)
{
	for (auto args : std::vector<std::vector<const char *>>{{"-i", "0"},
								{"-i", "0.05"},
								{"-i", "3601"},
								{"-i", "-1"},
								{"-i", "nan"},
								{"--interval", "abc"},
								{"-n", "0"},
								{"-n", "101"},
								{"-n", "-1"},
								{"--count", "0"},
								{"--count", "-2"},
								{"--netns", "0"},
								{"--bogus"}}) {
		std::vector<const char *> argv{"tcpscope", "top"};
		argv.insert(argv.end(), args.begin(), args.end());
		auto r = parse_cli(static_cast<int>(argv.size()), argv.data());
		EXPECT_FALSE(r.ok()) << args[0] << " " << (args.size() > 1 ? args[1] : "");
	}
	auto nan = parse({"--interval", "nan"});
	ASSERT_FALSE(nan.ok());
	EXPECT_EQ("--interval: not a number of seconds (got 'nan')", nan.error().message());
	auto neg = parse({"--ports", "-1"});
	ASSERT_FALSE(neg.ok());
	EXPECT_EQ("--ports: must be a whole number from 1 to 100 (got '-1')",
		  neg.error().message());
}

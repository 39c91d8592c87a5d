// SPDX-License-Identifier: GPL-2.0
// The lab's renderers from recorded traces: the sequence diagram's lines, the JSON object's
// fields, the pcap file's bytes.
#include <gtest/gtest.h>

#include <cstring>

#include "lab/catalog.h"
#include "lab/recorded.h"
#include "lab/render.h"
#include "lab/test_traces.h"

namespace tcpscope::lab {
namespace {

using namespace testing;

std::vector<std::string> lines(const std::string &s)
{
	std::vector<std::string> out;
	size_t at = 0;
	for (size_t nl; (nl = s.find('\n', at)) != std::string::npos; at = nl + 1)
		out.push_back(s.substr(at, nl - at));
	return out;
}

TEST(LabRender, TextDiagramOfClose3)
{
	const Experiment &e = *find_experiment("close3");
	Trace t = close3("default");
	t.calls.push_back({1000000000ull + 256000, S, "close()", 0, 0});
	t.calls.push_back({1000000000ull + 1000, C, "connect()", -1, EINPROGRESS});
	auto l = lines(render_text(e, t, judge(t)));
	ASSERT_GE(l.size(), 20u);
	EXPECT_EQ(l[0], "tcpscope lab close3 --variant default: the client sends 5 bytes and "
			"closes; the server reads to EOF and closes at once");
	EXPECT_EQ(l[1], "claim (S4): \"" + e.claim + "\"");
	EXPECT_EQ(l[3], "    t (ms)              client 10.77.0.1:58620  "
			"                                              server 10.77.0.2:8080");
	auto has = [&](const std::string &want) {
		for (const auto &x : l)
			if (x == want)
				return true;
		ADD_FAILURE() << "no line '" << want << "' in:\n" << render_text(e, t, judge(t));
		return false;
	};
	has("     0.001          connect() = -1 EINPROGRESS |                                     "
	    "       |");
	has("     0.123                                     |-- S seq 0 len 0 -------------------"
	    "------->|");
	has("     0.157                                     |<------------------- S. seq 0 ack 1 "
	    "len 0 --|");
	has("     0.191                                     |                                    "
	    "        | [SYN_RECV]");
	has("     0.039                                     |                                    "
	    "        | [listener LISTEN]");
	has("     0.224                                     |-- P. seq 1 ack 1 len 5 ------------"
	    "------->|");
	has("     0.258                         [FIN_WAIT1] |                                    "
	    "        |");
	has("     0.256                                     |                                    "
	    "        | close() = 0");
	has("     0.578   (ss: TIME_WAIT timewait 60.000 s) |                                    "
	    "        |");
	EXPECT_EQ(l.back(), "verdict: HOLDS: \"" + e.claim +
				    "\": 3 segments (F., F., .), server TcpExtDelayedACKs +0: "
				    "close() won the race with the delayed-ACK timer, its FIN "
				    "carried the ACK 0.019 ms after the client's FIN");
}

TEST(LabRender, DroppedSegmentAndSkippedVerdict)
{
	const Experiment &e = *find_experiment("close3");
	Trace t = close3("default");
	t.packets.back().dropped = true;
	Verdict v;
	v.reason = "the run failed: failed to wait for X";
	auto l = lines(render_text(e, t, v));
	EXPECT_EQ(l.back(), "verdict: SKIPPED: the run failed: failed to wait for X");
	bool seen = false;
	for (const auto &x : l)
		seen |= x.find("|-- . seq 7 ack 2 len 0 -------------------X |") !=
			std::string::npos;
	EXPECT_TRUE(seen);
}

TEST(LabRender, JsonObject)
{
	const Experiment &e = *find_experiment("handshake");
	Trace t = handshake();
	t.setup.push_back("server net.ipv4.tcp_fastopen=3");
	t.calls.push_back({1000000000ull + 1000, C, "connect()", -1, EINPROGRESS});
	std::string j = render_json(e, t, judge(t));
	EXPECT_EQ(j.back(), '\n');
	EXPECT_EQ(j.find('\n'), j.size() - 1); // one line
	auto has = [&](const std::string &want) {
		EXPECT_NE(j.find(want), std::string::npos) << want << " not in " << j;
	};
	has("{\"experiment\":\"handshake\",\"variant\":\"default\",\"claim\":");
	has("\"verdict\":\"holds\",\"summary\":\"3 segments: ");
	has("\"client\":\"10.77.0.1:58620\",\"server\":\"10.77.0.2:8080\"");
	has("\"setup\":[\"server net.ipv4.tcp_fastopen=3\"]");
	has("\"packets\":[{\"t_us\":123,\"from\":\"client\",\"flags\":\"S\",\"seq\":0,\"ack\":0,"
	    "\"len\":0,\"win\":64240,\"raw_seq\":1615484665,\"raw_ack\":0,\"sport\":58620,\"dport\":8080,\"fastopen\":null,"
	    "\"gso_segs\":1,\"dropped\":false},");
	has("{\"t_us\":157,\"from\":\"server\",\"flags\":\"S.\",\"seq\":0,\"ack\":1,\"len\":0,"
	    "\"win\":64240,\"raw_seq\":2955813398,\"raw_ack\":1615484666,\"sport\":8080,\"dport\":58620,"
	    "\"fastopen\":null,\"gso_segs\":1,\"dropped\":false}");
	has("\"transitions\":[{\"t_us\":39,\"side\":\"server\",\"old\":\"CLOSE\",\"new\":"
	    "\"LISTEN\",\"sport\":8080,\"dport\":0},");
	has("\"calls\":[{\"t_us\":1,\"side\":\"client\",\"call\":\"connect()\",\"ret\":-1,"
	    "\"errno\":\"EINPROGRESS\"}]");
	has("\"counters\":{\"client\":{\"TcpActiveOpens\":1,\"TcpOutSegs\":2},\"server\":{"
	    "\"TcpOutSegs\":1,\"TcpPassiveOpens\":1}}");
	has("\"paths\":{\"client\":[\"CLOSE\",\"SYN_SENT\",\"ESTABLISHED\"],\"server\":["
	    "\"LISTEN\",\"SYN_RECV\",\"ESTABLISHED\"]}");
	has("\"numbers\":{\"handshake_segments\":3,\"client_isn\":1615484665,");
	has("\"notes\":[]}");
	Verdict skipped;
	skipped.reason = "no sch_netem";
	j = render_json(e, t, skipped);
	has("\"verdict\":\"skipped\",\"reason\":\"no sch_netem\"");
}

TEST(LabRender, JsonStrings)
{
	EXPECT_EQ(json_string("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(LabRender, Pcap)
{
	Trace t = handshake();
	std::string p = render_pcap(t);
	ASSERT_EQ(p.size(), 24 + 3 * (16 + 54u));
	uint32_t magic, linktype, sec, usec, caplen, len;
	memcpy(&magic, p.data(), 4);
	memcpy(&linktype, p.data() + 20, 4);
	EXPECT_EQ(magic, 0xa1b2c3d4u);
	EXPECT_EQ(linktype, 1u); // Ethernet
	memcpy(&sec, p.data() + 24, 4);
	memcpy(&usec, p.data() + 28, 4);
	memcpy(&caplen, p.data() + 32, 4);
	memcpy(&len, p.data() + 36, 4);
	EXPECT_EQ(sec, 1700000001u); // realtime offset + 1 s of monotonic time
	EXPECT_EQ(usec, 123u);
	EXPECT_EQ(caplen, 54u);
	EXPECT_EQ(len, 54u);
	EXPECT_EQ(memcmp(p.data() + 40, t.packets[0].frame.data(), 54), 0);
}

TEST(LabRender, Svg)
{
	// keepalive --variant dead, recorded: three probes 1 s apart, each answer dropped
	const recorded::Run *run = nullptr;
	for (const auto &r : recorded::runs())
		if (std::string(r.experiment) == "keepalive" && std::string(r.variant) == "dead")
			run = &r;
	ASSERT_TRUE(run);
	const Experiment &e = *find_experiment("keepalive");
	Trace t = recorded::to_trace(*run);
	std::string s = render_svg(e, t, judge(t));
	EXPECT_EQ(s.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\"", 0), 0u);
	EXPECT_EQ(s.substr(s.size() - 7), "</svg>\n");
	auto count = [&](const std::string &needle) {
		size_t n = 0;
		for (size_t at = 0; (at = s.find(needle, at)) != std::string::npos; at++)
			n++;
		return n;
	};
	size_t dropped = 0;
	for (const auto &p : t.packets)
		dropped += p.dropped;
	ASSERT_EQ(dropped, 3u);
	// one arrow per segment, the dropped ones dashed and ending in an X halfway
	EXPECT_EQ(count("class=\"seg\""), t.packets.size() - dropped);
	EXPECT_EQ(count("class=\"drop\""), dropped);
	EXPECT_EQ(count("class=\"x\">X</text>"), dropped);
	// the idle time and each interval break the time axis: a zigzag on both lifelines
	EXPECT_EQ(count("class=\"gap\">"), 4u);
	EXPECT_EQ(count("stroke=\"#666\" fill=\"white\""), 8u);
	EXPECT_EQ(count("> s later</text>"), 0u);
	EXPECT_NE(s.find(">R. seq 1 ack 1 len 0</text>"), std::string::npos);
	EXPECT_NE(s.find("class=\"st\">CLOSE</text>"), std::string::npos);
	EXPECT_NE(s.find("class=\"st2\">listener LISTEN</text>"), std::string::npos);
	EXPECT_NE(s.find(">recv() = -1 ETIMEDOUT</text>"), std::string::npos);
	EXPECT_NE(s.find(">verdict: HOLDS: 3 probes (TcpExtTCPKeepAlive +3), none answered"),
		  std::string::npos);
	// text is escaped
	t.calls.push_back({t.t0_ns, Side::client, "send(<&>)", 1, 0});
	s = render_svg(e, t, judge(t));
	EXPECT_NE(s.find("send(&lt;&amp;&gt;) = 1"), std::string::npos);
}

TEST(LabRender, Lists)
{
	auto l = lines(render_list_text());
	ASSERT_EQ(l.size(), 2 * catalog().size());
	EXPECT_EQ(l[3], "              variants: default, quickack, late-close, kmod-quickack, "
			"kmod-delack");
	auto j = lines(render_list_json());
	ASSERT_EQ(j.size(), catalog().size());
	EXPECT_EQ(j[0].rfind("{\"experiment\":\"handshake\",\"claim\":", 0), 0u);
	EXPECT_NE(j[1].find("{\"name\":\"quickack\",\"what\":"), std::string::npos);
	EXPECT_EQ(lines(render_variants(*find_experiment("close3")))[0],
		  "default      the client sends 5 bytes and closes; the server reads to EOF and "
		  "closes at once (default)");
}

} // namespace
} // namespace tcpscope::lab

// SPDX-License-Identifier: GPL-2.0
// The aggregates as stats/serve present them: sums (kernel/aggregates.h), histogram buckets,
// labels, and exposition text that the writer accepts (output/stats_report.h).
#include <gtest/gtest.h>

#include <netinet/tcp.h>

#include "output/stats_report.h"

using namespace tcpscope;

namespace {

Agg sample()
{
	Agg a{};
	a.sockets[TCP_ESTABLISHED] = 3;
	a.sockets[TCP_TIME_WAIT] = 2;
	a.sockets[TCP_LISTEN] = -1; // a race at start-up: shown as 0, never negative
	a.transitions[TCP_FIN_WAIT2][TCP_TIME_WAIT] = 2;
	a.time_hist[TCP_ESTABLISHED][21] = 2;                      // [1.048576, 2.097152) s
	a.time_hist[TCP_ESTABLISHED][TCPSCOPE_HIST_SLOTS - 1] = 1; // overflow
	a.time_sum_ns[TCP_ESTABLISHED] = 4'000'000'000ull;
	a.tw_entered = 2;
	a.tw_left[TCPSCOPE_TW_CAUSE_TIMER] = 1;
	a.keepalive_probes = 7;
	a.conns[TCPSCOPE_OPEN_ACTIVE][TCPSCOPE_CLOSE_ACTIVE_4WAY] = 1;
	a.conns[TCPSCOPE_OPEN_PASSIVE][TCPSCOPE_CLOSE_KEEPALIVE] = 2;
	a.conns[TCPSCOPE_OPEN_UNKNOWN][TCPSCOPE_CLOSE_KEEPALIVE] = 1;
	return a;
}

const Sample *find(const MetricFamily &f, const Labels &l)
{
	for (const auto &s : f.samples)
		if (s.labels == l)
			return &s;
	return nullptr;
}

const MetricFamily &family(const std::vector<MetricFamily> &fs, const std::string &name)
{
	for (const auto &f : fs)
		if (f.name == name)
			return f;
	throw std::runtime_error("no family " + name);
}

} // namespace

TEST(Aggregate, AddSumsEveryField)
{
	Agg a = sample(), b = sample();
	add(a, b);
	EXPECT_EQ(6, a.sockets[TCP_ESTABLISHED]);
	EXPECT_EQ(4u, a.transitions[TCP_FIN_WAIT2][TCP_TIME_WAIT]);
	EXPECT_EQ(4u, a.time_hist[TCP_ESTABLISHED][21]);
	EXPECT_EQ(8'000'000'000ull, a.time_sum_ns[TCP_ESTABLISHED]);
	EXPECT_EQ(4u, a.tw_entered);
	EXPECT_EQ(2u, a.tw_left[TCPSCOPE_TW_CAUSE_TIMER]);
	EXPECT_EQ(14u, a.keepalive_probes);
	EXPECT_EQ(2u, a.conns[TCPSCOPE_OPEN_ACTIVE][TCPSCOPE_CLOSE_ACTIVE_4WAY]);
	EXPECT_EQ(6u, keepalive_kills(a));
}

TEST(Aggregate, TotalOverNamespacesOrOne)
{
	Snapshot s;
	s.by_netns[100] = sample();
	s.by_netns[200] = sample();
	EXPECT_EQ(6, total(s).sockets[TCP_ESTABLISHED]);
	EXPECT_EQ(3, total(s, 200).sockets[TCP_ESTABLISHED]);
	EXPECT_EQ(0, total(s, 300).sockets[TCP_ESTABLISHED]);
}

TEST(Aggregate, HistogramBoundsArePowersOfTwoMicroseconds)
{
	auto b = hist_bounds();
	ASSERT_EQ(size_t(TCPSCOPE_HIST_SLOTS - 1), b.size());
	EXPECT_DOUBLE_EQ(1e-6, b[0]);
	EXPECT_DOUBLE_EQ(2.097152, b[21]);
}

TEST(Aggregate, MetricsValuesAndLabels)
{
	Snapshot s;
	s.by_netns[4026531840u] = sample();
	auto fs = metrics(s, true);
	const Labels ns = {{"netns", "4026531840"}};

	auto *est = find(family(fs, "tcpscope_sockets"), {ns[0], {"state", "ESTABLISHED"}});
	ASSERT_NE(nullptr, est);
	EXPECT_EQ(3.0, std::get<double>(est->value));
	auto *lis = find(family(fs, "tcpscope_sockets"), {ns[0], {"state", "LISTEN"}});
	ASSERT_NE(nullptr, lis);
	EXPECT_EQ(0.0, std::get<double>(lis->value));

	auto *tr = find(family(fs, "tcpscope_transitions_total"),
			{ns[0], {"from", "FIN_WAIT2"}, {"to", "TIME_WAIT"}});
	ASSERT_NE(nullptr, tr);
	EXPECT_EQ(2.0, std::get<double>(tr->value));

	auto *h = find(family(fs, "tcpscope_state_duration_seconds"),
		       {ns[0], {"state", "ESTABLISHED"}});
	ASSERT_NE(nullptr, h);
	const auto &hist = std::get<Histogram>(h->value);
	EXPECT_EQ(0u, hist.cumulative[20]);
	EXPECT_EQ(2u, hist.cumulative[21]);
	EXPECT_EQ(2u, hist.cumulative.back());
	EXPECT_EQ(3u, hist.count); // the overflow slot only in +Inf
	EXPECT_DOUBLE_EQ(4.0, hist.sum);

	auto *left = find(family(fs, "tcpscope_timewait_left_total"), {ns[0], {"cause", "timer"}});
	ASSERT_NE(nullptr, left);
	EXPECT_EQ(1.0, std::get<double>(left->value));
	auto *k = find(family(fs, "tcpscope_keepalive_kills_total"), {ns[0]});
	ASSERT_NE(nullptr, k);
	EXPECT_EQ(3.0, std::get<double>(k->value));
	auto *c = find(family(fs, "tcpscope_connections_closed_total"),
		       {ns[0], {"open", "active"}, {"close", "active_4way"}});
	ASSERT_NE(nullptr, c);
	EXPECT_EQ(1.0, std::get<double>(c->value));
}

TEST(Aggregate, WithoutPerNetnsOneSeriesPerLabelSet)
{
	Snapshot s;
	s.by_netns[1] = sample();
	s.by_netns[2] = sample();
	auto fs = metrics(s, false);
	auto *est = find(family(fs, "tcpscope_sockets"), {{"state", "ESTABLISHED"}});
	ASSERT_NE(nullptr, est);
	EXPECT_EQ(6.0, std::get<double>(est->value));
	EXPECT_EQ(10u, family(fs, "tcpscope_sockets").samples.size());
}

TEST(Aggregate, TimewaitLimitPerNamespaceOrSummed)
{
	Snapshot s;
	s.by_netns[1] = sample();
	s.by_netns[2] = sample();
	s.tw_limit = {{1, 4096}, {2, 262144}};
	auto per_ns = metrics(s, true);
	const auto &f = family(per_ns, "tcpscope_timewait_limit");
	EXPECT_EQ(MetricType::gauge, f.type);
	ASSERT_EQ(2u, f.samples.size());
	auto *one = find(f, {{"netns", "1"}});
	ASSERT_NE(nullptr, one);
	EXPECT_EQ(4096.0, std::get<double>(one->value));
	auto *two = find(f, {{"netns", "2"}});
	ASSERT_NE(nullptr, two);
	EXPECT_EQ(262144.0, std::get<double>(two->value));

	auto summed = metrics(s, false);
	const auto &g = family(summed, "tcpscope_timewait_limit");
	ASSERT_EQ(1u, g.samples.size());
	EXPECT_TRUE(g.samples[0].labels.empty());
	EXPECT_EQ(266240.0, std::get<double>(g.samples[0].value));

	// no namespace could be read (no privilege): no family rather than a zero limit
	s.tw_limit.clear();
	for (const auto &fam : metrics(s, false))
		EXPECT_NE("tcpscope_timewait_limit", fam.name);
}

TEST(Aggregate, EveryFamilyIsValidExposition)
{
	Snapshot s;
	s.by_netns[1] = sample();
	Exposition e;
	for (const auto &f : metrics(s, true)) {
		auto err = e.add(f);
		EXPECT_FALSE(err.has_value()) << f.name << ": " << err->message();
	}
	EXPECT_NE(std::string::npos,
		  e.text().find("tcpscope_state_duration_seconds_bucket{netns=\"1\",state="
				"\"ESTABLISHED\",le=\"2.097152\"} 2\n"));
}

TEST(Aggregate, JsonNamesAndBuckets)
{
	EXPECT_EQ(to_json(sample(), {}, 1.5, "2026-11-29T20:33:01.123Z")
			  .rfind("{\"time\":\"2026-11-29T20:33:01.123Z\",\"uptime_s\":1.500,", 0),
		  0u);
	EXPECT_EQ(iso_time(1795984381123), "2026-11-29T20:33:01.123Z");
	EXPECT_EQ(iso_time(0), "1970-01-01T00:00:00.000Z");
	auto j = to_json(sample(), {}, 1.5);
	EXPECT_NE(std::string::npos, j.find("\"ESTABLISHED\":3"));
	EXPECT_NE(std::string::npos, j.find("\"LISTEN\":0"));
	EXPECT_NE(std::string::npos,
		  j.find("\"ESTABLISHED\":{\"count\":3,\"sum_s\":4.000000,\"buckets\":[{\"le_us\":"
			 "2097152,\"count\":2},{\"le_us\":null,\"count\":1}]}"));
	EXPECT_NE(std::string::npos,
		  j.find("{\"from\":\"FIN_WAIT2\",\"to\":\"TIME_WAIT\",\"count\":2}"));
	EXPECT_NE(std::string::npos, j.find("\"left\":{\"timer\":1,\"kill\":0,\"netns\":0}"));
	EXPECT_NE(std::string::npos, j.find("\"keepalive_probes\":7,\"keepalive_kills\":3,"));
}

TEST(Aggregate, EveryLossIsNamedInJsonMetricsAndTable)
{
	Snapshot s;
	Agg a = sample();
	s.agent.dropped = dropped_by_reason({.lost = 9, .tw_full = 4, .tw_stale = 1});
	s.agent.recursion_misses = {{"handle_set_state", 140}, {"handle_destroy", 0}};
	a.untracked = 4;
	s.by_netns[1] = a;

	auto j = to_json(a, s.agent, 1);
	EXPECT_NE(std::string::npos, j.find("\"gauges_untracked\":4,\"lost_track\":true,"));
	EXPECT_NE(std::string::npos,
		  j.find("\"dropped\":{\"ring_buffer_full\":9,\"conn_table_full\":0,"
			 "\"timewait_table_full\":4,\"listener_table_full\":0,"
			 "\"embryo_table_full\":0,\"port_table_full\":0,\"netns_table_full\":0,"
			 "\"timewait_exit_missed\":1},"
			 "\"recursion_misses\":{\"handle_set_state\":140,\"handle_destroy\":0},"
			 "\"recounted\":0}}"));

	Exposition e;
	for (const auto &f : metrics(s, false)) {
		auto err = e.add(f);
		EXPECT_FALSE(err.has_value()) << f.name << ": " << err->message();
	}
	EXPECT_NE(
		std::string::npos,
		e.text().find("tcpscope_kernel_dropped_total{reason=\"timewait_table_full\"} 4\n"));
	EXPECT_NE(std::string::npos,
		  e.text().find("tcpscope_prog_recursion_misses_total{prog=\"handle_set_state\"} "
				"140\n"));
	EXPECT_NE(std::string::npos, e.text().find("tcpscope_untracked_sockets_total 4\n"));

	EXPECT_EQ("WARNING: figures incomplete: dropped timewait_table_full 4, "
		  "timewait_exit_missed 1; gauges short by up to 4 sockets; runs skipped "
		  "handle_set_state 140",
		  lost_track_warning(s.agent, a));
	// the ring buffer alone carries nothing the aggregates need
	s.agent.dropped = dropped_by_reason({.lost = 9});
	s.agent.recursion_misses = {};
	a.untracked = 0;
	EXPECT_EQ("", lost_track_warning(s.agent, a));
	EXPECT_NE(std::string::npos, to_json(a, s.agent, 1).find("\"lost_track\":false"));
	a.untracked = 2;
	EXPECT_EQ("WARNING: figures incomplete: gauges short by up to 2 sockets",
		  lost_track_warning(s.agent, a));
}

TEST(Aggregate, TableShowsRatesAgainstThePreviousSnapshot)
{
	Agg before = sample(), now = sample();
	now.transitions[TCP_FIN_WAIT2][TCP_TIME_WAIT] = 12;
	auto t = to_table(now, &before, 2.0, {});
	EXPECT_NE(std::string::npos, t.find("FIN_WAIT2    TIME_WAIT              12       5.0/s"));
	EXPECT_NE(std::string::npos, t.find("ESTABLISHED          3"));
}

TEST(Aggregate, BusiestPortsByTimewaitAndByAcceptedSincePrev)
{
	Snapshot before, now;
	before.ports = {{1, 80, 0, 10}, {1, 443, 0, 4}};
	now.ports = {
		{1, 80, 5, 12}, {2, 80, 1, 3}, {1, 443, 9, 14}, {1, 8080, 9, 0}, {1, 22, 0, 1}};

	auto tw = busiest_ports(now, nullptr, PortOrder::timewait, 2);
	ASSERT_EQ(2u, tw.size());
	EXPECT_EQ(443, tw[0].port); // 9, ties to the lower port
	EXPECT_EQ(8080, tw[1].port);

	auto acc = busiest_ports(now, &before, PortOrder::accepted, 10);
	ASSERT_EQ(3u, acc.size());
	EXPECT_EQ(443, acc[0].port); // 14 - 4
	EXPECT_EQ(10u, acc[0].accepted);
	EXPECT_EQ(80, acc[1].port); // 12 + 3 - 10: both namespaces
	EXPECT_EQ(5u, acc[1].accepted);
	EXPECT_EQ(22, acc[2].port);

	auto one = busiest_ports(now, nullptr, PortOrder::timewait, 10, 2u);
	ASSERT_EQ(1u, one.size());
	EXPECT_EQ(1, one[0].timewait);
}

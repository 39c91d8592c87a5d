// SPDX-License-Identifier: GPL-2.0
// The aggregates as stats and serve present them: Prometheus metric families, one JSON
// object, a terminal table. Metric names follow Prometheus' conventions
// (Documentation/tcpscope/stats.rst lists them all).
#include "output/stats_report.h"

#include <fmt/format.h>

#include <ctime>

#include <algorithm>
#include <cmath>

#include "event/record.h"
#include "event/states.h"

namespace tcpscope {

namespace {

std::string state_label(unsigned st)
{
	return std::string(state_name(st));
}

std::string netns_label(uint32_t ino)
{
	return std::to_string(ino);
}

} // namespace

std::vector<double> hist_bounds()
{
	std::vector<double> b;
	for (int i = 0; i < TCPSCOPE_HIST_SLOTS - 1; i++)
		b.push_back(std::ldexp(1e-6, i));
	return b;
}

std::vector<MetricFamily> metrics(const Snapshot &s, bool per_netns)
{
	std::map<uint32_t, Agg> groups;
	if (per_netns)
		groups = s.by_netns;
	else
		groups[0] = total(s);

	auto labels = [&](uint32_t ino, Labels rest) {
		if (per_netns)
			rest.insert(rest.begin(), {"netns", netns_label(ino)});
		return rest;
	};

	MetricFamily sockets{"tcpscope_sockets",
			     "TCP sockets per state now (as ss -tan counts them; TIME_WAIT "
			     "and an orphaned FIN_WAIT2 by the timewait socket's substate)",
			     MetricType::gauge,
			     {}};
	MetricFamily trans{"tcpscope_transitions_total",
			   "TCP state transitions, the timewait handoff folded as in watch",
			   MetricType::counter,
			   {}};
	MetricFamily dur{"tcpscope_state_duration_seconds",
			 "time TCP sockets spent in a state, observed when they left it",
			 MetricType::histogram,
			 {}};
	MetricFamily tw_in{"tcpscope_timewait_entered_total",
			   "sockets handed to a timewait socket (TIME_WAIT or orphaned FIN_WAIT2)",
			   MetricType::counter,
			   {}};
	MetricFamily tw_out{"tcpscope_timewait_left_total",
			    "timewait sockets that went away, by cause",
			    MetricType::counter,
			    {}};
	MetricFamily ka{"tcpscope_keepalive_probes_total",
			"keepalive probes sent",
			MetricType::counter,
			{}};
	MetricFamily kills{"tcpscope_keepalive_kills_total",
			   "connections closed because keepalive probes went unanswered",
			   MetricType::counter,
			   {}};
	MetricFamily conns{"tcpscope_connections_closed_total",
			   "connections that ended, by how they opened and how they closed "
			   "(close=\"keepalive_timeout\": killed by keepalive)",
			   MetricType::counter,
			   {}};
	MetricFamily untracked{"tcpscope_untracked_sockets_total",
			       "sockets the gauges could not follow (a kernel table full): "
			       "tcpscope_sockets is short by up to this many",
			       MetricType::counter,
			       {}};
	const auto bounds = hist_bounds();

	for (const auto &[ino, a] : groups) {
		for (unsigned st : ss_states)
			sockets.samples.push_back(
				{labels(ino, {{"state", state_label(st)}}),
				 static_cast<double>(a.sockets[st] < 0 ? 0 : a.sockets[st])});
		for (unsigned o = 0; o < TCPSCOPE_NSTATES; o++)
			for (unsigned n = 0; n < TCPSCOPE_NSTATES; n++)
				if (a.transitions[o][n])
					trans.samples.push_back(
						{labels(ino, {{"from", state_label(o)},
							      {"to", state_label(n)}}),
						 static_cast<double>(a.transitions[o][n])});
		for (unsigned st : ss_states) {
			Histogram h;
			uint64_t cum = 0;
			for (size_t i = 0; i < bounds.size(); i++) {
				cum += a.time_hist[st][i];
				h.cumulative.push_back(cum);
			}
			h.count = cum + a.time_hist[st][TCPSCOPE_HIST_SLOTS - 1];
			if (!h.count)
				continue;
			h.bounds = bounds;
			h.sum = a.time_sum_ns[st] / 1e9;
			dur.samples.push_back({labels(ino, {{"state", state_label(st)}}), h});
		}
		tw_in.samples.push_back({labels(ino, {}), static_cast<double>(a.tw_entered)});
		for (unsigned c = 1; c < TCPSCOPE_NCAUSE; c++)
			tw_out.samples.push_back(
				{labels(ino, {{"cause", std::string(cause_name(c))}}),
				 static_cast<double>(a.tw_left[c])});
		ka.samples.push_back({labels(ino, {}), static_cast<double>(a.keepalive_probes)});
		kills.samples.push_back({labels(ino, {}), static_cast<double>(keepalive_kills(a))});
		untracked.samples.push_back({labels(ino, {}), static_cast<double>(a.untracked)});
		for (unsigned o = 0; o < TCPSCOPE_NOPEN; o++)
			for (unsigned c = 0; c < TCPSCOPE_NCLOSE; c++)
				if (a.conns[o][c])
					conns.samples.push_back(
						{labels(ino,
							{{"open", std::string(open_name(o))},
							 {"close", std::string(close_name(c))}}),
						 static_cast<double>(a.conns[o][c])});
	}

	// The namespace's TIME_WAIT limit beside its TIME_WAIT gauge (summed like every series
	// without --per-netns), for alerts on the share in use (deploy/tcpscope-rules.yml).
	MetricFamily tw_limit{
		"tcpscope_timewait_limit",
		"timewait sockets the namespace may hold (net.ipv4.tcp_max_tw_buckets)",
		MetricType::gauge,
		{}};
	double limit_sum = 0;
	for (const auto &[ino, limit] : s.tw_limit) {
		if (per_netns)
			tw_limit.samples.push_back({labels(ino, {}), static_cast<double>(limit)});
		limit_sum += static_cast<double>(limit);
	}
	if (!per_netns && !s.tw_limit.empty())
		tw_limit.samples.push_back({labels(0, {}), limit_sum});

	std::vector<MetricFamily> out{sockets, trans, dur,   tw_in,    tw_out,
				      ka,      kills, conns, untracked};
	MetricFamily dropped{"tcpscope_kernel_dropped_total",
			     "what the kernel side could not record, by reason "
			     "(Documentation/tcpscope/kernel.rst)",
			     MetricType::counter,
			     {}};
	for (const auto &d : s.agent.dropped)
		dropped.samples.push_back({{{"reason", d.name}}, static_cast<double>(d.count)});
	out.push_back(dropped);
	MetricFamily misses{"tcpscope_prog_recursion_misses_total",
			    "runs of a BPF program the kernel skipped (it was already running "
			    "on that CPU): the events of those runs are missing",
			    MetricType::counter,
			    {}};
	for (const auto &m : s.agent.recursion_misses)
		misses.samples.push_back({{{"prog", m.name}}, static_cast<double>(m.count)});
	out.push_back(misses);
	out.push_back({"tcpscope_recounted_total",
		       "gauges put right from the kernel's own state after a change no hook saw "
		       "(a late FIN_WAIT2 -> TIME_WAIT, a skipped run)",
		       MetricType::counter,
		       {{{}, static_cast<double>(s.agent.recounted)}}});
	if (!tw_limit.samples.empty())
		out.push_back(tw_limit);
	out.push_back({"tcpscope_connections_untracked_total",
		       "connections the kernel side could not track (connection table full)",
		       MetricType::counter,
		       {{{}, static_cast<double>(s.agent.conn_full)}}});
	out.push_back(
		{"tcpscope_netns_unaggregated_total",
		 "aggregate updates lost: no entry for the namespace (table full or no memory)",
		 MetricType::counter,
		 {{{}, static_cast<double>(s.agent.agg_full)}}});
	out.push_back({"tcpscope_seeded_sockets",
		       "sockets found by the start-up walk of every namespace",
		       MetricType::gauge,
		       {{{}, static_cast<double>(s.agent.seeded)}}});
	out.push_back({"tcpscope_uptime_seconds",
		       "seconds since the BPF programs were attached",
		       MetricType::gauge,
		       {{{}, s.uptime}}});
	return out;
}

std::string iso_time(int64_t unix_ms)
{
	time_t secs = static_cast<time_t>(unix_ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
			   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			   unix_ms % 1000);
}

std::string to_json(const Agg &a, const AgentCounters &agent, double uptime, std::string_view time)
{
	fmt::memory_buffer b;
	auto out = std::back_inserter(b);
	const char *sep = "";

	out = '{';
	if (!time.empty())
		fmt::format_to(out, "\"time\":\"{}\",", time);
	fmt::format_to(out, "\"uptime_s\":{:.3f},\"sockets\":{{", uptime);
	for (unsigned st : ss_states) {
		fmt::format_to(out, "{}\"{}\":{}", sep, state_name(st),
			       std::max<int64_t>(0, a.sockets[st]));
		sep = ",";
	}
	fmt::format_to(out, "}},\"transitions\":[");
	sep = "";
	for (unsigned o = 0; o < TCPSCOPE_NSTATES; o++)
		for (unsigned n = 0; n < TCPSCOPE_NSTATES; n++)
			if (a.transitions[o][n]) {
				fmt::format_to(
					out, "{}{{\"from\":\"{}\",\"to\":\"{}\",\"count\":{}}}",
					sep, state_name(o), state_name(n), a.transitions[o][n]);
				sep = ",";
			}
	fmt::format_to(out, "],\"time_in_state\":{{");
	sep = "";
	for (unsigned st : ss_states) {
		uint64_t count = 0;
		for (int i = 0; i < TCPSCOPE_HIST_SLOTS; i++)
			count += a.time_hist[st][i];
		if (!count)
			continue;
		// log2 buckets: "le_us" is the bucket's upper bound in microseconds
		fmt::format_to(out, "{}\"{}\":{{\"count\":{},\"sum_s\":{:.6f},\"buckets\":[", sep,
			       state_name(st), count, a.time_sum_ns[st] / 1e9);
		const char *bsep = "";
		for (int i = 0; i < TCPSCOPE_HIST_SLOTS; i++)
			if (a.time_hist[st][i]) {
				if (i == TCPSCOPE_HIST_SLOTS - 1)
					fmt::format_to(out, "{}{{\"le_us\":null,\"count\":{}}}",
						       bsep, a.time_hist[st][i]);
				else
					fmt::format_to(out, "{}{{\"le_us\":{},\"count\":{}}}", bsep,
						       1ull << i, a.time_hist[st][i]);
				bsep = ",";
			}
		fmt::format_to(out, "]}}");
		sep = ",";
	}
	fmt::format_to(out, "}},\"timewait\":{{\"entered\":{},\"left\":{{", a.tw_entered);
	sep = "";
	for (unsigned c = 1; c < TCPSCOPE_NCAUSE; c++) {
		fmt::format_to(out, "{}\"{}\":{}", sep, cause_name(c), a.tw_left[c]);
		sep = ",";
	}
	fmt::format_to(out,
		       "}},\"late_recounted\":{}}},\"keepalive_probes\":{},\"keepalive_kills\":{},"
		       "\"connections\":[",
		       a.tw_recounted, a.keepalive_probes, keepalive_kills(a));
	sep = "";
	for (unsigned o = 0; o < TCPSCOPE_NOPEN; o++)
		for (unsigned c = 0; c < TCPSCOPE_NCLOSE; c++)
			if (a.conns[o][c]) {
				fmt::format_to(
					out, "{}{{\"open\":\"{}\",\"close\":\"{}\",\"count\":{}}}",
					sep, open_name(o), close_name(c), a.conns[o][c]);
				sep = ",";
			}
	fmt::format_to(out,
		       "],\"gauges_untracked\":{},\"lost_track\":{},\"agent\":{{\"untracked\":{},"
		       "\"netns_unaggregated\":{},\"seeded\":{},\"dropped\":{{",
		       a.untracked, lost_track(agent, a) ? "true" : "false", agent.conn_full,
		       agent.agg_full, agent.seeded);
	sep = "";
	for (const auto &d : agent.dropped) {
		fmt::format_to(out, "{}\"{}\":{}", sep, d.name, d.count);
		sep = ",";
	}
	fmt::format_to(out, "}},\"recursion_misses\":{{");
	sep = "";
	for (const auto &m : agent.recursion_misses) {
		fmt::format_to(out, "{}\"{}\":{}", sep, m.name, m.count);
		sep = ",";
	}
	fmt::format_to(out, "}},\"recounted\":{}}}}}", agent.recounted);
	return fmt::to_string(b);
}

std::string to_table(const Agg &a, const Agg *prev, double interval, const AgentCounters &agent)
{
	fmt::memory_buffer b;
	auto out = std::back_inserter(b);
	auto rate = [&](uint64_t now, uint64_t then) {
		return prev && interval > 0 ? fmt::format("{:>10.1f}/s", (now - then) / interval)
					    : std::string();
	};

	fmt::format_to(out, "{:<13}{:>9}\n", "STATE", "SOCKETS");
	for (unsigned st : ss_states)
		fmt::format_to(out, "{:<13}{:>9}\n", state_name(st),
			       std::max<int64_t>(0, a.sockets[st]));
	fmt::format_to(out, "\n{:<13}{:<13}{:>12}{:>12}\n", "FROM", "TO", "COUNT",
		       prev ? "RATE" : "");
	for (unsigned o = 0; o < TCPSCOPE_NSTATES; o++)
		for (unsigned n = 0; n < TCPSCOPE_NSTATES; n++)
			if (a.transitions[o][n])
				fmt::format_to(out, "{:<13}{:<13}{:>12}{}\n", state_name(o),
					       state_name(n), a.transitions[o][n],
					       rate(a.transitions[o][n],
						    prev ? prev->transitions[o][n] : 0));
	fmt::format_to(out,
		       "\nTIME_WAIT entered {} (timer {}, kill {}, netns {} left); "
		       "keepalive probes {}\n",
		       a.tw_entered, a.tw_left[TCPSCOPE_TW_CAUSE_TIMER],
		       a.tw_left[TCPSCOPE_TW_CAUSE_KILL], a.tw_left[TCPSCOPE_TW_CAUSE_NETNS],
		       a.keepalive_probes);
	if (auto w = lost_track_warning(agent, a); !w.empty())
		fmt::format_to(out, "{}\n", w);
	return fmt::to_string(b);
}

std::string lost_track_warning(const AgentCounters &agent, const Agg &a)
{
	if (!lost_track(agent, a))
		return "";
	std::string w = "WARNING: figures incomplete:";
	const char *sep = " dropped ";
	for (const auto &d : agent.dropped)
		if (d.count && d.name != "ring_buffer_full") {
			w += fmt::format("{}{} {}", sep, d.name, d.count);
			sep = ", ";
		}
	bool first = *sep != ',';
	if (a.untracked) {
		w += fmt::format("{}gauges short by up to {} sockets", first ? " " : "; ",
				 a.untracked);
		first = false;
	}
	sep = first ? " runs skipped " : "; runs skipped ";
	for (const auto &m : agent.recursion_misses)
		if (m.count) {
			w += fmt::format("{}{} {}", sep, m.name, m.count);
			sep = ", ";
		}
	return w;
}

} // namespace tcpscope

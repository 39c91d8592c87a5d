// SPDX-License-Identifier: GPL-2.0
// The frame of `top`: the aggregates of stats as rates, gauges and the busiest ports, laid
// out for 80 columns and cut to the screen.
#include "output/top_view.h"

#include <fmt/format.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <utility>

#include "event/states.h"
#include "output/stats_report.h"

namespace tcpscope {

namespace {

constexpr size_t nstates = std::size(ss_states);

constexpr const char *quit_hint = "q: quit";

// A namespace that went away between two snapshots takes its counts with it: no negative
// rates.
uint64_t delta(uint64_t now, uint64_t then)
{
	return now >= then ? now - then : 0;
}

int64_t gauge(int64_t v)
{
	return v < 0 ? 0 : v; // a transition seen before the seed walk counted its socket
}

std::string per_second(uint64_t n, double dt)
{
	return dt > 0 ? fmt::format("{:.1f}", n / dt) : std::string("-");
}

std::string cell(std::string_view label, const std::string &value)
{
	return fmt::format("{:<13}{:>11}", label, value);
}

std::string hms(double seconds)
{
	auto s = static_cast<uint64_t>(seconds > 0 ? seconds : 0);
	return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

std::string fit(std::string s, size_t cols)
{
	if (s.size() > cols)
		s.resize(cols);
	s.erase(s.find_last_not_of(' ') + 1);
	return s;
}

std::string title(const Snapshot &now, const TopOptions &o, const TopScreen &screen)
{
	std::string t = fmt::format("tcpscope top  {}  every {:g}s  up {}",
				    o.netns ? fmt::format("netns {}", *o.netns) : "all netns",
				    o.interval, hms(now.uptime));
	size_t width = std::min(screen.cols, layout_cols);
	size_t hint = strlen(quit_hint);

	if (screen.keys && t.size() + 2 + hint <= width)
		t += std::string(width - hint - t.size(), ' ') + quit_hint;
	return t;
}

struct TransitionRow {
	unsigned from, to;
	uint64_t delta, total;
};

} // namespace

std::vector<std::string> render_top(const Snapshot &now, const Snapshot *prev, const TopOptions &o,
				    const TopScreen &screen)
{
	const Agg a = total(now, o.netns);
	const Agg p = prev ? total(*prev, o.netns) : Agg{};
	const double dt = prev ? now.uptime - prev->uptime : 0;
	auto rate = [&](uint64_t n, uint64_t then) { return per_second(delta(n, then), dt); };
	std::vector<std::string> lines;

	lines.push_back(title(now, o, screen));
	if (auto w = lost_track_warning(now.agent, a); !w.empty())
		lines.push_back(w);

	uint64_t left = 0, left_then = 0, closed = 0, closed_then = 0;
	for (int c = 0; c < TCPSCOPE_NCAUSE; c++) {
		left += a.tw_left[c];
		left_then += p.tw_left[c];
	}
	for (int op = 0; op < TCPSCOPE_NOPEN; op++)
		for (int c = 0; c < TCPSCOPE_NCLOSE; c++) {
			closed += a.conns[op][c];
			closed_then += p.conns[op][c];
		}
	lines.push_back(cell("TIME_WAIT", std::to_string(gauge(a.sockets[TCP_TIME_WAIT]))) + "  " +
			cell("entered/s", rate(a.tw_entered, p.tw_entered)) + "  " +
			cell("left/s", rate(left, left_then)));
	auto left_by = [&](int cause) { return rate(a.tw_left[cause], p.tw_left[cause]); };
	lines.push_back(cell("left timer/s", left_by(TCPSCOPE_TW_CAUSE_TIMER)) + "  " +
			cell("left kill/s", left_by(TCPSCOPE_TW_CAUSE_KILL)) + "  " +
			cell("left netns/s", left_by(TCPSCOPE_TW_CAUSE_NETNS)));
	lines.push_back(cell("keepalive/s", rate(a.keepalive_probes, p.keepalive_probes)) + "  " +
			cell("closed/s", rate(closed, closed_then)));
	lines.emplace_back();

	// Busiest first (over the interval; since start in the first frame); equal counts keep
	// the kernel's state order so that rows do not jump about.
	std::vector<TransitionRow> trans;
	for (unsigned f = 0; f < TCPSCOPE_NSTATES; f++)
		for (unsigned t = 0; t < TCPSCOPE_NSTATES; t++) {
			uint64_t n = a.transitions[f][t];
			if (n)
				trans.push_back({f, t, delta(n, p.transitions[f][t]), n});
		}
	std::stable_sort(trans.begin(), trans.end(),
			 [](const auto &x, const auto &y) { return x.delta > y.delta; });

	auto by_tw = busiest_ports(now, prev, PortOrder::timewait, o.ports, o.netns);
	std::vector<PortRow> by_accepted;
	if (dt > 0)
		by_accepted = busiest_ports(now, prev, PortOrder::accepted, o.ports, o.netns);

	// Rows left after the fixed lines (the two headers and the blank before the ports)
	// go to the states, then the ports, then transitions beyond the states; in a short
	// screen the ports keep one row and the states give way.
	const size_t fixed = lines.size() + 3;
	const size_t avail = screen.rows > fixed ? screen.rows - fixed : 0;
	const size_t ports_want = std::max(by_tw.size(), by_accepted.size());
	const size_t nports =
		std::min(ports_want, avail > nstates ? avail - nstates : size_t(avail > 0));
	const size_t mid = std::min(std::max(nstates, trans.size()), avail - nports);

	lines.push_back(fmt::format("{:<12}{:>8}    {:<12}{:<12}{:>10}{:>14}", "STATE", "SOCKETS",
				    "FROM", "TO", "RATE/s", "TOTAL"));
	for (size_t i = 0; i < mid; i++) {
		unsigned st = i < nstates ? ss_states[i] : 0;
		std::string l =
			st ? fmt::format("{:<12}{:>8}    ", state_name(st), gauge(a.sockets[st]))
			   : std::string(24, ' ');
		if (i < trans.size())
			l += fmt::format("{:<12}{:<12}{:>10}{:>14}", state_name(trans[i].from),
					 state_name(trans[i].to), per_second(trans[i].delta, dt),
					 trans[i].total);
		lines.push_back(l);
	}
	lines.emplace_back();
	lines.push_back(fmt::format("{:<8}{:>12}    {:<8}{:>12}", "LPORT", "TIME_WAIT", "LPORT",
				    "ACCEPTED/s"));
	for (size_t i = 0; i < nports; i++) {
		const PortRow *tw = i < by_tw.size() ? &by_tw[i] : nullptr;
		std::string l = tw ? fmt::format("{:<8}{:>12}    ", tw->port, tw->timewait)
				   : std::string(24, ' ');
		if (i < by_accepted.size())
			l += fmt::format("{:<8}{:>12}", by_accepted[i].port,
					 per_second(by_accepted[i].accepted, dt));
		lines.push_back(l);
	}

	for (auto &l : lines)
		l = fit(std::move(l), screen.cols);
	if (lines.size() > screen.rows)
		lines.resize(screen.rows);
	return lines;
}

} // namespace tcpscope

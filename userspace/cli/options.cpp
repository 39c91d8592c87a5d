// SPDX-License-Identifier: GPL-2.0
// CLI11-based parser. Every flag is documented in Documentation/tcpscope/: watch.rst,
// stats.rst (stats, serve) and top.rst.
#include "cli/options.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <iostream>

#include "event/states.h"

namespace tcpscope {

Result<uint32_t> parse_netns(const std::string &arg)
{
	uint64_t ino = 0;
	auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), ino);
	struct stat st;

	if (!arg.empty() && ec == std::errc() && p == arg.data() + arg.size()) {
		if (ino == 0 || ino > UINT32_MAX)
			return usage_error("parse --netns", "'" + arg + "'",
					   "inode must be 1..4294967295");
		return static_cast<uint32_t>(ino);
	}
	if (stat(arg.c_str(), &st) < 0)
		return Error{"parse --netns", "'" + arg + "'", errno,
			     "expected an inode number or a namespace file"};
	return static_cast<uint32_t>(st.st_ino);
}

namespace {

Result<Command> parse_lab(const LabOptions &lb)
{
	// the experiments' and variants' names are checked by `lab` itself (cmd/lab.cpp)
	const bool many = lb.name == "list" || lb.name == "all";
	if (many && !lb.variant.empty())
		return usage_error("parse", "lab", "--variant needs one experiment");
	if (many && (!lb.svg.empty() || !lb.pcap.empty()))
		return usage_error("parse", "lab", "--svg and --pcap need one experiment");
	if (lb.long_runs && lb.name == "list")
		return usage_error("parse", "lab", "--long applies to experiments");
	return Command{lb};
}

} // namespace

Result<Command> parse_cli(int argc, const char *const *argv)
{
	CLI::App app{"tcpscope: observe TCP connection states live, including TIME_WAIT and "
		     "keepalive, which sock:inet_sock_set_state never shows"};
	app.name("tcpscope");
	app.require_subcommand(1);
	app.set_version_flag("--version", "tcpscope " TCPSCOPE_VERSION); // from debian/changelog

	WatchOptions w;
	bool v4 = false, v6 = false, json = false, csv = false;
	std::string lports, dports, state, netns;
	auto *watch = app.add_subcommand("watch", "stream TCP state transitions as they happen");
	watch->add_flag("-4,--ipv4", v4, "IPv4 only");
	watch->add_flag("-6,--ipv6", v6, "IPv6 only");
	watch->add_option("-L,--localport", lports,
			  "local ports: list and ranges, e.g. 80,8000-8100");
	watch->add_option("-D,--remoteport", dports, "remote ports: list and ranges");
	watch->add_option("--state", state,
			  "only events entering or leaving this state (e.g. TIME_WAIT)");
	watch->add_option("--netns", netns,
			  "only this network namespace: inode or /run/netns/NAME");
	watch->add_option("-p,--pid", w.pid, "only connections owned by this process")
		->check(CLI::Range(1u, 4194304u));
	watch->add_flag("-T,--timestamp", w.wall_time,
			"wall-clock time instead of seconds since start");
	watch->add_flag("--raw", w.raw, "kernel events as emitted, without the lifecycle fold");
	watch->add_flag("--summary", w.summary, "connection summaries only");
	watch->add_option("--duration", w.duration, "stop after SEC seconds")
		->check(CLI::PositiveNumber);
	watch->add_option("--count", w.count, "stop after N events printed")
		->check(CLI::Range(uint64_t(1), UINT64_MAX));
	auto *j = watch->add_flag("--json", json, "one JSON object per line");
	auto *c = watch->add_flag("--csv", csv, "comma-separated values with a header line");
	j->excludes(c);
	watch->add_flag("-v,--verbose", w.verbose, "libbpf's log and the hooks chosen");

	StatsOptions st;
	std::string st_netns;
	bool st_json = false, st_prom = false;
	auto *stats = app.add_subcommand(
		"stats",
		"aggregates counted in the kernel: sockets per state, transitions, time in "
		"state, TIME_WAIT, keepalive, closed connections");
	stats->add_option("-i,--interval", st.interval,
			  "print every SEC seconds until interrupted (default: once, after 1 s)")
		->check(CLI::Range(0.1, 86400.0));
	stats->add_option("-c,--count", st.count, "stop after N snapshots")
		->check(CLI::Range(uint64_t(1), UINT64_MAX));
	auto *sj = stats->add_flag("--json", st_json, "one JSON object per snapshot and line");
	auto *sp = stats->add_flag("--prometheus", st_prom, "Prometheus text exposition");
	sj->excludes(sp);
	stats->add_option("--netns", st_netns,
			  "only this network namespace: inode or /run/netns/NAME");
	stats->add_flag("--per-netns", st.per_netns,
			"with --prometheus: one series per network namespace (netns label)");
	stats->add_flag("-v,--verbose", st.verbose, "libbpf's log and the hooks chosen");

	TopOptions tp;
	std::string tp_netns;
	auto *top = app.add_subcommand(
		"top",
		"live full-screen view: transition rates, sockets per state, TIME_WAIT churn, "
		"keepalive, busiest ports; q quits");
	top->add_option("-i,--interval", tp.interval,
			"seconds between refreshes, 0.1 to 3600 (default 1)");
	top->add_option("--netns", tp_netns,
			"only this network namespace: inode or /run/netns/NAME");
	top->add_option("-n,--ports", tp.ports, "busiest ports shown in each list (default 5)")
		->check(CLI::Range(size_t(1), size_t(100)));
	top->add_option("--count", tp.count, "stop after N refreshes")
		->check(CLI::Range(uint64_t(1), UINT64_MAX));
	top->add_flag("-v,--verbose", tp.verbose, "libbpf's log and the hooks chosen");

	ServeOptions sv;
	std::string listen = "127.0.0.1:9977";
	auto *serve = app.add_subcommand(
		"serve", "Prometheus exporter: /metrics and /healthz over HTTP, aggregates counted "
			 "in the kernel");
	serve->add_option("--listen", listen,
			  "ADDR:PORT to serve on, numeric ([::1]:PORT for IPv6)")
		->capture_default_str();
	serve->add_flag("--per-netns", sv.per_netns,
			"one series per network namespace (netns label; more series)");
	serve->add_flag("-v,--verbose", sv.verbose, "libbpf's log and the hooks chosen");

	LabOptions lb;
	auto *lab = app.add_subcommand(
		"lab", "reproduce the TCP articles' claims live in two throwaway network "
		       "namespaces: packets, both sides' states, counters and a verdict");
	lab->add_option("name", lb.name, "list, all, or an experiment (lab list names them)")
		->required();
	lab->add_option("--variant", lb.variant, "a variant of the experiment; 'list' names them");
	lab->add_flag("--json", lb.json, "one JSON object per run (lab list: per experiment)");
	lab->add_option("--svg", lb.svg, "also draw the run as an SVG picture into FILE");
	lab->add_option("--pcap", lb.pcap, "also write the segments to FILE (pcap)");
	lab->add_flag("--long", lb.long_runs,
		      "the real 60 s timers (lab all: the runs longer than 15 s too)");
	lab->add_flag("-v,--verbose", lb.verbose, "libbpf's log and the hooks chosen");

	try {
		app.parse(argc, argv);
	} catch (const CLI::CallForHelp &) {
		std::cout << app.help(); // the selected subcommand's help, if any
		return Command{Exit{0}};
	} catch (const CLI::CallForVersion &) {
		std::cout << app.version() << "\n";
		return Command{Exit{0}};
	} catch (const CLI::ParseError &e) {
		return usage_error("parse", "command line", e.what());
	}

	// CLI11 wraps negative numbers into unsigned options and lets NaN through its checks
	for (auto *opt :
	     {watch->get_option("--count"), watch->get_option("--pid"),
	      stats->get_option("--count"), top->get_option("--count"), top->get_option("--ports")})
		for (const auto &r : opt->results())
			if (!r.empty() && r[0] == '-')
				return usage_error("parse", "command line",
						   opt->get_name() + ": '" + r + "' is negative");
	if (app.got_subcommand(lab))
		return parse_lab(lb);
	if (app.got_subcommand(serve)) {
		auto addr = parse_listen(listen);
		if (!addr)
			return addr.error();
		sv.listen = *addr;
		return Command{sv};
	}
	if (app.got_subcommand(top)) {
		if (!std::isfinite(tp.interval))
			return usage_error("parse", "command line",
					   "--interval: not a finite number of seconds");
		if (tp.interval < 0.1 || tp.interval > 3600)
			return usage_error("parse", "command line",
					   "--interval: '" +
						   top->get_option("--interval")->results()[0] +
						   "' is not 0.1 to 3600 seconds");
		if (top->count("--netns")) {
			auto n = parse_netns(tp_netns);
			if (!n)
				return n.error();
			tp.netns = *n;
		}
		return Command{tp};
	}
	if (app.got_subcommand(stats)) {
		if (!std::isfinite(st.interval))
			return usage_error("parse", "command line",
					   "--interval: not a finite number of seconds");
		if (stats->count("--interval") && !stats->count("--count"))
			st.count = 0;
		if (stats->count("--netns")) {
			auto n = parse_netns(st_netns);
			if (!n)
				return n.error();
			st.netns = *n;
			if (st_prom)
				return usage_error("parse", "command line",
						   "--netns applies to the table and JSON; use "
						   "--per-netns with --prometheus");
		}
		if (st.per_netns && !st_prom)
			return usage_error("parse", "command line",
					   "--per-netns needs --prometheus");
		st.format = st_json   ? StatsFormat::json
			    : st_prom ? StatsFormat::prometheus
				      : StatsFormat::table;
		return Command{st};
	}
	if (!std::isfinite(w.duration))
		return usage_error("parse", "command line",
				   "--duration: not a finite number of seconds");
	if (v4 && v6)
		return usage_error("parse", "command line", "-4 and -6 exclude each other");
	w.family = v4 ? AF_INET : v6 ? AF_INET6 : 0;
	if (!lports.empty() || watch->count("-L")) {
		auto r = parse_ports(lports);
		if (!r)
			return r.error();
		w.lports = *r;
	}
	if (!dports.empty() || watch->count("-D")) {
		auto r = parse_ports(dports);
		if (!r)
			return r.error();
		w.dports = *r;
	}
	if (watch->count("--state")) {
		auto s = parse_state(state);
		if (!s)
			return usage_error("parse --state", "'" + state + "'",
					   "not a TCP state (ESTABLISHED, SYN_SENT, SYN_RECV, "
					   "FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE, CLOSE_WAIT, "
					   "LAST_ACK, LISTEN, CLOSING)");
		w.state = *s;
	}
	if (watch->count("--netns")) {
		auto n = parse_netns(netns);
		if (!n)
			return n.error();
		w.netns = *n;
	}
	if (w.raw && w.summary)
		return usage_error("parse", "command line",
				   "--raw and --summary exclude each other");
	w.format = json ? OutputFormat::json : csv ? OutputFormat::csv : OutputFormat::text;
	return Command{w};
}

} // namespace tcpscope

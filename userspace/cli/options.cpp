// SPDX-License-Identifier: GPL-2.0
// CLI11-based parser. Every flag is documented in Documentation/tcpscope/: watch.rst,
// stats.rst (stats, serve) and top.rst. CLI11 only splits the command line: every value
// is taken as text and checked here, so each error reads "<flag>: <what> (got '<value>')".
#include "cli/options.h"

#include <sys/socket.h>

#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "event/states.h"

namespace tcpscope {

namespace {

constexpr const char *kSubcommands = "watch, stats, top, serve or lab";

std::string got(std::string_view text)
{
	return " (got '" + std::string(text) + "')";
}

// A flag's text value, given or not.
struct Text {
	std::string value;
	CLI::Option *opt = nullptr;
	bool given() const { return opt && opt->count(); }
};

CLI::Option *add_text(CLI::App *app, const std::string &names, Text &t, const std::string &help)
{
	t.opt = app->add_option(names, t.value, help);
	// what --help shows after the flag: the value the flag takes, never CLI11's "TEXT"
	static const std::pair<const char *, const char *> kinds[] = {
		{"count", "N"},         {"ports", "N"},          {"interval", "SEC"},
		{"duration", "SEC"},    {"netns", "NS"},         {"pid", "PID"},
		{"localport", "PORTS"}, {"remoteport", "PORTS"}, {"state", "STATE"}};
	for (const auto &[name, kind] : kinds)
		if (names.find(std::string("--") + name) != std::string::npos)
			t.opt->type_name(kind);
	return t.opt;
}

// CLI11's own errors, in the same style: what is left after our own checks is an unknown
// flag, a missing value, a flag given twice or an argument no flag takes.
Error cli11_error(const CLI::ParseError &e)
{
	std::string what = e.what();
	size_t colon = what.find(": ");
	if (dynamic_cast<const CLI::ArgumentMismatch *>(&e) && colon != std::string::npos)
		return flag_error(what.substr(0, colon), what.find("missing") != std::string::npos
								 ? "needs a value"
								 : "given more than once");
	if (!what.empty())
		what[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(what[0])));
	return flag_error("", what);
}

Result<Command> parse_lab(const LabOptions &lb)
{
	// the experiments' and variants' names are checked by `lab` itself (cmd/lab.cpp)
	if (lb.name.empty())
		return flag_error("lab", "needs list, all or an experiment (tcpscope lab list)");
	const bool many = lb.name == "list" || lb.name == "all";
	if (many && !lb.variant.empty())
		return flag_error("--variant", "needs one experiment, not '" + lb.name + "'");
	if (many && (!lb.svg.empty() || !lb.pcap.empty()))
		return flag_error(lb.svg.empty() ? "--pcap" : "--svg",
				  "needs one experiment, not '" + lb.name + "'");
	if (lb.long_runs && lb.name == "list")
		return flag_error("--long", "applies to experiments, not to 'lab list'");
	return Command{lb};
}

} // namespace

Result<uint64_t> parse_count(std::string_view flag, std::string_view text, uint64_t lo, uint64_t hi)
{
	uint64_t v = 0;
	auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
	bool digits = !text.empty() && text.find_first_not_of("0123456789") == text.npos;

	if (!digits || ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi)
		return flag_error(std::string(flag), "must be a whole number from " +
							     std::to_string(lo) + " to " +
							     std::to_string(hi) + got(text));
	return v;
}

Result<double> parse_seconds(std::string_view flag, std::string_view text, double lo, double hi)
{
	const std::string s(text);
	char *end = nullptr;
	double v = 0;
	auto range = [&] {
		if (lo == 0)
			return fmt::format("must be > 0 and at most {} seconds", hi);
		return fmt::format("must be {} to {} seconds", lo, hi);
	};

	// strtod rather than from_chars: it takes what people write (1e-1, .5, 0x1p-2)
	if (!s.empty() && s.find_first_of(" \t\n\r\f\v") == std::string::npos) {
		errno = 0;
		v = strtod(s.c_str(), &end);
	}
	if (s.empty() || !end || *end || !std::isfinite(v))
		return flag_error(std::string(flag), "not a number of seconds" + got(text));
	if (lo == 0 && v <= 0)
		return flag_error(std::string(flag), "must be > 0" + got(text));
	if ((lo > 0 && v < lo) || v > hi)
		return flag_error(std::string(flag), range() + got(text));
	return v;
}

Result<Command> parse_cli(int argc, const char *const *argv, std::vector<std::string> *warnings)
{
	CLI::App app{"tcpscope: observe TCP connection states live, including TIME_WAIT and "
		     "keepalive, which sock:inet_sock_set_state never shows"};
	app.name("tcpscope");
	app.require_subcommand(0, 1);
	app.allow_extras();
	app.set_version_flag("--version", "tcpscope " TCPSCOPE_VERSION); // from debian/changelog

	WatchOptions w;
	bool v4 = false, v6 = false, json = false, csv = false;
	Text lports, dports, state, netns, pid, duration, count;
	auto *watch = app.add_subcommand("watch", "stream TCP state transitions as they happen");
	watch->add_flag("-4,--ipv4", v4, "IPv4 only");
	watch->add_flag("-6,--ipv6", v6, "IPv6 only");
	add_text(watch, "-L,--localport", lports,
		 "local ports: list and ranges, e.g. 80,8000-8100");
	add_text(watch, "-D,--remoteport", dports, "remote ports: list and ranges");
	add_text(watch, "--state", state,
		 "only events entering or leaving this state (e.g. TIME_WAIT)");
	add_text(watch, "--netns", netns,
		 "only this network namespace: inode, namespace file or 'ip netns' name");
	add_text(watch, "-p,--pid", pid, "only connections owned by this process");
	watch->add_flag("-T,--timestamp", w.wall_time,
			"wall-clock time instead of seconds since start");
	watch->add_flag("--raw", w.raw, "kernel events as emitted, without the lifecycle fold");
	watch->add_flag("--summary", w.summary, "connection summaries only");
	watch->add_flag("--snapshot", w.snapshot,
			"first list the sockets that exist, one snapshot event each");
	add_text(watch, "--duration", duration, "stop after SEC seconds");
	add_text(watch, "-c,--count", count, "stop after N events written");
	watch->add_flag("--json", json, "one JSON object per line");
	watch->add_flag("--csv", csv, "comma-separated values with a header line");
	watch->add_flag("-v,--verbose", w.verbose, "libbpf's log and the hooks chosen");

	StatsOptions st;
	Text st_netns, st_interval, st_count;
	bool st_json = false, st_prom = false;
	auto *stats = app.add_subcommand(
		"stats",
		"aggregates counted in the kernel: sockets per state, transitions, time in "
		"state, TIME_WAIT, keepalive, closed connections");
	add_text(stats, "-i,--interval", st_interval,
		 "print every SEC seconds until interrupted (default: once, after 1 s)");
	add_text(stats, "-c,--count", st_count, "stop after N snapshots");
	stats->add_flag("--json", st_json, "one JSON object per snapshot and line");
	stats->add_flag("--prometheus", st_prom, "Prometheus text exposition");
	add_text(stats, "--netns", st_netns,
		 "only this network namespace: inode, namespace file or 'ip netns' name");
	stats->add_flag("--per-netns", st.per_netns,
			"with --prometheus: one series per network namespace (netns label)");
	stats->add_flag("-v,--verbose", st.verbose, "libbpf's log and the hooks chosen");

	TopOptions tp;
	Text tp_netns, tp_interval, tp_ports, tp_count;
	auto *top = app.add_subcommand(
		"top",
		"live full-screen view: transition rates, sockets per state, TIME_WAIT churn, "
		"keepalive, busiest ports; q quits");
	add_text(top, "-i,--interval", tp_interval,
		 "seconds between refreshes, 0.1 to 3600 (default 1)");
	add_text(top, "--netns", tp_netns,
		 "only this network namespace: inode, namespace file or 'ip netns' name");
	add_text(top, "-n,--ports", tp_ports, "busiest ports shown in each list (default 5)");
	add_text(top, "-c,--count", tp_count, "stop after N refreshes");
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
	lab->add_option("name", lb.name, "list, all, or an experiment (lab list names them)");
	lab->add_option("--variant", lb.variant, "a variant of the experiment; 'list' names them");
	lab->add_flag("--json", lb.json, "one JSON object per run (lab list: per experiment)");
	lab->add_option("--svg", lb.svg, "also draw the run as an SVG picture into FILE");
	lab->add_option("--pcap", lb.pcap, "also write the segments to FILE (pcap)");
	lab->add_flag("--long", lb.long_runs,
		      "the real 60 s timers (lab all: the runs longer than 15 s too)");
	lab->add_flag("-v,--verbose", lb.verbose, "libbpf's log and the hooks chosen");
	for (auto *sub : {watch, stats, top, serve, lab})
		sub->allow_extras();

	try {
		app.parse(argc, argv);
	} catch (const CLI::CallForHelp &) {
		std::cout << app.help(); // the selected subcommand's help, if any
		return Command{Exit{0}};
	} catch (const CLI::CallForVersion &) {
		std::cout << app.version() << "\n";
		return Command{Exit{0}};
	} catch (const CLI::ParseError &e) {
		return cli11_error(e);
	}

	// what no flag took: an unknown flag, a word that is no subcommand, a stray argument
	for (auto *sub : {&app, watch, stats, top, serve, lab}) {
		for (const auto &extra : sub->remaining()) {
			std::string where = sub == &app ? "" : sub->get_name() + ": ";
			if (sub == &app && !extra.empty() && extra[0] != '-')
				return flag_error("", "'" + extra + "' is not a subcommand (" +
							      kSubcommands + ")");
			if (!extra.empty() && extra[0] == '-')
				return flag_error(extra, where.empty() ? "unknown option"
								       : "unknown option of " +
										 sub->get_name());
			return flag_error("", where + "unexpected argument '" + extra + "'");
		}
	}
	if (app.get_subcommands().empty())
		return flag_error("",
				  std::string("a subcommand is required (") + kSubcommands + ")");

	auto netns_of = [&](const Text &t) -> Result<uint32_t> {
		auto n = parse_netns(t.value);
		if (n && warnings && !netns_known(*n))
			warnings->push_back("--netns " + t.value +
					    ": no process or /run/netns file holds this network "
					    "namespace now; nothing matches until one does");
		return n;
	};

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
		if (tp_interval.given()) {
			auto v = parse_seconds("--interval", tp_interval.value, 0.1, 3600);
			if (!v)
				return v.error();
			tp.interval = *v;
		}
		if (tp_ports.given()) {
			auto v = parse_count("--ports", tp_ports.value, 1, 100);
			if (!v)
				return v.error();
			tp.ports = *v;
		}
		if (tp_count.given()) {
			auto v = parse_count("--count", tp_count.value, 1, UINT64_MAX);
			if (!v)
				return v.error();
			tp.count = *v;
		}
		if (tp_netns.given()) {
			auto n = netns_of(tp_netns);
			if (!n)
				return n.error();
			tp.netns = *n;
		}
		return Command{tp};
	}
	if (app.got_subcommand(stats)) {
		if (st_json && st_prom)
			return flag_error("", "--json and --prometheus exclude each other");
		if (st_interval.given()) {
			auto v = parse_seconds("--interval", st_interval.value, 0.1, 86400);
			if (!v)
				return v.error();
			st.interval = *v;
			st.count = 0;
		}
		if (st_count.given()) {
			auto v = parse_count("--count", st_count.value, 1, UINT64_MAX);
			if (!v)
				return v.error();
			st.count = *v;
		}
		if (st_netns.given()) {
			if (st_prom)
				return flag_error("", "--netns applies to the table and JSON; use "
						      "--per-netns with --prometheus");
			auto n = netns_of(st_netns);
			if (!n)
				return n.error();
			st.netns = *n;
		}
		if (st.per_netns && !st_prom)
			return flag_error("", "--per-netns needs --prometheus");
		st.format = st_json   ? StatsFormat::json
			    : st_prom ? StatsFormat::prometheus
				      : StatsFormat::table;
		return Command{st};
	}
	if (v4 && v6)
		return flag_error("", "-4 and -6 exclude each other");
	if (json && csv)
		return flag_error("", "--json and --csv exclude each other");
	if (w.raw && w.summary)
		return flag_error("", "--raw and --summary exclude each other");
	w.family = v4 ? AF_INET : v6 ? AF_INET6 : 0;
	for (auto [t, flag, set] :
	     {std::tuple{&lports, "-L", &w.lports}, std::tuple{&dports, "-D", &w.dports}}) {
		if (!t->given())
			continue;
		auto r = parse_ports(t->value);
		if (!r)
			return flag_error(flag, r.error().detail + got(t->value));
		*set = *r;
	}
	if (state.given()) {
		auto s = parse_state(state.value);
		if (!s)
			return flag_error("--state",
					  "not a TCP state (ESTABLISHED, SYN_SENT, SYN_RECV, "
					  "FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE, CLOSE_WAIT, "
					  "LAST_ACK, LISTEN, CLOSING)" +
						  got(state.value));
		w.state = *s;
	}
	if (pid.given()) {
		auto v = parse_count("--pid", pid.value, 1, 4194304);
		if (!v)
			return v.error();
		w.pid = static_cast<uint32_t>(*v);
	}
	if (duration.given()) {
		auto v = parse_seconds("--duration", duration.value, 0, 1e9);
		if (!v)
			return v.error();
		w.duration = *v;
	}
	if (count.given()) {
		auto v = parse_count("--count", count.value, 1, UINT64_MAX);
		if (!v)
			return v.error();
		w.count = *v;
	}
	if (netns.given()) {
		auto n = netns_of(netns);
		if (!n)
			return n.error();
		w.netns = *n;
	}
	w.format = json ? OutputFormat::json : csv ? OutputFormat::csv : OutputFormat::text;
	return Command{w};
}

} // namespace tcpscope

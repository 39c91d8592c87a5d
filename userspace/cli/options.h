// SPDX-License-Identifier: GPL-2.0
// Command-line interface: subcommands and their options, validated before anything runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/error.h"
#include "output/event_format.h"
#include "net/listen_addr.h"
#include "cli/netns.h"
#include "cli/port_list.h"

namespace tcpscope {

struct WatchOptions {
	unsigned family = 0; // 0, AF_INET or AF_INET6
	std::optional<PortSet> lports;
	std::optional<PortSet> dports;
	std::optional<unsigned> state; // events entering or leaving it
	uint32_t netns = 0;            // inode, 0: all
	uint32_t pid = 0;              // 0: all
	bool wall_time = false;
	bool raw = false;
	bool summary = false;
	bool snapshot = false; // first a record of each socket that exists
	bool verbose = false;
	double duration = 0; // seconds, 0: until interrupted
	uint64_t count = 0;  // events printed, 0: unlimited
	OutputFormat format = OutputFormat::text;
};

enum class StatsFormat { table, json, prometheus };

struct StatsOptions {
	double interval = 1; // seconds between snapshots (the first one too)
	uint64_t count = 1;  // snapshots, 0: until interrupted (--interval alone)
	StatsFormat format = StatsFormat::table;
	std::optional<uint32_t> netns; // only this namespace (table, JSON)
	bool per_netns = false;        // Prometheus: a netns label on every series
	bool verbose = false;
};

struct TopOptions {
	double interval = 1;           // seconds between refreshes
	uint64_t count = 0;            // refreshes, 0: until q or a signal
	size_t ports = 5;              // rows in each busiest-ports list
	std::optional<uint32_t> netns; // only this namespace
	bool verbose = false;
};

struct ServeOptions {
	ListenAddr listen;      // default 127.0.0.1:9977
	bool per_netns = false; // a netns label on every series
	bool verbose = false;
};

// `tcpscope lab`: Documentation/tcpscope/lab.rst.
struct LabOptions {
	std::string name;    // "list", "all" or an experiment
	std::string variant; // empty: the default; "list": name them
	bool json = false;
	std::string svg;        // file, empty: none
	std::string pcap;       // file, empty: none
	bool long_runs = false; // --long: experiments longer than 15 s too
	bool verbose = false;
};

// Help or version text already printed: exit with this code.
struct Exit {
	int code;
};

using Command =
	std::variant<WatchOptions, StatsOptions, ServeOptions, TopOptions, LabOptions, Exit>;

// Parses argv. Usage errors come back as Error (exit code 2 for the caller), each reading
// "<flag>: <what is wrong> (got '<value>')"; --help prints and returns Exit{0}. Warnings
// that do not stop the command (a --netns inode nothing holds) go to *warnings.
Result<Command> parse_cli(int argc, const char *const *argv,
			  std::vector<std::string> *warnings = nullptr);

// A flag's whole-number value in lo..hi: decimal digits only, no sign, no overflow.
Result<uint64_t> parse_count(std::string_view flag, std::string_view text, uint64_t lo,
			     uint64_t hi);
// A flag's number of seconds, finite, in (0, hi] (lo == 0) or [lo, hi].
Result<double> parse_seconds(std::string_view flag, std::string_view text, double lo, double hi);

} // namespace tcpscope

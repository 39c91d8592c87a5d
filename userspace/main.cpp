// SPDX-License-Identifier: GPL-2.0
// tcpscope: entry point. Exit codes: 0 ok, 1 runtime failure, 2 usage.
#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "cli/options.h"
#include "cmd/lab.h"
#include "cmd/serve.h"
#include "cmd/stats.h"
#include "cmd/top.h"
#include "cmd/watch.h"

int main(int argc, char **argv)
{
	std::vector<std::string> warnings;
	auto cmd = tcpscope::parse_cli(argc, argv, &warnings);

	if (!cmd) {
		fprintf(stderr, "tcpscope: %s\nRun 'tcpscope --help' for usage.\n",
			cmd.error().message().c_str());
		return 2;
	}
	for (const auto &w : warnings)
		fprintf(stderr, "tcpscope: warning: %s\n", w.c_str());
	if (auto *exit = std::get_if<tcpscope::Exit>(&*cmd))
		return exit->code;
	if (auto *lab = std::get_if<tcpscope::LabOptions>(&*cmd))
		return tcpscope::run_lab(*lab);
	if (auto *serve = std::get_if<tcpscope::ServeOptions>(&*cmd))
		return tcpscope::run_serve(*serve);
	if (auto *stats = std::get_if<tcpscope::StatsOptions>(&*cmd))
		return tcpscope::run_stats(*stats);
	if (auto *top = std::get_if<tcpscope::TopOptions>(&*cmd))
		return tcpscope::run_top(*top);
	return tcpscope::run_watch(std::get<tcpscope::WatchOptions>(*cmd));
}

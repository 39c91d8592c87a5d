// SPDX-License-Identifier: GPL-2.0
// `tcpscope top`: a live full-screen view of the in-kernel aggregates, redrawn every interval.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "kernel/aggregates.h"
#include "cli/options.h"

namespace tcpscope {

// Where a frame goes: its size in character cells and whether keys are read (the title
// then says how to quit).
struct TopScreen {
	size_t cols = 80;
	size_t rows = 24;
	bool keys = true;
};

// One frame: at most screen.rows lines of at most screen.cols characters, no trailing
// blanks, no escape sequences. Rates are over now.uptime - prev->uptime; without prev
// (the first frame) they are "-". Lists are cut to fit: transitions first, then ports.
std::vector<std::string> render_top(const Snapshot &now, const Snapshot *prev,
				    const TopOptions &opts, const TopScreen &screen);

// Runs until q, SIGINT, SIGTERM, --count or the terminal goes away. Returns the exit code.
int run_top(const TopOptions &opts);

} // namespace tcpscope
